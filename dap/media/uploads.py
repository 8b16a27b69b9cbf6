"""The one path every uploaded image takes: read with a size limit, cleaned and re-encoded
(dap.media.images), written under a random key with its thumbnail (dap.media.storage), all
or none; files whose row did not make it into the database removed once the request is
answered; and served back with headers that never let a file run as a page.

Event recaps and the cohort feed both use it; each keeps its own table of images (with the
fields ``StoredImage`` gives) and its own rules of who may add and see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO

from flask import Response, after_this_request, has_request_context, send_file

from dap.errors import DomainError
from dap.media import images, storage


@dataclass(frozen=True)
class Upload:
    """One file as it arrived: the name its owner gave it (only ever shown back to them,
    never used as a path) and its contents."""

    filename: str
    stream: IO[bytes]


@dataclass(frozen=True)
class StoredImage:
    key: str
    format: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    size_bytes: int


def display_name(filename: str) -> str:
    """The file's own name for messages: its last part, shortened; never a path."""
    last = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    last = "".join(ch for ch in last if ch.isprintable())[:80]
    return f"“{last}”" if last else "The file"


def _read(upload: Upload, name: str, field: str) -> bytes:
    """At most one byte more than the limit, so a huge upload is refused without holding
    all of it."""
    data = upload.stream.read(images.MAX_BYTES + 1)
    if len(data) > images.MAX_BYTES:
        raise DomainError(f"{name} is over {images.MAX_BYTES // (1024 * 1024)} MB: make it "
                          "smaller and try again.", field=field)
    return data


def store(uploads: Iterable[Upload], *, field: str) -> list[StoredImage]:
    """Clean every upload first, then write them all: one bad file stores nothing (and the
    message names it). The caller adds its rows and calls ``tidy_after_request`` with the
    keys, so files whose rows roll back are removed.

    :raise DomainError: naming ``field``: a file too big, not an image, or the disk full.
    """
    cleaned = []
    for upload in uploads:
        name = display_name(upload.filename)
        cleaned.append(images.clean_image(_read(upload, name, field), field=field, name=name))
    written: list[str] = []
    stored = []
    try:
        for image in cleaned:
            key = storage.new_key()
            ext = images.EXTENSIONS[image.format]
            storage.save(key, ext, image.data, field=field)
            written.append(key)
            storage.save(key, f"thumb.{ext}", image.thumb, field=field)
            stored.append(StoredImage(key=key, format=image.format, width=image.width,
                                      height=image.height, thumb_width=image.thumb_width,
                                      thumb_height=image.thumb_height,
                                      size_bytes=len(image.data)))
    except Exception:
        remove_files(written)
        raise
    return stored


def remove_files(keys: Iterable[str]) -> None:
    for key in keys:
        for ext in images.EXTENSIONS.values():
            storage.delete(key, [ext, f"thumb.{ext}"])


def tidy_after_request(keys: list[str], kept: Callable[[list[str]], set[str]]) -> None:
    """Once the request is answered, remove the files of any of ``keys`` that ``kept``
    (the keys still in the caller's table) does not return: written for a transaction that
    rolled back, or for an image deleted."""
    if not keys or not has_request_context():
        return

    @after_this_request
    def tidy(response):
        still = kept(keys)
        remove_files([key for key in keys if key not in still])
        return response


def send_image(key: str, fmt: str, *, thumb: bool, download_name: str) -> Response | None:
    """An image or its thumbnail as a response: always the type it was re-encoded as,
    never sniffed, sandboxed; None when the file is missing."""
    ext = images.EXTENSIONS[fmt]
    path = storage.path_of(key, f"thumb.{ext}" if thumb else ext)
    if not path.is_file():
        return None
    name = f"{download_name}.{ext}"
    response = send_file(path, mimetype=images.CONTENT_TYPES[fmt], conditional=True,
                         max_age=86400, download_name=name)
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "private, max-age=86400"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
