"""The API blueprint and ``operation``, the one way an API view is declared.

``operation`` registers the URL rule, declares the access rule (``policy``), records the
operation for the OpenAPI document, and wraps the view so that each request goes:
token and scope → the time cap → query and body validated against their models → the view
(calling the same services as the web pages) → its answer serialised by its model → one
commit for writes (with the ``Idempotency-Key`` answer, when one was sent). Views return a
model (200) or a ``Reply``; services' ``DomainError`` becomes 422 (a field at fault) or
409 (a state that does not allow it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, json, request
from pydantic import BaseModel, ValidationError

from dap import policy
from dap.api import auth, idempotency, spec
from dap.api.problems import ApiError, field_error, problem_response, validation_failed
from dap.errors import DomainError
from dap.extensions import csrf, db, limiter
from dap.timecap import gate

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # bearer tokens only: a browser never sends one by itself

#: the largest request body the API reads
MAX_BODY = 64 * 1024
JSON_TYPES = ("application/json",)


@dataclass(frozen=True)
class Reply:
    """A view's answer when it is not a plain 200."""

    body: BaseModel | dict | None
    status: int = 200
    location: str | None = None


def rate_key() -> str:
    """Requests are counted per token (by a hash of it: no query needed); without one,
    per address."""
    secret = auth.presented_secret()
    if secret:
        from dap.accounts.api_tokens import hash_token

        return "api:" + hash_token(secret)[:32]
    return "api-anon:" + (request.remote_addr or "-")


def _rate_limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


limiter.shared_limit(_rate_limit, scope="api", key_func=rate_key,
              on_breach=lambda limit: problem_response(ApiError(
                  429, "rate_limited", f"At most {limit.limit} for one token: wait and retry.")),
              )(bp)


@bp.after_request
def finish(response: Response) -> Response:
    """Note the token's use (at most once a minute), say how the answer may be cached, and
    repeat the rate limit in the IETF draft's structured form."""
    bearer = auth.current_bearer()
    if bearer is not None and bearer.stale:
        from dap.accounts.api_tokens import touch

        try:
            touch(bearer.token_id)
            db.session.commit()
        except Exception:  # noqa: BLE001 - noting the use must never fail the request
            db.session.rollback()
    response.headers.setdefault("Cache-Control", "no-store")
    current = limiter.current_limit
    if current is not None:
        window = current.limit.get_expiry()
        wait = max(0, int(current.reset_at - time.time()))
        response.headers["RateLimit-Policy"] = f'"token";q={current.limit.amount};w={window}'
        response.headers["RateLimit"] = f'"token";r={current.remaining};t={wait}'
    return response


# --- request parsing ----------------------------------------------------------------------------


def _problems(error: ValidationError, *, where: str = "body") -> list[dict[str, str]]:
    out = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"]) or where
        out.append(field_error(field, item["msg"], item["type"]))
    return out


def parse_query(model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(request.args.to_dict(flat=True))
    except ValidationError as error:
        raise validation_failed(_problems(error, where="query")) from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype not in JSON_TYPES and not request.mimetype.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON with "
                       "Content-Type: application/json.")
    if (request.content_length or 0) > MAX_BODY:  # the stream may be open already (CSRF)
        raise ApiError(413, "too_large", f"A body is at most {MAX_BODY // 1024} KB.")
    request.max_content_length = MAX_BODY
    data = request.get_data(cache=True)
    try:
        return model.model_validate_json(data)
    except ValidationError as error:
        if any(item["type"] == "json_invalid" for item in error.errors()):
            raise ApiError(400, "invalid_json", "The body is not valid JSON.") from None
        raise validation_failed(_problems(error)) from None


def domain_problem(error: DomainError, fields: dict[str, str]) -> ApiError:
    """A service's refusal: a field at fault is a 422 naming it; otherwise the state of
    things does not allow it (409)."""
    if error.field:
        return validation_failed([field_error(fields.get(error.field, error.field),
                                              error.message, error.code)])
    return ApiError(409, error.code if error.code != "invalid" else "conflict", error.message)


def serialise(reply: BaseModel | Reply | dict | None, status: int) -> Response:
    """A view's answer as a response: a model through its schema, a dict (a document
    already made) as it is."""
    if not isinstance(reply, Reply):
        reply = Reply(reply, status)
    if reply.body is None:
        body = ""
    elif isinstance(reply.body, dict):
        body = json.dumps(reply.body)
    else:
        body = reply.body.model_dump_json()
    response = Response(body, status=reply.status,
                        mimetype="application/json" if reply.body is not None else None)
    if reply.location:
        response.headers["Location"] = reply.location
    return response


def _check_cap() -> Response | None:
    """The time cap as on the web pages: reading is refused once this week's platform time
    is used up (``platform_cap_reached``); writes are never turned away."""
    if request.method not in ("GET", "HEAD"):
        return None
    found = gate.current_balance()
    if found is None or not found.capped:
        return None
    return gate.cap_reached_problem(found)


def respond(call: Callable[[], Any], *, status: int, fields: dict[str, str], write: bool,
            key: str | None = None, user_id: int | None = None) -> Response:
    """Run a view's ``call`` and answer with what it returns (see ``serialise``): a
    service's refusal becomes a problem; a write commits, once per ``Idempotency-Key``
    (``key``, of ``user_id``) when one was sent. Shared by the API and the offline sync."""
    def run() -> Response:
        try:
            reply = call()
        except DomainError as error:
            db.session.rollback()
            raise domain_problem(error, fields) from None
        return serialise(reply, status)

    if key is not None and user_id is not None:
        return idempotency.run_once(user_id, key, run)
    response = run()
    if write:
        db.session.commit()
    return response


# --- the decorator --------------------------------------------------------------------------


def operation(method: str, rule: str, *, summary: str, tag: str, scope: str | None = "read",
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              answer: type[BaseModel] | None = None, status: int = 200,
              errors: tuple[int, ...] = (), capped_ok: bool = False,
              fields: dict[str, str] | None = None, description: str = "",
              extra_responses: dict[int, str] | None = None) -> Callable:
    """Declare an API view (see the module docstring). ``scope``: "read", "read-write",
    or None for a public document. ``capped_ok``: answers even when the time cap is
    reached. ``fields`` renames services' field names to the API's."""
    access = {None: policy.Access.PUBLIC, "read": policy.Access.TOKEN_READ,
              "read-write": policy.Access.TOKEN_WRITE}[scope]
    fields = fields or {}

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(**path_args: Any) -> Response:
            policy.check(access)
            if scope is not None and not capped_ok:
                refused = _check_cap()
                if refused is not None:
                    return refused
            kwargs = dict(path_args)
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)

            key = (idempotency.presented_key() if method == "POST" and scope is not None
                   else None)
            return respond(lambda: view(**kwargs), status=status, fields=fields,
                           write=method != "GET", key=key,
                           user_id=g.api_bearer.user.id if key else None)

        policy.declare(access, wrapped)
        gate.not_a_page(wrapped)  # API calls are not platform time (see docs/API.md)
        bp.add_url_rule(rule, endpoint=view.__name__, view_func=wrapped, methods=[method])
        spec.register(spec.Operation(
            endpoint=f"{bp.name}.{view.__name__}", method=method, rule=bp.url_prefix + rule,
            summary=summary, description=description, tag=tag, scope=scope, query=query,
            body=body, answer=answer, status=status, errors=errors,
            idempotent=method == "POST" and scope is not None, capped_ok=capped_ok,
            extra_responses=extra_responses or {}))
        return wrapped

    return decorator


@bp.errorhandler(ApiError)
def api_error(error: ApiError) -> Response:
    return problem_response(error)

