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

// The offline page stands in for the address that could not be reached: once the server answers
// again, loading that address shows the real page. The browser's "online" event alone is not
// proof: it can fire while requests still fail (a new page's network state settling, a network
// without a route to the server), and a reload then would only show this page again, possibly at
// another address. Nor does it fire when the server itself comes back: hence the periodic check.
const HEALTH_URL = "/healthz";
const RECHECK_MS = 5000;

let checking = false;
async function reloadWhenReachable() {
  if (checking) return;
  checking = true;
  try {
    const response = await fetch(HEALTH_URL, { cache: "no-store", credentials: "omit" });
    if (response.ok) {
      window.location.reload();
    }
  } catch {
    // Still unreachable: the next "online" event or check tries again.
  } finally {
    checking = false;
  }
}

if (document.querySelector("[data-offline-page]")) {
  window.addEventListener("online", reloadWhenReachable);
  setInterval(reloadWhenReachable, RECHECK_MS);
}
