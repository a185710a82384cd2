// Mentions: "@name" of the reader is highlighted in messages; while the tab is hidden a mention
// also notifies (desktop notification) and beeps, each as the reader chose in two checkboxes.

import { el } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

const MENTION_SETTINGS = { notify: "roomchat.mentionNotify", sound: "roomchat.mentionSound" };

export function mentionPattern(name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // The name must end there: "@Al" does not mention "Alice", "@Alice," does.
  return new RegExp(`@${escaped}(?![\\p{L}\\p{N}_])`, "giu");
}

// Whether `text` mentions `name`; nobody mentions a watcher, who has no name.
export function mentions(text, name) {
  if (!name) return false;
  return mentionPattern(name).test(text || "");
}

function setting(key) {
  return localStorage.getItem(MENTION_SETTINGS[key]) !== "off";
}

function beep() {
  const AudioContextClass = window.AudioContext || window.webkitAudioContext;
  if (!AudioContextClass) return;
  const audio = new AudioContextClass();
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.15, audio.currentTime);
  volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.25);
  tone.connect(volume).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.25);
  tone.addEventListener("ended", () => audio.close());
}

// Two checkboxes after the composer; the browser is asked for notification permission only when
// the person ticks "Notify" (a user gesture), never on page load.
function settingsControls() {
  const box = el("div", "mention-settings");
  for (const [key, label] of [
    ["notify", gettext("Notify me of @mentions")],
    ["sound", gettext("Sound")],
  ]) {
    const wrapper = el("label", `mention-${key}`);
    const check = el("input");
    check.type = "checkbox";
    check.name = `mention-${key}`;
    check.checked = setting(key);
    check.addEventListener("change", () => {
      localStorage.setItem(MENTION_SETTINGS[key], check.checked ? "on" : "off");
      if (key === "notify" && check.checked && "Notification" in window && Notification.permission === "default") {
        Notification.requestPermission();
      }
    });
    wrapper.append(check, document.createTextNode(` ${label}`));
    box.append(wrapper);
  }
  return box;
}

export function createMentions({ config, watching }) {
  if (!watching) document.getElementById("composer").after(settingsControls());

  return {
    // Wrap "@me" in <mark class="mention"> in a message body's plain text (not in code or links).
    highlight(body) {
      if (!config.name) return;
      const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
      const nodes = [];
      while (walker.nextNode()) {
        if (!walker.currentNode.parentElement.closest("code, pre, a")) nodes.push(walker.currentNode);
      }
      let found = false;
      for (const node of nodes) {
        const text = node.textContent;
        const parts = [];
        let start = 0;
        for (const match of text.matchAll(mentionPattern(config.name))) {
          parts.push(document.createTextNode(text.slice(start, match.index)), el("mark", "mention", match[0]));
          start = match.index + match[0].length;
        }
        if (!parts.length) continue;
        found = true;
        parts.push(document.createTextNode(text.slice(start)));
        node.replaceWith(...parts);
      }
      body.closest("li")?.classList.toggle("mentions-me", found);
    },
    // A new message from someone else: notify if it mentions the reader and they are not looking
    // (the highlight is enough while they are).
    notify(message) {
      if (!mentions(message.body, config.name) || !document.hidden) return;
      if (setting("notify") && "Notification" in window && Notification.permission === "granted") {
        const note = new Notification(interpolate(gettext("%(name)s mentioned you"), { name: message.name }), {
          body: message.body.slice(0, 200),
          tag: `roomchat-${message.id}`,
        });
        note.addEventListener("click", () => window.focus());
      }
      if (setting("sound")) beep();
    },
  };
}
