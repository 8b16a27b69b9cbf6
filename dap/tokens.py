"""Signed, timestamped tokens for emailed links, timed by DAP's one clock."""

from __future__ import annotations

from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from dap.clock import now_utc


class ClockSigner(TimestampSigner):
    """Timestamps from ``dap.clock`` so that link expiry follows the one clock (and tests
    can freeze it)."""

    def get_timestamp(self) -> int:
        return int(now_utc().timestamp())


def serializer(secret_key: str, *, salt: str) -> URLSafeTimedSerializer:
    """A URL-safe serializer for one purpose (``salt``): a token made for one purpose never
    verifies for another."""
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=ClockSigner)
