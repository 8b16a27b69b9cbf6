"""Where uploaded files live: a directory (``DAP_UPLOAD_DIR``, by default ``instance/uploads``)
of files named by random keys. A name a person chose never reaches the file system."""

from __future__ import annotations

import errno
import os
import re
import secrets
from pathlib import Path

from flask import current_app

from dap.errors import DomainError

KEY_RE = re.compile(r"[0-9a-f]{32}")


def new_key() -> str:
    return secrets.token_hex(16)


def _root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def path_of(key: str, suffix: str) -> Path:
    """The file for ``key`` and ``suffix`` (e.g. ``jpg``, ``thumb.jpg``) under the upload
    directory, in a subdirectory per first two characters of the key.

    :raise ValueError: for a key that is not one of ours (never a path from outside).
    """
    if not KEY_RE.fullmatch(key) or not re.fullmatch(r"[a-z.]{2,12}", suffix):
        raise ValueError("not an upload key")
    return _root() / key[:2] / f"{key}.{suffix}"


def save(key: str, suffix: str, data: bytes, *, field: str) -> Path:
    """Write ``data`` whole or not at all (a temporary file renamed into place).

    :raise DomainError: when the disk is full or the directory cannot be written.
    """
    target = path_of(key, suffix)
    partial = target.with_name(f".{target.name}.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DomainError("The server has no room for uploads just now: nothing was "
                              "saved. Please tell your facilitator.", field=field) from exc
        raise DomainError("The upload could not be stored just now: nothing was saved. "
                          "Try again in a minute.", field=field) from exc
    return target


def delete(key: str, suffixes: list[str]) -> None:
    """Remove ``key``'s files; missing ones are fine."""
    for suffix in suffixes:
        path_of(key, suffix).unlink(missing_ok=True)
