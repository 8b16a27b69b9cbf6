/* Patchy access, the page's side (see docs/OFFLINE.md; the service worker is sw.js).

   - Registers the service worker, which keeps the participant's plan, goals and the
     web-time log for reading offline.
   - Forms marked data-offline="check-in" or "web-activity" are queued on this device
     (IndexedDB) when there is no connection, each with its own idempotency key, and sent
     when the connection returns: on page load, on the "online" event and every minute
     while something waits. DAP saves an entry once, however often it is sent.
   - The status region (#sync-status, in base.html) says what waits to be sent, when this
     device last synced, and which entries DAP could not take (a goal finished or deleted
     meanwhile) with DAP's explanation and their content; only the person dismisses those.
   - Signing out: the login page shown afterwards (body[data-signed-out]) deletes what
     this device kept. The sign-out page warns about entries not sent yet.
   Without JavaScript, or with an older browser, the forms simply post as they always did. */
(function () {
  "use strict";
  var script = document.currentScript;
  var body = document.body;
  if (!script || !body || !window.fetch || !window.Promise) { return; }

  var DB_NAME = "dap-offline";
  var URLS = {
    ping: "/manifest.webmanifest",  /* small, and never answered by the service worker */
    state: "/sync/state",
    "check-in": "/sync/check-ins",
    "web-activity": "/sync/web-activities"
  };
  var RETRY_EVERY = 60 * 1000;
  var CHECK_TIMEOUT = 4000;
  /* DAP answered: this entry cannot be saved as it is. The person decides what to do. */
  var CONFLICTS = {
    goal_not_found: true, goal_closed: true, cohort_archived: true,
    not_a_participant: true, validation_failed: true
  };
  var KIND_LABELS = { "check-in": "Check-in", "web-activity": "Web time" };
  /* what the person typed, in the order shown when an entry needs attention */
  var CONTENT_LABELS = [
    ["title", "What it was"], ["url", "Link"], ["kind", "What you did"], ["progress", "Progress (%)"],
    ["minutes", "Minutes"], ["day", "Day"], ["note", "Note"]
  ];

  var signedInUser = body.getAttribute("data-user");  /* the person this page was made for */
  var offlinePage = document.getElementById("offline-pages");
  var user = signedInUser;  /* whose entries this page shows (on /offline: the last person) */
  var waitingCount = 0;
  var flushing = null;
  var last = { sent: 0, signedOut: false, capped: false, said: "" };

  function noop() { /* nothing to do */ }

  /* --- IndexedDB: "queue" (entries by key) and "meta" (small named values) -------------- */

  var opening = null;
  function database() {
    if (!window.indexedDB) { return Promise.reject(new Error("no IndexedDB")); }
    if (!opening) {
      opening = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("queue", { keyPath: "key" });
          request.result.createObjectStore("meta");
        };
        request.onsuccess = function () {
          var db = request.result;
          /* someone signs out in another tab: let the database go */
          db.onversionchange = function () { db.close(); opening = null; };
          resolve(db);
        };
        request.onerror = function () { opening = null; reject(request.error); };
      });
    }
    return opening;
  }

  /* work(store) in one transaction; resolves with the result of the request it returns */
  function withStore(name, mode, work) {
    return database().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(name, mode);
        var request = work(transaction.objectStore(name));
        transaction.oncomplete = function () { resolve(request ? request.result : undefined); };
        transaction.onerror = transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }

  function entriesOf(who) {
    return withStore("queue", "readonly", function (store) { return store.getAll(); })
      .then(function (all) {
        return (all || []).filter(function (entry) { return String(entry.user) === String(who); })
          .sort(function (a, b) { return a.made_at < b.made_at ? -1 : (a.made_at > b.made_at ? 1 : 0); });
      });
  }
  function putEntry(entry) { return withStore("queue", "readwrite", function (store) { return store.put(entry); }); }
  function dropEntry(key) { return withStore("queue", "readwrite", function (store) { return store.delete(key); }); }
  function getMeta(name) { return withStore("meta", "readonly", function (store) { return store.get(name); }); }
  function setMeta(name, value) { return withStore("meta", "readwrite", function (store) { return store.put(value, name); }); }

  /* --- small helpers --------------------------------------------------------------------- */

  function newKey() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;  /* version 4 */
    bytes[8] = (bytes[8] & 0x3f) | 0x80;  /* variant 10 */
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function pad(n) { return String(Math.floor(Math.abs(n))).padStart(2, "0"); }

  /* now, as ISO 8601 in the device's own time with its UTC offset: 2026-05-12T14:05:09+01:00 */
  function nowWithOffset() {
    var d = new Date();
    var offset = -d.getTimezoneOffset();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) +
      (offset < 0 ? "-" : "+") + pad(offset / 60) + ":" + pad(offset % 60);
  }

  /* "14:05" today, "Tue 12 May, 14:05" another day */
  function when(value) {
    var d = new Date(value);
    if (isNaN(d.getTime())) { return ""; }
    var time = d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
    if (d.toDateString() === new Date().toDateString()) { return time; }
    return d.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short" }) + ", " + time;
  }

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined && text !== null) { el.textContent = text; }
    return el;
  }

  function describe(entry) {
    return (KIND_LABELS[entry.kind] || "Entry") + ": “" + (entry.label || "untitled") + "”";
  }

  /* Is DAP reachable? (navigator.onLine can be true on a connection that carries nothing.) */
  function reachable() {
    var controller = window.AbortController ? new AbortController() : null;
    var timer;
    var timeout = new Promise(function (resolve) {
      timer = window.setTimeout(function () {
        if (controller) { controller.abort(); }
        resolve(false);
      }, CHECK_TIMEOUT);
    });
    var check = fetch(URLS.ping, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" },
      signal: controller ? controller.signal : undefined
    }).then(function () { return true; }, function () { return false; });
    return Promise.race([check, timeout]).then(function (ok) { window.clearTimeout(timer); return ok; });
  }

  /* --- the service worker ------------------------------------------------------------------ */

  function tellWorker(message) {
    if (!navigator.serviceWorker) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) { registration.active.postMessage(message); }
    }).catch(noop);
  }

  /* The pages kept belong to one person: another person's are forgotten first. */
  function adoptUser(who) {
    return getMeta("user").then(function (cachedFor) {
      if (String(cachedFor) === String(who)) { return null; }
      tellWorker({ type: "forget", what: "pages" });
      return setMeta("user", String(who));
    });
  }

  /* --- queueing a form ----------------------------------------------------------------------- */

  var NUMBERS = { progress: true, minutes: true, goal_id: true };
  var RENAMED = { goal: "goal_id" };

  /* The form's fields as the JSON body DAP's /sync/ routes take: whole numbers as numbers,
     empty numbers and days as null (anything else is sent as typed: DAP explains). */
  function readForm(form) {
    var fields = {};
    new FormData(form).forEach(function (value, name) {
      if (name === "csrf_token" || typeof value !== "string") { return; }
      var key = RENAMED[name] || name;
      var text = value.trim();
      if (NUMBERS[key]) {
        fields[key] = text === "" ? null : (/^\d{1,9}$/.test(text) ? Number(text) : text);
      } else if (key === "day") {
        fields[key] = text === "" ? null : text;
      } else {
        fields[key] = value;
      }
    });
    return fields;
  }

  function queueForm(form) {
    var kind = form.getAttribute("data-offline");
    var fields = readForm(form);
    var label;
    if (kind === "check-in") {
      fields.goal_id = Number(form.getAttribute("data-goal-id"));
      label = form.getAttribute("data-goal-title") || "a goal";
    } else {
      if (!("goal_id" in fields)) { fields.goal_id = null; }
      label = fields.title || "web time";
    }
    fields.made_at = nowWithOffset();
    var entry = {
      key: newKey(), kind: kind, user: signedInUser, body: fields, made_at: fields.made_at,
      label: label, state: "waiting", problem: null
    };
    return putEntry(entry).then(function () {
      form.reset();
      return render("Saved on this device — it will be sent when you are back online.");
    }, function () {
      return render("This device could not keep it (its storage is full or turned off). " +
        "Copy what you wrote and add it when you are back online.");
    });
  }

  function onSubmit(event) {
    var form = event.currentTarget;
    if (!signedInUser || !KIND_LABELS[form.getAttribute("data-offline")]) { return; }
    if (navigator.onLine && form.getAttribute("data-offline-checked") === "1") { return; }
    event.preventDefault();
    if (form.getAttribute("data-offline-busy") === "1") { return; }
    if (!navigator.onLine) { queueForm(form); return; }
    /* online, as far as the browser knows: send the form as usual if DAP answers */
    form.setAttribute("data-offline-busy", "1");
    reachable().then(function (ok) {
      form.removeAttribute("data-offline-busy");
      if (!ok) { return queueForm(form); }
      form.setAttribute("data-offline-checked", "1");
      HTMLFormElement.prototype.submit.call(form);
      return null;
    });
  }

  /* --- sending the queue ---------------------------------------------------------------------- */

  function fetchState() {
    return fetch(URLS.state, {
      credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" }
    }).then(function (response) {
      if (response.status === 200) {
        return response.json().then(function (state) { state.ok = true; return state; });
      }
      return { ok: false, signedOut: response.status === 401 };
    }, function () { return { ok: false, signedOut: false }; });
  }

  function post(entry, token) {
    return fetch(URLS[entry.kind], {
      method: "POST",
      credentials: "same-origin",
      cache: "no-store",
      headers: {
        "Content-Type": "application/json", "Accept": "application/json",
        "Idempotency-Key": entry.key, "X-CSRFToken": token
      },
      body: JSON.stringify(entry.body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        return { status: response.status, answer: answer || {} };
      });
    });
  }

  /* Send one entry; resolves with what happened: "sent", "attention", "kept", "later",
     "signed-out" or "unreachable" (the last two stop this round). */
  function send(entry, state, retried) {
    return post(entry, state.csrf_token).then(function (reply) {
      var status = reply.status;
      var answer = reply.answer;
      var code = answer.code || "";
      if (status === 201 || status === 200) {  /* saved now, or saved before (a replay) */
        if (answer.balance) { state.balance = answer.balance; }
        return dropEntry(entry.key).then(function () { return "sent"; });
      }
      if (status === 401) { return "signed-out"; }
      if (code === "csrf_failed" && !retried) {
        return fetchState().then(function (fresh) {
          if (!fresh.ok) { return fresh.signedOut ? "signed-out" : "unreachable"; }
          state.csrf_token = fresh.csrf_token;
          return send(entry, state, true);
        });
      }
      if (code === "idempotency_key_in_use" || status === 429) { return "later"; }
      if (status >= 500) { return "unreachable"; }
      entry.problem = {
        code: code || String(status), title: answer.title || "",
        detail: answer.detail || answer.title || "DAP could not take this entry (" + status + ").",
        errors: Array.isArray(answer.errors) ? answer.errors : []
      };
      if (CONFLICTS[code]) {
        entry.state = "attention";
        return putEntry(entry).then(function () { return "attention"; });
      }
      /* anything else is DAP's or this script's fault, not the person's: keep it waiting */
      return putEntry(entry).then(function () { return "kept"; });
    }, function () { return "unreachable"; });
  }

  function sendAll(entries, state, tally) {
    if (!entries.length) { return Promise.resolve(tally); }
    return send(entries[0], state, false).then(function (outcome) {
      tally[outcome] = (tally[outcome] || 0) + 1;
      if (outcome === "signed-out" || outcome === "unreachable") { return tally; }
      return sendAll(entries.slice(1), state, tally);
    });
  }

  /* One round: who is signed in, send their waiting entries, then keep their pages. */
  function sync() {
    return fetchState().then(function (state) {
      last.signedOut = !state.ok && state.signedOut;
      if (!state.ok) { return null; }
      return adoptUser(state.user).then(function () {
        return entriesOf(state.user);
      }).then(function (entries) {
        var waiting = entries.filter(function (entry) { return entry.state === "waiting"; });
        return sendAll(waiting, state, {});
      }).then(function (tally) {
        last.signedOut = !!tally["signed-out"];
        last.sent += tally.sent || 0;
        last.capped = !!(state.balance && state.balance.capped) && !allowedWhenCapped();
        tellWorker({ type: "keep", urls: state.keep || [], refresh: !!tally.sent });
        var said = [];
        if (tally.sent) { said.push(plural(tally.sent, "entry", "entries") + " sent."); }
        if (tally.attention) { said.push(plural(tally.attention, "entry needs", "entries need") + " your attention."); }
        last.said = said.join(" ");
        if (tally["signed-out"] || tally.unreachable) { return null; }
        return setMeta("synced:" + state.user, new Date().toISOString());
      });
    });
  }

  /* One round at a time, across this person's tabs too (the Web Locks API, where there is one). */
  function flush() {
    if (!user || !navigator.onLine) { return render(); }
    if (!flushing) {
      var round = function () { return sync().catch(noop); };
      var locked = navigator.locks && navigator.locks.request ?
        navigator.locks.request("dap-offline-sync", round) : round();
      flushing = locked.then(function () {
        flushing = null;
        var said = last.said;
        last.said = "";
        return render(said);
      });
    }
    return flushing;
  }

  /* The page's heartbeat script says whether it may stay open when the cap is reached. */
  function allowedWhenCapped() {
    var heartbeat = document.querySelector('script[src$="/js/heartbeat.js"]');
    return !heartbeat || heartbeat.getAttribute("data-capped-ok") === "1";
  }

  /* --- the status region ------------------------------------------------------------------------ */

  function keptAt() {
    /* the time the service worker saved the copy this page came from */
    if (!window.caches) { return Promise.resolve(null); }
    return caches.match(window.location.href).then(function (copy) {
      if (!copy) { return null; }
      var stamp = Number(copy.headers.get("DAP-Kept-At"));
      return stamp ? new Date(stamp) : (copy.headers.get("Date") ? new Date(copy.headers.get("Date")) : null);
    }).catch(function () { return null; });
  }

  function contentOf(entry) {
    var list = element("dl", "sync-content");
    CONTENT_LABELS.forEach(function (pair) {
      var value = entry.body[pair[0]];
      if (value === null || value === undefined || value === "") { return; }
      list.appendChild(element("dt", null, pair[1]));
      list.appendChild(element("dd", null, String(value)));
    });
    return list;
  }

  function attentionItem(entry) {
    var item = element("li", "sync-attention-item");
    var head = element("p");
    head.appendChild(element("strong", null, describe(entry)));
    head.appendChild(document.createTextNode(", made " + when(entry.made_at) + ", was not saved."));
    item.appendChild(head);
    item.appendChild(element("p", "sync-problem", entry.problem ? entry.problem.detail : ""));
    (entry.problem && entry.problem.errors || []).forEach(function (error) {
      if (error && error.message) { item.appendChild(element("p", "sync-problem", error.message)); }
    });
    item.appendChild(element("p", "sync-copy-hint", "What you wrote, to copy:"));
    item.appendChild(contentOf(entry));
    var dismiss = element("button", "button button-secondary", "Dismiss");
    dismiss.type = "button";
    dismiss.appendChild(element("span", "visually-hidden", " " + describe(entry)));
    dismiss.addEventListener("click", function () {
      dropEntry(entry.key).then(function () {
        return render("Dismissed: " + describe(entry) + ".");
      }).then(function () {
        var heading = document.getElementById("sync-status-heading");
        var region = document.getElementById("sync-status");
        if (heading && region && !region.hidden) { heading.focus(); } else { document.getElementById("main").focus(); }
      });
    });
    item.appendChild(dismiss);
    return item;
  }

  /* Draw the region from what is stored; ``said`` is announced (a short sentence). */
  function render(said) {
    var region = document.getElementById("sync-status");
    if (!region || !user) { return Promise.resolve(); }
    return Promise.all([entriesOf(user), getMeta("synced:" + user), navigator.onLine ? null : keptAt()])
      .then(function (found) {
        var entries = found[0];
        var syncedAt = found[1];
        var copyAt = found[2];
        var waiting = entries.filter(function (entry) { return entry.state === "waiting"; });
        var attention = entries.filter(function (entry) { return entry.state === "attention"; });
        var offline = !navigator.onLine;
        waitingCount = waiting.length;
        showUnsent(waiting.length);

        var content = region.querySelector("[data-sync-content]");
        var heading = document.getElementById("sync-status-heading");
        var live = region.querySelector("[data-sync-said]");
        content.textContent = "";
        heading.textContent = offline ? "You are offline" : waiting.length ? "Waiting to send" :
          attention.length ? "Needs your attention" : last.sent ? "Sent" : "Offline entries";

        if (offline) {
          content.appendChild(element("p", "sync-offline", copyAt ?
            "Offline — showing the copy saved at " + when(copyAt) + "." :
            "Offline — check-ins and web time you add are saved on this device."));
        }
        if (last.signedOut && waiting.length) {
          var signIn = element("p", "sync-signed-out");
          var link = element("a", null, "Sign in");
          link.href = "/login?next=" + encodeURIComponent(window.location.pathname);
          signIn.appendChild(link);
          signIn.appendChild(document.createTextNode(" to send " + plural(waiting.length, "waiting entry", "waiting entries") + "."));
          content.appendChild(signIn);
        }
        if (waiting.length) {
          content.appendChild(element("p", "sync-count", waiting.length + " waiting to send"));
          var list = element("ul", "sync-list");
          waiting.forEach(function (entry) {
            var item = element("li", null, describe(entry) + ", made " + when(entry.made_at));
            if (entry.problem) {
              item.appendChild(element("span", "sync-problem", " — not sent yet: " + entry.problem.detail));
            }
            list.appendChild(item);
          });
          content.appendChild(list);
        }
        if (waiting.length || last.sent || offline) {
          content.appendChild(element("p", "sync-last", syncedAt ?
            "Last synced at " + when(syncedAt) : "Not synced yet on this device"));
        }
        if (attention.length) {
          content.appendChild(element("h3", "sync-attention-heading",
            plural(attention.length, "entry needs", "entries need") + " your attention"));
          content.appendChild(element("p", null, attention.length === 1 ?
            "DAP could not save it. Copy what you need, then dismiss it." :
            "DAP could not save these. Copy what you need, then dismiss them."));
          var problems = element("ul", "sync-attention");
          attention.forEach(function (entry) { problems.appendChild(attentionItem(entry)); });
          content.appendChild(problems);
        }
        if (last.capped) {
          var capped = element("p", "sync-capped", "You have reached this week’s time on DAP. ");
          var explore = element("a", null, "Explore the web");
          explore.href = script.getAttribute("data-explore-url") || "/";
          capped.appendChild(explore);
          content.appendChild(capped);
        }

        var show = !!(offline || waiting.length || attention.length || last.sent || last.capped || said);
        var wasHidden = region.hidden;
        region.hidden = !show;
        if (said) {
          /* a live region announces changes, not text present when it appears */
          live.textContent = "";
          window.setTimeout(function () { live.textContent = said; }, wasHidden ? 150 : 0);
        }
      }).catch(noop);
  }

  /* --- signing out ---------------------------------------------------------------------------- */

  /* The sign-out page: warn about entries not sent yet, and offer to send them. */
  function showUnsent(count) {
    var box = document.getElementById("sync-unsent");
    if (!box) { return; }
    box.hidden = count === 0;
    var text = box.querySelector("[data-sync-unsent-text]");
    if (text) {
      text.textContent = (count === 1 ? "1 entry has" : count + " entries have") +
        " not been sent yet. Signing out on this device deletes " + (count === 1 ? "it." : "them.");
    }
    var button = box.querySelector("[data-sync-send]");
    if (button) { button.hidden = !navigator.onLine; }
  }

  function onSignOut(event) {
    var form = event.currentTarget;
    if (!navigator.onLine) {
      event.preventDefault();
      render("You are offline: signing out needs a connection. Try again when you are back online.");
    } else if (waitingCount > 0 && !form.hasAttribute("data-sign-out-confirmed")) {
      /* the sign-out page says what would be lost */
      event.preventDefault();
      window.location.assign(form.getAttribute("action"));
    }
  }

  /* After signing out: nothing of the person stays on this device (the queue, the kept
     pages, every cache), then the service worker fetches the offline page and static
     files again for whoever comes next. */
  function forgetEverything() {
    var jobs = [];
    if (window.indexedDB) {
      jobs.push(new Promise(function (resolve) {
        var request = indexedDB.deleteDatabase(DB_NAME);
        request.onsuccess = request.onerror = function () { resolve(); };
      }));
    }
    if (window.caches) {
      jobs.push(caches.keys().then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      }));
    }
    return Promise.all(jobs).catch(noop).then(function () {
      body.setAttribute("data-offline-cleared", "1");
      if (!navigator.serviceWorker) { return null; }
      return navigator.serviceWorker.getRegistration("/").then(function (registration) {
        var worker = registration && registration.active;
        if (worker) { worker.postMessage({ type: "forget" }); }
      });
    }).catch(noop);
  }

  /* --- the offline page: what this device kept ---------------------------------------------------- */

  function listKeptPages() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.keys().then(function (names) {
      var pages = names.filter(function (name) { return name.indexOf("dap-pages-") === 0; });
      return Promise.all(pages.map(function (name) {
        return caches.open(name).then(function (cache) {
          return cache.keys().then(function (requests) {
            return Promise.all(requests.map(function (request) {
              return cache.match(request).then(function (copy) { return copy.text(); }).then(function (html) {
                var title = new DOMParser().parseFromString(html, "text/html").title;
                return { url: request.url, title: (title || request.url).replace(/ · DAP$/, "") };
              });
            }));
          });
        });
      }));
    }).then(function (lists) {
      var kept = [].concat.apply([], lists).sort(function (a, b) { return a.url < b.url ? -1 : 1; });
      if (!kept.length) { return; }
      offlinePage.appendChild(element("h2", null, "Kept on this device"));
      var list = element("ul");
      kept.forEach(function (page) {
        var item = element("li");
        var link = element("a", null, page.title);
        link.href = page.url;
        item.appendChild(link);
        list.appendChild(item);
      });
      offlinePage.appendChild(list);
    }).catch(noop);
  }

  /* --- start ------------------------------------------------------------------------------------ */

  if (body.hasAttribute("data-signed-out")) {
    forgetEverything();
    return;
  }

  function start() {
    /* base.html names the worker; without data-worker the queue still works, nothing is kept */
    var worker = script.getAttribute("data-worker");
    if (signedInUser && worker && navigator.serviceWorker) {
      navigator.serviceWorker.register(worker, { scope: "/" }).catch(noop);
    }
    document.querySelectorAll("form[data-offline]").forEach(function (form) {
      form.addEventListener("submit", onSubmit);
    });
    document.querySelectorAll('form[action$="/logout"]').forEach(function (form) {
      form.addEventListener("submit", onSignOut);
    });
    var sendNow = document.querySelector("#sync-unsent [data-sync-send]");
    if (sendNow) { sendNow.addEventListener("click", function () { flush(); }); }
    if (offlinePage) { listKeptPages(); }

    window.addEventListener("online", function () { flush(); });
    window.addEventListener("offline", function () { render(); });
    window.setInterval(function () {
      if (navigator.onLine && waitingCount > 0) { flush(); }
    }, RETRY_EVERY);
    return flush();
  }

  if (signedInUser) {
    adoptUser(signedInUser).catch(noop).then(start);
  } else if (offlinePage) {
    /* the offline page names nobody: show the entries of the person who used this device */
    getMeta("user").then(function (who) { user = who || null; }, noop).then(start);
  }
}());
