"""Compressed answers (dap.core.compression) through the test client: brotli or gzip as the
browser's Accept-Encoding asks (weights, ``identity``, ``*``, refusals), bodies that decode to
exactly the uncompressed answer, small answers and images sent as they are, a streamed CSV
export still streamed, static files still answering 304, the API's JSON and problems, a
garbage header, and the switch that turns it off."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
from datetime import UTC, date, datetime, timedelta

import brotli
import pytest
from PIL import Image
from sqlalchemy import insert, select

from dap.community.models import PostImage
from dap.config import ConfigError, load_config
from dap.core.compression import choose_coding
from dap.extensions import db
from dap.plans.models import CheckIn, Plan, PlanGoal
from tests.api.conftest import make_token
from tests.conftest import post_form

NOW = datetime(2026, 6, 20, 12, 0, tzinfo=UTC)
CSS = "/static/css/app.css"
#: the signed CSRF token carries a timestamp: two renderings of a page differ only there
TOKEN_RE = re.compile(rb'(name="csrf_token" value|name="csrf-token" content)="[^"]*"')


def decode(response) -> bytes:
    """The body as the browser reads it, whatever the coding."""
    body = response.get_data()
    coding = response.headers.get("Content-Encoding")
    if coding == "br":
        return brotli.decompress(body)
    if coding == "gzip":
        return gzip.decompress(body)
    assert coding is None, coding
    return body


def same_page(body: bytes) -> bytes:
    return TOKEN_RE.sub(rb'\1="-"', body)


def vary(response) -> set[str]:
    return {v.strip().lower() for v in response.headers.get("Vary", "").split(",")}


# --- which coding --------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "coding"), [
    ("gzip, deflate, br, zstd", "br"),  # what Chromium sends
    ("gzip, deflate", "gzip"),
    ("br", "br"),
    ("gzip", "gzip"),
    ("GZIP", "gzip"),
    ("x-gzip", "gzip"),
    ("br;q=0.5, gzip", "gzip"),  # the higher weight wins…
    ("br;q=0.8, gzip;q=0.8", "br"),  # …a tie goes to brotli
    ("gzip; q=0.5, br;q=0.4", "gzip"),  # spaces around the weight
    ("gzip;q=0", None),  # q=0 refuses
    ("br;q=0, gzip", "gzip"),
    ("br;q=0, gzip;q=0", None),
    ("gzip;q=0, *", "br"),  # * is for the codings not named
    ("br;q=0, *", "gzip"),
    ("br;q=0, gzip;q=0, *;q=1", None),
    ("*", "br"),
    ("*;q=0", None),
    ("identity", None),
    ("identity;q=1, *;q=0", None),  # Chromium's byte-range requests
    ("deflate, zstd", None),  # codings DAP does not send
    ("", None),
    (";;;,,, q=, ;q=x", None),
    ("gzip;q=abc", None),  # a malformed weight is no weight
])
def test_the_coding_follows_accept_encoding(header, coding):
    assert choose_coding(header) == coding


# --- pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "coding"), [
    ("gzip, deflate, br", "br"),
    ("br;q=0.5, gzip", "gzip"),
    ("gzip;q=0", None),
    ("identity", None),
    ("*", "br"),
    (None, None),
])
def test_a_page_is_compressed_as_asked_and_decodes_to_the_same_page(role_client, header, coding):
    client = role_client("participant")
    client.get("/")  # the welcome after signing in, shown once
    plain = client.get("/")
    assert plain.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert "accept-encoding" in vary(plain)
    response = client.get("/", headers={"Accept-Encoding": header} if header else {})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == coding
    assert "accept-encoding" in vary(response)
    assert "cookie" in vary(response)  # the session's Vary is kept beside it
    assert int(response.headers["Content-Length"]) == len(response.get_data())
    assert same_page(decode(response)) == same_page(plain.get_data())
    if coding:
        assert len(response.get_data()) < len(plain.get_data()) / 2
    assert response.headers["Content-Security-Policy"] == plain.headers["Content-Security-Policy"]


def test_head_says_how_the_page_would_come(client):
    response = client.head("/login", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.get_data() == b""


def test_small_answers_are_sent_as_they_are(client):
    response = client.get("/healthz", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.get_data() == b"ok"
    assert "accept-encoding" in vary(response)  # a cache must still tell them apart


def test_a_redirect_is_not_compressed(client):
    response = client.get("/account", headers={"Accept-Encoding": "br"})
    assert response.status_code == 302
    assert "Content-Encoding" not in response.headers


def test_an_error_page_is_compressed_too(client):
    plain = client.get("/no-such-page")
    response = client.get("/no-such-page", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 404
    assert response.headers["Content-Encoding"] == "gzip"
    assert "accept-encoding" in vary(response)
    assert decode(response) == plain.get_data()


@pytest.mark.parametrize("header", [
    ";;;,,,;q=",
    "gzip;q=abc, br;q=-1",
    "br;q=2",
    "\t gzip \t",
    "bröt li".encode().decode("latin-1"),
    "x" * 8000,
    ", ".join(f"coding{i};q=0.{i % 10}" for i in range(500)),
])
def test_a_garbage_header_still_gets_a_valid_page(client, header):
    plain = client.get("/login")
    response = client.get("/login", headers={"Accept-Encoding": header})
    assert response.status_code == 200
    assert same_page(decode(response)) == same_page(plain.get_data())


# --- static files --------------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_css_is_compressed_and_still_answers_304(client, coding):
    plain = client.get(CSS)
    first = client.get(CSS, headers={"Accept-Encoding": coding})
    assert first.status_code == 200
    assert first.headers["Content-Encoding"] == coding
    assert decode(first) == plain.get_data()
    etag = first.headers["ETag"]
    assert etag != plain.headers["ETag"]  # one validator per coding
    assert etag.endswith(f':{coding}"')
    again = client.get(CSS, headers={"Accept-Encoding": coding, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    # the other coding's validator does not match: the file comes again, in this coding
    other = "gzip" if coding == "br" else "br"
    switched = client.get(CSS, headers={"Accept-Encoding": other, "If-None-Match": etag})
    assert switched.status_code == 200
    assert decode(switched) == plain.get_data()
    for response in (plain, first, again, switched):
        response.close()  # as a server does: the file under each answer is closed


def test_uncompressed_css_still_answers_304(client):
    plain = client.get(CSS)
    again = client.get(CSS, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304
    assert "Content-Encoding" not in again.headers
    for response in (plain, again):
        response.close()


def test_a_byte_range_is_of_the_stored_file(client):
    plain = client.get(CSS)
    part = client.get(CSS, headers={"Accept-Encoding": "br", "Range": "bytes=0-99"})
    assert part.status_code == 206
    assert "Content-Encoding" not in part.headers
    assert part.get_data() == plain.get_data()[:100]
    for response in (plain, part):
        response.close()


def test_javascript_is_compressed(client):
    plain = client.get("/static/js/heartbeat.js")
    response = client.get("/static/js/heartbeat.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    if len(plain.get_data()) >= 500:
        assert response.headers["Content-Encoding"] == "br"
    assert decode(response) == plain.get_data()
    for r in (plain, response):
        r.close()


def noise_png(size: int = 64) -> bytes:
    """A PNG that no coding could shrink, well over the smallest size compressed."""
    out = io.BytesIO()
    Image.frombytes("RGB", (size, size), os.urandom(size * size * 3)).save(out, "PNG")
    return out.getvalue()


def test_images_are_never_compressed(app, world, role_client):
    author = role_client("participant")
    response = post_form(author, f"/cohorts/{world['cohort']}/feed", {
        "kind": "recap", "body": "The noise of the litter pick",
        "image_description": "Static", "images": [(io.BytesIO(noise_png()), "noise.png")]},
        content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        image = db.session.scalars(select(PostImage)).one()
        address = f"/cohorts/{world['cohort']}/feed/{image.post_id}/images/{image.id}"
    plain = author.get(address)
    asked = author.get(address, headers={"Accept-Encoding": "br, gzip"})
    assert asked.status_code == 200
    assert asked.mimetype.startswith("image/")
    assert len(asked.get_data()) > 500
    assert "Content-Encoding" not in asked.headers
    assert asked.get_data() == plain.get_data()
    for r in (plain, asked):
        r.close()


# --- streamed CSV --------------------------------------------------------------------------

ROWS = 12_000


@pytest.fixture
def big_export(app, world, frozen, role_client):
    """A cohort's check-ins export of about 1.5 MB, and a facilitator to download it."""
    frozen(NOW)
    with app.app_context():
        plan = Plan(cohort_id=world["cohort"], participant_id=world["participant"])
        db.session.add(plan)
        db.session.flush()
        goal = PlanGoal(plan_id=plan.id, title="Little and often")
        db.session.add(goal)
        db.session.flush()
        db.session.execute(insert(CheckIn), [
            {"plan_id": plan.id, "goal_id": goal.id,
             "local_date": date(2026, 1, 1) + timedelta(days=i % 170),
             "created_at": NOW - timedelta(minutes=i), "progress": (i * 37) % 101,
             "minutes": 1 + (i * 7919) % 600, "note": f"Check-in {i}: Zoë tried {i * 31 % 977}",
             "created_by_id": world["participant"]}
            for i in range(ROWS)])
        db.session.commit()
    return role_client("facilitator"), f"/cohorts/{world['cohort']}/exports/checkins.csv"


@pytest.mark.parametrize("coding", ["br", "gzip"])
def test_a_streamed_export_streams_compressed_and_decodes_whole(big_export, coding):
    client, address = big_export
    plain = client.get(address).get_data()
    assert plain.count(b"\n") == ROWS + 1
    response = client.get(address, headers={"Accept-Encoding": coding})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Encoding"] == coding
    assert "Content-Length" not in response.headers  # sent as it is made
    assert response.mimetype == "text/csv"
    chunks = [chunk for chunk in response.response if chunk]
    response.close()
    # compressed piece by piece as the rows are read, never gathered whole first
    assert len(chunks) >= 2, [len(c) for c in chunks]
    body = b"".join(chunks)
    assert len(body) < len(plain) / 3
    whole = brotli.decompress(body) if coding == "br" else gzip.decompress(body)
    assert whole == plain
    assert whole.startswith("\ufeffparticipant,".encode())


def test_a_streamed_export_is_plain_without_accept_encoding(big_export):
    client, address = big_export
    response = client.get(address)
    assert "Content-Encoding" not in response.headers
    chunks = iter(response.response)
    assert next(chunks).startswith("\ufeffparticipant,".encode())
    assert next(chunks).count(b"\n") == 500  # the export's own chunks, untouched
    response.close()


# --- the API -------------------------------------------------------------------------------


def test_api_json_is_compressed_and_still_valid(app, world, client):
    with app.app_context():
        token = make_token(world["participant"])
    plain = client.get("/api/v1/openapi.json")
    response = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert json.loads(decode(response)) == plain.get_json()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}",
                                            "Accept-Encoding": "gzip"})
    assert me.status_code == 200
    assert json.loads(decode(me))["id"] == world["participant"]


def test_a_long_problem_is_compressed_and_still_valid(app, world, client):
    with app.app_context():
        token = make_token(world["participant"])
    body = {"goal_id": "x", "progress": "y", "minutes": "z", "note": 5,
            **{f"unknown_{i}": i for i in range(30)}}
    headers = {"Authorization": f"Bearer {token}"}
    plain = client.post("/api/v1/check-ins", json=body, headers=headers)
    assert plain.status_code == 422
    assert len(plain.get_data()) > 500
    response = client.post("/api/v1/check-ins", json=body,
                           headers={**headers, "Accept-Encoding": "gzip, br"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.headers["Content-Encoding"] == "br"
    assert "accept-encoding" in vary(response)
    assert json.loads(decode(response)) == plain.get_json()
    assert int(response.headers["Content-Length"]) == len(response.get_data())


def test_a_short_problem_is_sent_as_it_is(client):
    response = client.get("/api/v1/me", headers={"Accept-Encoding": "br"})
    assert response.status_code == 401
    assert "Content-Encoding" not in response.headers
    assert response.get_json()["status"] == 401


# --- the switch ----------------------------------------------------------------------------


def test_compression_can_be_turned_off(make_app):
    client = make_app(COMPRESS_REGISTER=False).test_client()
    response = client.get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    css = client.get(CSS, headers={"Accept-Encoding": "br"})
    assert "Content-Encoding" not in css.headers
    css.close()


@pytest.mark.parametrize(("value", "on"), [(None, True), ("", True), ("1", True), ("true", True),
                                           ("0", False), ("false", False), ("off", False)])
def test_dap_compress_reads_yes_or_no(value, on):
    environ = {} if value is None else {"DAP_COMPRESS": value}
    assert load_config(environ)["COMPRESS_REGISTER"] is on


@pytest.mark.parametrize("value", ["sometimes", "2", "brotli"])
def test_a_bad_dap_compress_stops_start_up(value):
    with pytest.raises(ConfigError, match="DAP_COMPRESS must be true or false"):
        load_config({"DAP_COMPRESS": value})
