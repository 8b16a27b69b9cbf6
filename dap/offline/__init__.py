"""Patchy access: DAP installed to a phone's home screen, pages kept for offline use, and
check-ins and web time made offline sent when the connection returns.

The browser side is plain JavaScript in ``static/js`` (``sw.js``, the service worker, and
``offline.js``); see docs/OFFLINE.md. The server side here:

- ``/sw.js`` (the service worker, served from the root so it may control every page),
  ``/manifest.webmanifest`` and ``/offline`` (the page shown for a page not kept);
- ``DAP-Offline: keep`` on the pages a participant may read offline (``KEPT_PAGES``), the
  only pages the service worker keeps;
- ``/sync/state`` and ``/sync/check-ins``, ``/sync/web-activities``: what the device
  needs to send what it queued, each entry once (an ``Idempotency-Key`` is required).
"""

from __future__ import annotations

from dap.offline.views import bp, keep_for_offline

__all__ = ["bp", "keep_for_offline"]
