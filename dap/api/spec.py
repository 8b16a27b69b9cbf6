"""The OpenAPI 3.1 document, generated from the code.

Each API view is registered through ``dap.api.routing.operation``, which records an
``Operation`` here: its path, method, scope, query and body models, answer model and the
errors it can give. ``document()`` turns them into the OpenAPI document with apispec;
pydantic gives the JSON Schemas (JSON Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from apispec import APISpec
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dap.api.schemas import Problem

REF = "#/components/schemas/{model}"
#: the errors every authenticated operation can give
COMMON_ERRORS = (400, 401, 403, 404, 429)
ERROR_TEXT = {
    400: "The request could not be read (bad JSON, a bad Idempotency-Key).",
    401: "No token, or a token that is unknown, expired or revoked.",
    403: "The token's scope does not allow it, or this week's platform time is used up "
         "(`platform_cap_reached`), or the cohort is archived.",
    404: "Not found, or not yours to see.",
    409: "The goal or cohort is not in a state that allows it.",
    415: "The body must be JSON (`Content-Type: application/json`).",
    422: "Some values were not accepted: `errors` lists each field.",
    429: "Too many requests for this token: wait `Retry-After` seconds.",
}
_RULE_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


@dataclass(frozen=True)
class Operation:
    endpoint: str
    method: str
    rule: str  #: the Flask rule, e.g. ``/api/v1/goals/<int:goal_id>``
    summary: str
    description: str
    tag: str
    scope: str | None  #: "read", "read-write", or None (public)
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    idempotent: bool = False
    capped_ok: bool = False
    extra_responses: dict[int, str] = field(default_factory=dict)


REGISTRY: list[Operation] = []


def register(operation: Operation) -> None:
    REGISTRY.append(operation)


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """``/goals/<int:goal_id>`` → ``/goals/{goal_id}`` and its path parameters."""
    parameters = []
    for converter, name in _RULE_ARG.findall(rule):
        schema: dict[str, Any] = ({"type": "integer", "minimum": 1, "maximum": 2_147_483_647}
                                  if converter == "int" else {"type": "string"})
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return _RULE_ARG.sub(r"{\2}", rule), parameters


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required,
                                     "schema": prop}
        if description:
            parameter["description"] = description
        out.append(parameter)
    return out


def _models() -> list[tuple[type[BaseModel], str]]:
    seen: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for op in REGISTRY:
        if op.body is not None:
            seen[(op.body, "validation")] = None
        if op.answer is not None:
            seen[(op.answer, "serialization")] = None
    return list(seen)


def _responses(op: Operation) -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}
    responses: dict[str, Any] = {}
    if op.answer is not None:
        responses[str(op.status)] = {
            "description": op.answer.__doc__.strip().splitlines()[0] if op.answer.__doc__
            else "OK",
            "content": {"application/json": {"schema": {"$ref": REF.format(
                model=op.answer.__name__)}}}}
    else:
        responses[str(op.status)] = {"description": "Done."}
    codes = set(op.errors) | (set(COMMON_ERRORS) if op.scope else set())
    if op.body is not None:
        codes |= {415, 422}
    if op.query is not None:
        codes.add(422)
    for code in sorted(codes):
        responses[str(code)] = {"description": ERROR_TEXT.get(code, "Error"), "content": problem}
    for code, text in op.extra_responses.items():
        responses[str(code)] = {"description": text}
    return responses


def _operation(op: Operation) -> dict[str, Any]:
    _, path_parameters = openapi_path(op.rule)
    out: dict[str, Any] = {"operationId": op.endpoint, "summary": op.summary, "tags": [op.tag],
                           "responses": _responses(op)}
    if op.description:
        out["description"] = op.description
    parameters = list(path_parameters)
    if op.query is not None:
        parameters += _query_parameters(op.query, {})
    if op.idempotent:
        parameters.append({
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "Any unique string (a UUID): a retried POST with the same key and "
                           "body answers as the first did and creates nothing new.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255,
                       "pattern": "^[\\x21-\\x7e]+$"}})
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model=op.body.__name__)}}}}
    if op.scope is None:
        out["security"] = []
    elif op.scope == "read-write":
        out["description"] = (out.get("description", "") + "\n\nNeeds a read-write token.").strip()
    return out


@cache
def document(version: str) -> dict[str, Any]:
    """The OpenAPI document (built once per process)."""
    spec = APISpec(
        title="DAP API", version=version, openapi_version="3.1.0",
        info={"description": "The Digital Action Plan platform's JSON API: goals, check-ins, "
                             "web time and the time cap, events, notifications, and patrons' "
                             "summaries. Authenticate with a personal access token "
                             "(`Authorization: Bearer dap_…`). Errors are RFC 9457 problem "
                             "details with a stable `code`. See docs/API.md."},
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer",
                                               "description": "A personal access token."})
    _, definitions = models_json_schema(_models(), ref_template=REF)
    for name, schema in sorted(definitions.get("$defs", {}).items()):
        spec.components.schema(name, schema)
    paths: dict[str, dict[str, Any]] = {}
    for op in REGISTRY:
        path, _ = openapi_path(op.rule)
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["security"] = [{"bearer": []}]
    return document
