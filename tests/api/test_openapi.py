"""The OpenAPI document: valid OpenAPI 3.1, generated from the code, covering every API
route; and schemathesis, which generates requests from it (valid and invalid) and checks
every answer against it: no 500s, no answer outside the document."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode, checks

from dap.accounts.models import User
from dap.extensions import db
from dap.plans import services as plan_services
from dap.plans.models import PlanGoal
from tests.api.conftest import make_token

#: examples per operation in CI: enough to find 500s and schema drift, bounded in time
EXAMPLES = 30


def test_the_document_is_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on any violation of the OpenAPI 3.1 schema


def test_the_document_is_public_and_needs_no_token(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_every_api_route_is_documented_with_its_method(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    documented = {(path, method.upper()) for path, operations in document["paths"].items()
                  for method in operations}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, method) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented


def test_every_operation_says_who_may_call_it_and_how_it_fails(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            assert operation["operationId"].startswith("api.")
            if path == "/api/v1/openapi.json":
                continue
            responses = operation["responses"]
            assert {"401", "403", "404", "429"} <= set(responses), (method, path)
            for code, answer in responses.items():
                if code.startswith(("4", "5")):
                    schema = answer["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}
            if "requestBody" in operation:
                assert {"415", "422"} <= set(responses)


def test_posts_document_the_idempotency_key(client):
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        if "post" in operations:
            names = {p["name"] for p in operations["post"].get("parameters", [])}
            assert "Idempotency-Key" in names, path


# --- schemathesis ---------------------------------------------------------------------------


@pytest.fixture
def api_schema(app, world):
    """The document as schemathesis reads it from the running app, with a participant's
    read-write token and a goal or two to find."""
    with app.app_context():
        from dap.cohorts.models import Cohort

        participant = db.session.get(User, world["participant"])
        cohort = db.session.get(Cohort, world["cohort"])
        plan = plan_services.plan_for(cohort, participant)
        for title in ("Find a bus time online", "Video-call my sister"):
            plan_services.write_goal(plan, actor=participant, title=title)
        db.session.commit()
        goal_ids = list(db.session.scalars(db.select(PlanGoal.id)))
        token = make_token(world["participant"])
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # requests without the token are tests/api/test_auth.py's business (and schemathesis'
    # own ignored_auth check); the token is sent with every generated request
    schema.config.generation.update(with_security_parameters=False)
    # identity: the WSGI transport asks for gzip and br as a browser does, but hands the
    # checks the body without decoding it
    schema.dap_headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
    schema.dap_goal_ids = goal_ids
    return schema


def _operations() -> list[tuple[str, str, GenerationMode]]:
    """Every operation, with valid requests and (where it takes input: parameters or a
    body) invalid ones."""
    from dap.api import blueprint
    from dap.api.spec import REGISTRY, openapi_path

    blueprint()  # every view module imported: the registry is complete
    out = []
    for op in REGISTRY:
        path, path_parameters = openapi_path(op.rule)
        out.append((path, op.method, GenerationMode.POSITIVE))
        if op.query or op.body or path_parameters:
            out.append((path, op.method, GenerationMode.NEGATIVE))
    return sorted(out)


@pytest.mark.parametrize(("path", "method", "mode"), _operations())
def test_the_api_keeps_to_its_document(api_schema, path, method, mode):
    """Valid requests (positive) and requests that break the document (negative) to every
    operation: each answer is one the document describes (status, content type, schema),
    never a 500; invalid data is refused."""
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        # Every check but "schema-valid data is accepted": DAP answers 422 for business
        # rules a schema cannot say (a target date within the cohort, a goal that is
        # one's own, web time within 14 days), each tested in its own module.
        case.call_and_validate(headers=api_schema.dap_headers,
                               excluded_checks=[checks.positive_data_acceptance])

    check()
