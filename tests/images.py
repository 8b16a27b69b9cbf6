"""Images made for the tests of uploads: real files of each kind, one carrying a location,
one that claims to be enormous, and an SVG with a script."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def jpeg_with_location(width: int = 40, height: int = 20) -> bytes:
    """A JPEG with EXIF: a GPS position, a camera make and "rotate 90° clockwise"."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to show
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 40.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def image_bytes(kind: str, size=(30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA" if kind != "JPEG" else "RGB", size, (10, 120, 200)).save(out, kind)
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels: a decompression bomb's
    shape, without the memory to build one."""
    data = bytearray(image_bytes("PNG", (1, 1)))
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr:ihdr + 17])) & 0xFFFFFFFF
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", crc)
    return bytes(data)


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')
