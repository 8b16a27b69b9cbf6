"""Cleaning what people type: one rule for every short text and web address a service
stores."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from dap.errors import DomainError

#: control characters other than tab and newline (a NUL cannot even be stored on PostgreSQL)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str | None, *, field: str, max_len: int, label: str,
               required: bool = False) -> str:
    """Trimmed plain text with Unix line ends and no control characters.

    :raise DomainError: naming ``field`` when empty but required ("Enter <label>."), or
        longer than ``max_len``.
    """
    text = _CONTROL_RE.sub("", (value or "").replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise DomainError(f"Enter {label}.", field=field)
    if len(text) > max_len:
        raise DomainError(f"Use at most {max_len} characters (this has {len(text)}).",
                          field=field)
    return text


def clean_url(raw: str | None, *, field: str = "url", max_len: int = 500) -> str:
    """An optional web address: http or https only (no javascript:, data: or file:).

    :raise DomainError: naming ``field``.
    """
    url = (raw or "").strip()
    if not url:
        return ""
    if len(url) > max_len:
        raise DomainError(f"Use a web address of at most {max_len} characters.", field=field)
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        raise DomainError("Enter a web address starting with https:// (or leave it empty).",
                          field=field)
    return url
