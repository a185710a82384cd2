// roomchat's service worker, rendered by rooms/installable.py. It keeps the app shell (the static
// files and the offline page) for offline use and nothing else: room pages, the websocket, uploads,
// transcripts and any API always go to the network and never enter the cache.
const SHELL = {{ shell|safe }};
const CACHE_PREFIX = "roomchat-shell-";
const CACHE_NAME = CACHE_PREFIX + SHELL.version;
const STATIC_URLS = new Set(
  SHELL.files
    .filter((path) => path.startsWith(SHELL.static_prefix))
    .map((path) => new URL(path, self.location.origin).href),
);

self.addEventListener("install", (event) => {
  // Revalidated (unchanged files cost a 304) and without cookies: nothing in the cache can hold one
  // person's answer.
  const requests = SHELL.files.map((path) => new Request(path, { cache: "no-cache", credentials: "omit" }));
  event.waitUntil(
    caches
      .open(CACHE_NAME)
      .then((cache) => cache.addAll(requests))
      .then(() => self.skipWaiting()),
  );
});

// Caches of earlier deploys go once this worker takes over.
function isOldShell(name) {
  return name.startsWith(CACHE_PREFIX) && name !== CACHE_NAME;
}

self.addEventListener("activate", (event) => {
  const removeOld = caches
    .keys()
    .then((names) => Promise.all(names.filter(isOldShell).map((name) => caches.delete(name))));
  const preload = self.registration.navigationPreload ? self.registration.navigationPreload.enable() : null;
  event.waitUntil(Promise.all([removeOld, preload]).then(() => self.clients.claim()));
});

function offlinePage() {
  return caches
    .open(CACHE_NAME)
    .then((cache) => cache.match(SHELL.offline))
    .then((cached) => cached || Response.error());
}

// A page always comes from the network (the navigation preload's request when there is one); only
// when the network fails does the cached offline page stand in for it.
async function navigate(event) {
  try {
    const preloaded = await event.preloadResponse;
    return preloaded || (await fetch(event.request));
  } catch {
    return offlinePage();
  }
}

// The shell's static files: from the cache (their URLs are hashed in production, so a cached file
// is the right one), from the network when missing.
function staticFile(request) {
  return caches
    .open(CACHE_NAME)
    .then((cache) => cache.match(request))
    .then((cached) => cached || fetch(request));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(navigate(event));
  } else if (STATIC_URLS.has(url.href)) {
    event.respondWith(staticFile(request));
  }
  // Anything else is left to the browser: no respondWith, no cache.
});
