"""Uploaded photos made safe: decoded by Pillow (so a file that only claims to be an image
is refused), limited in size before any pixels are decoded, turned the right way up, and
re-encoded from the pixels alone — EXIF (camera, time, GPS location), XMP and comments are
left behind — with a thumbnail.

Only JPEG, PNG and WebP are accepted. SVG is refused (it is a document that can carry
script), as is anything Pillow cannot decode completely (a truncated file, say).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from dap.errors import DomainError

#: the largest file accepted
MAX_BYTES = 10 * 1024 * 1024
#: the most pixels accepted (a 40-megapixel phone photo passes; a decompression bomb does not)
MAX_PIXELS = 40_000_000
#: the longest side of the stored photo and of its thumbnail
STORED_SIDE = 2560
THUMB_SIDE = 480

FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp"}
CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


@dataclass(frozen=True)
class CleanImage:
    format: str  #: jpeg, png or webp
    data: bytes
    width: int
    height: int
    thumb: bytes
    thumb_width: int
    thumb_height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]


def _refuse(message: str, field: str) -> DomainError:
    return DomainError(message, field=field)


def clean_image(data: bytes, *, field: str, name: str = "The file") -> CleanImage:
    """``data`` decoded, checked and re-encoded.

    :raise DomainError: for anything but a whole JPEG, PNG or WebP of at most ``MAX_BYTES``
        and ``MAX_PIXELS``, naming ``field`` and the file (``name``) in plain words.
    """
    if not data:
        raise _refuse(f"{name} is empty.", field)
    if len(data) > MAX_BYTES:
        raise _refuse(f"{name} is over {MAX_BYTES // (1024 * 1024)} MB: make it smaller and "
                      "try again.", field)
    not_a_photo = f"{name} is not a photo we can use: upload a JPEG, PNG or WebP image."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Opening reads only the header: the size is known before any pixel is decoded.
            with Image.open(io.BytesIO(data)) as probe:
                kind = FORMATS.get(probe.format or "")
                if kind is None:
                    raise _refuse(not_a_photo, field)
                width, height = probe.size
                if width * height > MAX_PIXELS:
                    raise _refuse(f"{name} is {width:,} × {height:,} pixels: at most "
                                  f"{MAX_PIXELS // 1_000_000} megapixels, please.", field)
                probe.verify()  # checks the structure (and PNG checksums) without decoding
            with Image.open(io.BytesIO(data)) as image:
                image.load()  # decodes every pixel: a truncated file fails here
                upright = ImageOps.exif_transpose(image)
    except DomainError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError, EOFError) as exc:
        if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
            raise _refuse(f"{name} has too many pixels to be a photo.", field) from exc
        raise _refuse(not_a_photo if isinstance(exc, UnidentifiedImageError)
                      else f"{name} is damaged or incomplete: upload it again.", field) from exc
    stored = _fit(upright, STORED_SIDE)
    thumb = _fit(upright, THUMB_SIDE)
    return CleanImage(format=kind, data=_encode(stored, kind), width=stored.width,
                      height=stored.height, thumb=_encode(thumb, kind), thumb_width=thumb.width,
                      thumb_height=thumb.height)


def _fit(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


def _encode(image: Image.Image, kind: str) -> bytes:
    """The pixels alone, in ``kind``: no EXIF, XMP or comments carried over."""
    out = io.BytesIO()
    if kind == "jpeg":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif kind == "png":
        if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        image.save(out, "WEBP", quality=82)
    return out.getvalue()
