// roomchat as an installable app: registers the service worker (rooms/installable.py), which keeps
// the app shell for offline use and shows the offline page when a page cannot be reached.
// Served from the site's root, so its scope covers every page.
const SERVICE_WORKER_URL = "/service-worker.js";

function registerServiceWorker() {
  navigator.serviceWorker.register(SERVICE_WORKER_URL, { scope: "/" }).catch((error) => {
    console.warn("roomchat: the service worker did not register:", error);
  });
}

// After the page has loaded: filling the worker's cache must not slow the page's own loading.
if ("serviceWorker" in navigator) {
  if (document.readyState === "complete") {
    registerServiceWorker();
  } else {
    window.addEventListener("load", registerServiceWorker, { once: true });
  }
}

// The offline page stands in for the address that could not be reached: once the network is back,
// loading that address again shows the real page.
if (document.querySelector("[data-offline-page]")) {
  window.addEventListener("online", () => window.location.reload());
}
