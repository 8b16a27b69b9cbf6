/* DAP's service worker: patchy access (see docs/OFFLINE.md).

   - Pages are fetched from the network first. A page DAP marks with the header
     "DAP-Offline: keep" (a participant's own plan, goals, library goals, the web-time log)
     is copied into the pages cache; without a connection the copy is shown, or the
     /offline page when there is none.
   - Static files (CSS, scripts, icons) come from the cache and are refreshed behind the
     scenes (stale-while-revalidate).
   - Nothing else is ever stored: no POST, no /sync/, /api/ or heartbeat answer, and no
     page without the header (so never someone else's plan).
   - offline.js sends {type: "keep", urls} with the pages to keep after each sync, and
     {type: "forget"} when a person signs out or another person signs in.

   Change VERSION whenever this file's lists or rules change: the new worker then starts
   with fresh caches and deletes the old ones. Served from /sw.js so its scope is "/". */
"use strict";

var VERSION = "v1";
var STATIC_CACHE = "dap-static-" + VERSION;
var PAGES_CACHE = "dap-pages-" + VERSION;
var OFFLINE_URL = "/offline";
var KEEP_HEADER = "DAP-Offline";
/* a kept page older than this is fetched again when offline.js asks to keep it */
var REFRESH_AFTER = 10 * 60 * 1000;
var KEPT_AT_HEADER = "DAP-Kept-At";

var PRECACHE = [
  "/static/css/app.css",
  "/static/js/offline.js",
  "/static/js/heartbeat.js",
  "/static/favicon.svg",
  "/static/icons/icon-192.png",
  "/static/icons/icon-512.png",
  "/static/icons/icon-maskable-512.png"
];

/* never stored, whatever the answer says */
var NEVER = [/^\/sync\//, /^\/api\//, /^\/time\/heartbeat$/, /^\/sw\.js$/, /^\/login/, /^\/logout/];

function never(url) {
  return NEVER.some(function (pattern) { return pattern.test(url.pathname); });
}

function keepable(url, response) {
  return response && response.status === 200 && response.type === "basic" &&
    !response.redirected && response.headers.get(KEEP_HEADER) === "keep" && !never(url);
}

/* A copy of the page with the time it was kept, so keep() knows when to refresh it. */
function stamped(response) {
  var headers = new Headers(response.headers);
  headers.set(KEPT_AT_HEADER, String(Date.now()));
  /* they describe the answer as it came over the wire; the copy is the decoded page */
  headers.delete("Content-Encoding");
  headers.delete("Content-Length");
  return response.blob().then(function (body) {
    return new Response(body, { status: response.status, statusText: response.statusText, headers: headers });
  });
}

function store(url, response) {
  return Promise.all([caches.open(PAGES_CACHE), stamped(response)]).then(function (both) {
    return both[0].put(url, both[1]);
  });
}

/* Messages are handled one after the other (a "forget" finishes before a "keep" starts). */
var work = Promise.resolve();
function serially(job) {
  work = work.then(job, job).catch(function () { /* the next message starts afresh */ });
  return work;
}

/* The offline page and the static files: the same for everyone (the offline page names
   nobody, and is fetched without cookies all the same). */
function precache() {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return Promise.all([
      cache.addAll(PRECACHE),
      fetch(new Request(OFFLINE_URL, { credentials: "omit" })).then(function (response) {
        if (!response.ok) { throw new Error("offline page: " + response.status); }
        return cache.put(OFFLINE_URL, response);
      })
    ]);
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(precache().then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("dap-") === 0 && name !== STATIC_CACHE && name !== PAGES_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

/* Pages: the network first; the kept copy (or the offline page) when it cannot be reached. */
function navigate(event, url) {
  return fetch(event.request).then(function (response) {
    if (keepable(url, response)) {
      event.waitUntil(store(url.href, response.clone()));
    } else if (response.status === 404 || response.status === 403 || response.status === 410) {
      /* gone, or no longer this person's: do not show it offline either */
      event.waitUntil(caches.open(PAGES_CACHE).then(function (cache) { return cache.delete(url.href); }));
    }
    return response;
  }, function () {
    return caches.open(PAGES_CACHE).then(function (cache) {
      return cache.match(url.href).then(function (found) {
        return found || cache.match(url.href, { ignoreSearch: true });
      });
    }).then(function (found) {
      return found || caches.match(OFFLINE_URL, { cacheName: STATIC_CACHE });
    }).then(function (found) {
      return found || Response.error();
    });
  });
}

/* Static files: the cached copy at once, refreshed from the network for next time. */
function staleWhileRevalidate(event) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(event.request).then(function (cached) {
      var fresh = fetch(event.request).then(function (response) {
        if (response.status === 200 && response.type === "basic") {
          return cache.put(event.request, response.clone()).then(function () { return response; });
        }
        return response;
      });
      if (cached) {
        event.waitUntil(fresh.catch(function () { /* offline: the copy will do */ }));
        return cached;
      }
      return fresh;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin || never(url)) { return; }
  if (request.mode === "navigate") {
    event.respondWith(navigate(event, url));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(staleWhileRevalidate(event));
  }
  /* anything else goes to the network as if there were no worker */
});

/* Keep exactly these pages: fetch the ones missing or older than REFRESH_AFTER (all of
   them with refresh), keep those DAP marks for keeping, drop every other kept page. */
function keep(urls, refresh) {
  var wanted = {};
  urls.forEach(function (path) {
    var url = new URL(path, self.location.origin);
    if (url.origin === self.location.origin && !never(url)) { wanted[url.href] = url; }
  });
  return caches.open(PAGES_CACHE).then(function (cache) {
    return cache.keys().then(function (requests) {
      var drops = requests.filter(function (request) { return !wanted[request.url]; })
        .map(function (request) { return cache.delete(request); });
      var fetches = Object.keys(wanted).map(function (href) {
        return cache.match(href).then(function (found) {
          var keptAt = found ? Number(found.headers.get(KEPT_AT_HEADER)) || 0 : 0;
          if (found && !refresh && Date.now() - keptAt < REFRESH_AFTER) { return null; }
          return fetch(href, {
            credentials: "same-origin",
            cache: "no-store",
            /* tells DAP this fetch is for the offline copy, not a person reading */
            headers: { "DAP-Offline": "fetch" }
          }).then(function (response) {
            if (keepable(wanted[href], response)) { return store(href, response); }
            if (response.status === 404 || response.status === 403 || response.status === 410) {
              return cache.delete(href);
            }
            return null;
          }).catch(function () { /* offline again: keep what there is */ });
        });
      });
      return Promise.all(drops.concat(fetches));
    });
  });
}

/* Forget every kept page (another person signed in), or everything (signing out): then
   only the offline page and the static files come back, for whoever signs in next. */
function forget(pagesOnly) {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return !pagesOnly || name.indexOf("dap-pages-") === 0;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () {
    return pagesOnly ? null : precache().catch(function () { /* offline: next install */ });
  });
}

self.addEventListener("message", function (event) {
  var data = event.data || {};
  var job;
  if (data.type === "keep" && Array.isArray(data.urls)) {
    job = serially(function () { return keep(data.urls, !!data.refresh); });
  } else if (data.type === "forget") {
    job = serially(function () { return forget(data.what === "pages"); });
  } else {
    return;
  }
  /* answer on the port when one came with the message: the page knows the work is done */
  event.waitUntil(job.then(function () {
    if (event.ports && event.ports[0]) { event.ports[0].postMessage({ type: data.type, done: true }); }
  }));
});
