"""Inviting many people from a CSV: preview with per-row errors, fix, import all or nothing."""

from __future__ import annotations

import io
import time

import pytest
from sqlalchemy import func, select

from dap.accounts.models import User
from dap.cohorts.models import Membership, MembershipStatus, PatronLink
from dap.extensions import db
from dap.nudges.models import OutboxMessage
from tests.conftest import csrf_token, post_form

GOOD = """name,email,team,role,patron email
Ann Able,ann@example.org,Customer Services,participant,pat@example.org
Ben Bold,ben@example.org,customer services,participant,
Pat Patron2,pat@example.org,,patron,
"""


def upload(client, cohort_id, content: bytes | str, action="check", filename="people.csv"):
    data = content.encode() if isinstance(content, str) else content
    return client.post(f"/cohorts/{cohort_id}/people/import", data={
        "csrf_token": csrf_token(client), "action": action,
        "file": (io.BytesIO(data), filename),
    }, content_type="multipart/form-data")


def send_text(client, cohort_id, text: str, action="check"):
    return post_form(client, f"/cohorts/{cohort_id}/people/import",
                     {"csv_text": text, "action": action})


def counts(app, cohort_id):
    with app.app_context():
        members = db.session.scalar(select(func.count()).select_from(Membership).where(
            Membership.cohort_id == cohort_id))
        mails = db.session.scalar(select(func.count()).select_from(OutboxMessage))
        return members, mails


def test_preview_then_import_invites_everyone_and_links_patrons(app, world, role_client):
    facilitator = role_client("facilitator")
    before = counts(app, world["cohort"])
    preview = upload(facilitator, world["cohort"], GOOD)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Every row is fine. Nothing has been imported yet." in page
    assert counts(app, world["cohort"]) == before  # a preview imports nothing

    response = send_text(facilitator, world["cohort"], GOOD, action="import")
    assert response.status_code == 302
    members, mails = counts(app, world["cohort"])
    assert members == before[0] + 3
    assert mails == before[1] + 3
    with app.app_context():
        ann = db.session.scalar(select(User).where(User.email == "ann@example.org"))
        pat = db.session.scalar(select(User).where(User.email == "pat@example.org"))
        link = db.session.scalar(select(PatronLink).where(PatronLink.participant_id == ann.id))
        assert link.patron_id == pat.id
        assert link.source.value == "import"
        statuses = set(db.session.scalars(select(Membership.status).where(
            Membership.user_id.in_([ann.id, pat.id]))))
        assert statuses == {MembershipStatus.INVITED}


def test_bad_rows_are_listed_and_nothing_is_imported_until_fixed(app, world, role_client):
    facilitator = role_client("facilitator")
    with app.app_context():
        existing = db.session.get(User, world["participant"]).email
    bad = (
        "name,email,team,role,patron email\n"
        "Ann Able,ann@example.org,Customer Services,participant,\n"
        "Bad Mail,not-an-email,,participant,\n"
        "Ann Again,ANN@example.org,,participant,\n"
        "No Team,nt@example.org,Astronauts,participant,\n"
        "Lonely,lonely@example.org,,participant,ghost@example.org\n"
        f"Already,{existing},,participant,\n"
        "Odd Role,odd@example.org,,overlord,\n"
    )
    before = counts(app, world["cohort"])
    response = send_text(facilitator, world["cohort"], bad)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "6 rows have problems" in page
    for message in ["not a valid email address", "duplicate: this email is also on line 2",
                    "unknown team “Astronauts”", "unknown patron ghost@example.org",
                    "already in this cohort", "role must be participant, patron or co-facilitator"]:
        assert message in page, message
    assert "Invite 7 people" not in page  # no import button while rows are wrong
    forced = send_text(facilitator, world["cohort"], bad, action="import")
    assert forced.status_code == 400
    assert counts(app, world["cohort"]) == before

    fixed = "name,email,team,role\nAnn Able,ann@example.org,Customer Services,participant\n"
    assert send_text(facilitator, world["cohort"], fixed, action="import").status_code == 302
    assert counts(app, world["cohort"])[0] == before[0] + 1


def test_a_failure_during_import_leaves_nothing_half_imported(app, world, role_client,
                                                               monkeypatch):
    from dap.cohorts import people

    calls = {"n": 0}
    real = people.send_invitation

    def flaky(invitation, *, links):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("mail template exploded")
        return real(invitation, links=links)

    monkeypatch.setattr(people, "send_invitation", flaky)
    before = counts(app, world["cohort"])
    response = send_text(role_client("facilitator"), world["cohort"], GOOD, action="import")
    assert response.status_code == 500
    assert counts(app, world["cohort"]) == before


@pytest.mark.parametrize(("content", "message"), [
    ("name;email;role\nAnn;ann@example.org;participant\n".encode("utf-16"), None),
    ("name,email,role\nZoë,zoe@example.org,participant\n".encode("cp1252"), "not in UTF-8"),
    (b"PK\x03\x04 spreadsheet bytes", "looks like a spreadsheet"),
    (b"", "Choose a CSV file or paste the rows"),
    (b"email,role\nann@example.org,participant\n", "Missing: name"),
    (b"name,email,role\n", "a header but no people"),
    (b"\x00\x01\x02binary", "not in UTF-8"),
])
def test_file_problems_get_a_clear_message(world, role_client, content, message):
    response = upload(role_client("facilitator"), world["cohort"], content)
    page = response.get_data(as_text=True)
    if message is None:  # UTF-16 with a BOM and semicolons is read fine
        assert response.status_code == 200
        assert "Every row is fine" in page
    else:
        assert response.status_code == 400
        assert message in page


def test_ten_thousand_rows_are_refused_quickly_with_the_limit(world, role_client):
    rows = "".join(f"P{i},p{i}@example.org,participant\n" for i in range(10_000))
    started = time.perf_counter()
    response = upload(role_client("facilitator"), world["cohort"], "name,email,role\n" + rows)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert "more than 1,000 rows" in response.get_data(as_text=True)
    assert elapsed < 5


def test_utf8_bom_excel_style_file_and_unicode_names(app, world, role_client):
    content = "\ufeffName,E-mail,Role\r\nZoë Ñúñez,zoe@example.org,Participant\r\n".encode()
    response = upload(role_client("facilitator"), world["cohort"], content)
    assert response.status_code == 200
    assert "Zoë Ñúñez" in response.get_data(as_text=True)


def test_csv_import_is_for_the_cohorts_facilitators_only(app, world, role_client):
    for role in ("participant", "patron"):
        assert send_text(role_client(role), world["cohort"], GOOD).status_code == 404
