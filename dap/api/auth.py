"""Bearer tokens at the API's door: ``Authorization: Bearer dap_…`` and nothing else (no
session cookies, so no CSRF). ``policy.check`` calls ``require`` for the token rules."""

from __future__ import annotations

from flask import g, request

from dap.accounts import api_tokens
from dap.accounts.api_tokens import Bearer, TokenRefused
from dap.accounts.models import TokenScope
from dap.api.problems import ApiError

REALM = 'Bearer realm="DAP API"'
REFUSALS = {
    "invalid": ("token_invalid", "That token is not known. Make one on your account page."),
    "expired": ("token_expired", "That token has expired. Make a new one on your account page."),
    "revoked": ("token_revoked", "That token was revoked. Make a new one on your account page."),
}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _unauthenticated(code: str, detail: str, error: str | None = "invalid_token") -> ApiError:
    challenge = REALM + (f', error="{error}"' if error else "")
    return ApiError(401, code, detail, headers={"WWW-Authenticate": challenge})


def presented_secret() -> str | None:
    """The token in the Authorization header, or None when there is no bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def current_bearer() -> Bearer | None:
    return g.get("api_bearer")


def require(*, write: bool) -> Bearer:
    """Authenticate this request's token and check its scope (memoised per request).

    :raise ApiError: 401 without a usable token; 403 ``insufficient_scope`` when a read
        token is used to write.
    """
    bearer = g.get("api_bearer")
    if bearer is None:
        secret = presented_secret()
        if secret is None:
            raise _unauthenticated("token_missing", "Send a personal access token: "
                                   "Authorization: Bearer dap_…", error=None)
        try:
            bearer = api_tokens.authenticate(secret)
        except TokenRefused as refused:
            code, detail = REFUSALS[refused.reason]
            raise _unauthenticated(code, detail) from None
        g.api_bearer = bearer
        # Flask-Login's current_user is the token's owner for this request only: nothing is
        # written to the session.
        g._login_user = bearer.user
    if (write or request.method not in READ_METHODS) and bearer.scope is not TokenScope.READ_WRITE:
        raise ApiError(403, "insufficient_scope", "This token may only read. Make a "
                       "read-write token to change things.",
                       headers={"WWW-Authenticate": REALM + ', error="insufficient_scope"'})
    return bearer
