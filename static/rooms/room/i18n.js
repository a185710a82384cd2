// The page's words in its language, and its dates, times and durations in its locale.
// Texts: Django's JavaScript catalog of the page's language (chatsite/js_catalog.py), a classic
// script run before the modules, sets globalThis.django; without it (English has no catalog to
// load, a module run alone in a test) every text is its English original. Every text a person sees
// goes through gettext or ngettext (tests/test_js_i18n.py fails on one that does not), with named
// placeholders, %(name)s, so a translation may put the words in its own order.
// Dates and times: Intl in the page's language (<html lang>), in the reader's own regional variant
// of it when the browser names one (de-AT for a German page read in Austria).

const catalog = () => globalThis.django;

export function gettext(text) {
  return catalog()?.gettext ? catalog().gettext(text) : text;
}

// The form for `count` of a text with a singular and a plural (or more forms, by the language's rule).
export function ngettext(singular, plural, count) {
  if (catalog()?.ngettext) return catalog().ngettext(singular, plural, count);
  return count === 1 ? singular : plural;
}

const PLACEHOLDER = /%\((\w+)\)s/g;

// "%(name)s left" with {name: "Ann"}: "Ann left".
export function interpolate(template, values) {
  return template.replace(PLACEHOLDER, (_match, key) => String(values[key]));
}

// As interpolate, but a value may be a DOM node (a name in its own <bdi>): the parts to append,
// strings and nodes in the translation's order.
export function interpolateParts(template, values) {
  const parts = [];
  let start = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    if (match.index > start) parts.push(template.slice(start, match.index));
    const value = values[match[1]];
    parts.push(value instanceof Node ? value : String(value));
    start = match.index + match[0].length;
  }
  if (start < template.length) parts.push(template.slice(start));
  return parts;
}

// The locale dates and numbers are written in: the page's language, or the browser's preferred
// regional variant of that language.
export function pageLocale() {
  const language = globalThis.document?.documentElement.lang || "en";
  const base = language.split("-")[0].toLowerCase();
  const regional = (globalThis.navigator?.languages ?? []).find((tag) => tag.split("-")[0].toLowerCase() === base);
  try {
    return Intl.getCanonicalLocales(regional || language)[0];
  } catch {
    return "en";
  }
}

const formatters = new Map();

// One formatter per kind, locale and options, made once (they are costly to make, cheap to use).
function formatter(Kind, options) {
  const locale = pageLocale();
  const key = `${Kind.name}|${locale}|${JSON.stringify(options)}`;
  if (!formatters.has(key)) formatters.set(key, new Kind(locale, options));
  return formatters.get(key);
}

// "14:05" (de), "2:05 PM" (en-US): a message's time.
export function formatTime(date) {
  return formatter(Intl.DateTimeFormat, { hour: "2-digit", minute: "2-digit" }).format(date);
}

// "30.11.2026, 14:05": a moment on another day (an expiry, a ban's end).
export function formatDateTime(date) {
  return formatter(Intl.DateTimeFormat, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

// "30. November 2026 um 14:05:09": the full moment, for a hover title.
export function formatFullDateTime(date) {
  return formatter(Intl.DateTimeFormat, { dateStyle: "long", timeStyle: "medium" }).format(date);
}

// "Montag, 30. November", with the year when `withYear`: a day separator.
export function formatDay(date, withYear) {
  const options = { weekday: "long", day: "numeric", month: "long" };
  if (withYear) options.year = "numeric";
  return formatter(Intl.DateTimeFormat, options).format(date);
}

// "in 3 Stunden", "dentro de 1 día": `value` units (hour, day, …) from now.
export function formatRelative(value, unit) {
  return formatter(Intl.RelativeTimeFormat, { numeric: "always" }).format(value, unit);
}

// "2 Tg., 3 Std.": a duration from its parts ({day: 2, hour: 3}); parts of zero are left out,
// unless all are (then the last unit, "0 min").
export function formatDuration(parts) {
  const units = Object.entries(parts);
  const shown = units.filter(([, value]) => value > 0);
  const list = (shown.length ? shown : units.slice(-1)).map(([unit, value]) =>
    formatter(Intl.NumberFormat, { style: "unit", unit, unitDisplay: "short" }).format(value),
  );
  return formatter(Intl.ListFormat, { style: "narrow", type: "unit" }).format(list);
}
