"""Errors speak problem+json under /api, with stable codes; the per-token rate limit."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.api.conftest import Api, problem


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api/v2/me", "/api/", "/api"])
def test_unknown_api_paths_are_problem_404s(client, path):
    problem(client.get(path), 404, "not_found")


def test_a_wrong_method_is_405_with_allow(api):
    response = api("participant").client.delete("/api/v1/goals")
    problem(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_ids_beyond_a_database_integer_are_404(api):
    problem(api("participant").get("/goals/99999999999"), 404, "not_found")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_body_that_is_not_json_is_415(api, content_type):
    response = api("participant").post("/goals", data='{"title": "x"}',
                                       content_type=content_type)
    problem(response, 415, "unsupported_media_type")


def test_json_with_a_charset_and_vendor_types_is_read(api):
    client = api("participant")
    assert client.post("/goals", data='{"title": "One"}',
                       content_type="application/json; charset=utf-8").status_code == 201
    assert client.post("/goals", data='{"title": "Two"}',
                       content_type="application/merge-patch+json").status_code == 201


def test_a_huge_body_is_413(api):
    body = '{"title": "' + "x" * 70_000 + '"}'
    problem(api("participant").post("/goals", data=body, content_type="application/json"),
             413, "too_large")


@pytest.mark.parametrize("body", ["", "{", "[1,", "nul", '{"title": "x"} trailing', "\xff"])
def test_unreadable_json_is_400(api, body):
    problem(api("participant").post("/goals", data=body, content_type="application/json"),
             400, "invalid_json")


@pytest.mark.parametrize("body", ["[]", "42", '"text"', "null", "true"])
def test_json_that_is_not_an_object_is_422(api, body):
    body = problem(api("participant").post("/goals", data=body,
                                           content_type="application/json"),
                   422, "validation_failed")
    assert body["errors"][0]["field"] == "body"


def test_validation_problems_name_each_field(api):
    body = problem(api("participant").post(
        "/web-activities", json={"kind": "sang", "title": 7, "minutes": "30", "extra": 1}),
        422, "validation_failed")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"kind", "title", "minutes", "extra"}
    assert all(e["message"] and e["code"] for e in body["errors"])


def test_an_unexpected_error_is_a_problem_500_without_details(app, api, monkeypatch):
    from dap.plans import services

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(services, "write_goal", boom)
    response = api("participant").post("/goals", json={"title": "Boom"})
    body = problem(response, 500, "server_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "detail" not in body


def test_a_database_outage_is_a_problem_503(app, api, monkeypatch):
    from dap.plans import services

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(services, "write_goal", down)
    response = api("participant").post("/goals", json={"title": "Later"})
    problem(response, 503, "unavailable")
    # at least the 30 s the handler asks for (the rate limiter may ask for longer)
    assert int(response.headers["Retry-After"]) >= 30


def test_answers_are_not_cached(api):
    assert api("participant").get("/me").headers["Cache-Control"] == "no-store"


def test_the_web_pages_keep_their_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


# --- rate limit ---------------------------------------------------------------------------------


def test_each_answer_carries_the_rate_limit(api):
    response = api("participant").get("/me")
    assert response.headers["X-RateLimit-Limit"] == "300"
    assert response.headers["RateLimit-Policy"] == '"token";q=300;w=60'
    assert response.headers["RateLimit"].startswith('"token";r=299;t=')


def test_a_token_over_its_limit_gets_429_and_others_do_not(app, api):
    app.config["API_RATE_LIMIT"] = "3 per minute"
    client = api("participant")
    assert [client.get("/me").status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/goals")  # the limit is per token, across endpoints
    problem(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert api("patron").get("/me").status_code == 200


def test_requests_without_a_token_are_limited_per_address(app):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    client = Api(app.test_client(), None)
    assert [client.get("/me").status_code for _ in range(2)] == [401, 401]
    problem(client.get("/me"), 429, "rate_limited")


def test_a_bad_rate_limit_setting_stops_start_up():
    from dap.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="DAP_API_RATE_LIMIT"):
        load_config({"DAP_API_RATE_LIMIT": "lots"})
    assert load_config({"DAP_API_RATE_LIMIT": "1000 per hour"})["API_RATE_LIMIT"] == "1000 per hour"


@pytest.mark.parametrize("method", ["GET", "PATCH", "POST", "DELETE"])
@pytest.mark.parametrize("goal_id", ["2147483648", "9999999999", "423282641385", "007"])
def test_an_id_no_database_holds_is_404_for_every_method(api, method, goal_id):
    """Not 405: the id's limit is in the route's pattern, so no rule matches the path."""
    response = api("participant").client.open(f"/api/v1/goals/{goal_id}", method=method,
                                              json={}, headers=api("participant").headers())
    problem(response, 404, "not_found")


def test_the_id_pattern_stops_at_the_limit():
    import re

    from dap.app import digits_up_to

    for limit in (0, 9, 10, 255, 1000, 2_147_483_647):
        pattern = re.compile(digits_up_to(limit) + "$")
        probes = {0, 1, 9, 10, 99, 100, limit - 1, limit, limit + 1, limit * 10}
        for number in (n for n in probes if n >= 0):
            assert bool(pattern.match(str(number))) == (number <= limit), (limit, number)
        assert not pattern.match("01")


@pytest.mark.parametrize("cursor", ["0", "1", "2147483647", "2147483648", "9999999999"])
def test_every_cursor_the_document_allows_is_a_page(api, cursor):
    """Never an error, on either database (a cursor beyond a database integer once
    overflowed PostgreSQL's comparison)."""
    client = api("participant")
    client.post("/goals", json={"title": "Read a bus timetable online"})
    response = client.get(f"/goals?cursor={cursor}")
    assert response.status_code == 200
    expected = 0 if cursor in ("0", "1") else 1
    assert len(response.get_json()["items"]) == expected
