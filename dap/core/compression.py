"""Compressed answers (Flask-Compress): brotli where the browser takes it, else gzip.

Text answers of at least ``COMPRESS_MIN_SIZE`` bytes (pages, CSS, JavaScript, JSON and
problem+json, SVG, the web app manifest, CSV, calendars, plain text) are compressed; images,
ZIP files and anything already encoded are sent as they are. ``Vary: Accept-Encoding`` goes
on every answer, so caches keep one copy per coding.

- **Which coding.** The browser's ``Accept-Encoding`` is read as RFC 9110 says: the highest
  weight wins, ties go to brotli, ``q=0`` refuses a coding (also one that ``*`` would
  allow), ``*`` stands for the codings not named, and ``identity`` or no header means
  none. ``choose_coding`` decides; the library then compresses with that coding.
- **Error answers** (4xx, 5xx) are compressed here the same way: the library compresses
  only 2xx answers, and a problem+json that lists every invalid field can be long.
- **Streamed answers** (the CSV exports, static files) are compressed chunk by chunk as
  they are produced: never gathered whole, and without ``Content-Length``.
- **Static files keep their validators.** A compressed file's strong ETag gets the coding
  appended (``"…:br"``) and ``If-None-Match`` with it answers 304. A byte range (206) is
  sent as it is: ranges are of the uncompressed file.
- **Off switch.** ``DAP_COMPRESS=false`` (``COMPRESS_REGISTER`` ``False``) sends every
  answer uncompressed, for a reverse proxy that compresses instead.
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence

import brotli
from flask import Flask, Response, current_app, request
from flask_compress import Compress
from werkzeug.http import parse_accept_header

#: what is worth compressing; everything else (images, archives, fonts in woff2) already is
COMPRESSED_TYPES = (
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/problem+json",
    "application/manifest+json",
    "image/svg+xml",
    "text/csv",
    "text/calendar",
    "text/plain",
)

#: the codings DAP sends, the preferred first
CODINGS = ("br", "gzip")

SETTINGS = {
    "COMPRESS_MIMETYPES": list(COMPRESSED_TYPES),
    "COMPRESS_ALGORITHM": list(CODINGS),
    "COMPRESS_ALGORITHM_STREAMING": list(CODINGS),
    "COMPRESS_STREAMS": True,
    "COMPRESS_MIN_SIZE": 500,
    # brotli 5 and gzip 6: about 4 ms for the largest page (700 KB), under a millisecond
    # for the others. Brotli 4 came out larger than gzip for the stylesheet and scripts;
    # 5 is smaller than gzip for every page and file, at gzip's cost (docs/PERFORMANCE.md)
    "COMPRESS_BR_LEVEL": 5,
    "COMPRESS_LEVEL": 6,
    # a 256 KB window (the library's default is 4 MB): a streamed download's brotli
    # encoder then sends a block every 512 KB or so of rows, instead of holding megabytes
    # before its first byte; pages and files are smaller than the window anyway
    "COMPRESS_BR_WINDOW": 18,
}

_HEADER = "HTTP_ACCEPT_ENCODING"


def choose_coding(accept_encoding: str, codings: Sequence[str] = CODINGS) -> str | None:
    """The content coding to send for this ``Accept-Encoding`` header, or ``None`` for
    none: of ``codings``, the one with the highest weight above 0, ties to the earlier.

    A coding named with ``q=0`` is refused even when ``*`` would allow it; ``*`` gives
    its weight to the codings not named; malformed entries are skipped."""
    named: dict[str, float] = {}
    anything: float | None = None
    for value, quality in parse_accept_header(accept_encoding or ""):
        name = value.strip().lower()
        if name == "*":
            anything = quality if anything is None else max(anything, quality)
        elif name:
            named[name] = max(quality, named.get(name, 0.0))
    if "x-gzip" in named:  # the old name, the same coding (RFC 9110, 8.4.1.3)
        named["gzip"] = max(named.pop("x-gzip"), named.get("gzip", 0.0))
    best, best_quality = None, 0.0
    for coding in codings:
        quality = named.get(coding, anything if anything is not None else 0.0)
        if quality > best_quality:
            best, best_quality = coding, quality
    return best


class Compression(Compress):
    """Flask-Compress with the coding chosen by ``choose_coding``.

    The library reads the request's ``Accept-Encoding`` itself and honours neither a
    refusing ``q=0`` nor a named coding over ``*``: for the length of its hook the header
    is replaced by the one coding chosen here (or ``identity``), then put back."""

    def after_request(self, response: Response) -> Response:
        app = self.app or current_app
        streamed = response.is_streamed and app.config["COMPRESS_STREAMS"]
        codings = self.streaming_algorithms if streamed else self.enabled_algorithms
        chosen = choose_coding(request.headers.get("Accept-Encoding", ""), codings)
        if response.status_code == 206:  # a byte range of the file as it is stored
            chosen = None
        if chosen and response.status_code >= 400:
            return self._compress_error(app, response, chosen)
        environ = request.environ
        sent = environ.get(_HEADER)
        environ[_HEADER] = chosen or "identity"
        body = response.response
        try:
            response = super().after_request(response)
        finally:
            if sent is None:
                environ.pop(_HEADER, None)
            else:
                environ[_HEADER] = sent
        if response.response is not body and callable(getattr(body, "close", None)):
            # a stream now read through the compressor: close the file or generator under
            # it when the answer is closed (the library leaves that to the garbage collector)
            response.call_on_close(body.close)
        return response

    def _compress_error(self, app: Flask, response: Response, coding: str) -> Response:
        """An error answer (a problem+json listing every invalid field, an error page),
        which the library leaves alone whatever its size, compressed as a 200 would be."""
        vary = response.vary
        vary.add("Accept-Encoding")
        response.vary = vary
        if (response.is_streamed or "Content-Encoding" in response.headers
                or response.mimetype not in self.compress_mimetypes_set):
            return response
        data = response.get_data()
        if len(data) < app.config["COMPRESS_MIN_SIZE"]:
            return response
        if coding == "br":
            data = brotli.compress(data, quality=app.config["COMPRESS_BR_LEVEL"])
        else:
            data = gzip.compress(data, compresslevel=app.config["COMPRESS_LEVEL"])
        response.set_data(data)
        response.headers["Content-Encoding"] = coding
        return response


def init_compression(app: Flask) -> None:
    """Compress ``app``'s answers unless ``COMPRESS_REGISTER`` is off (``DAP_COMPRESS``).

    Call it right after the settings are loaded: its hook is then the first one
    registered and so runs last, on the answer as every other hook left it."""
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.extensions["compress"] = Compression(app)
