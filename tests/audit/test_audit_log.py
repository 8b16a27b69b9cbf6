"""Reading the audit log: admins everything, a cohort's managers their cohort; filters,
paging, CSV, and no query per row."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.audit.queries import describe
from dap.cohorts.models import CohortRole
from dap.extensions import db
from tests import factories
from tests.conftest import counting_queries

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add_event(action: str, *, at: datetime = T0, actor: int | None = None, subject: int | None = None,
              cohort: int | None = None, **details) -> None:
    db.session.add(AuditEvent(action=action, at=at, actor_id=actor, subject_id=subject,
                              cohort_id=cohort, details=details))
    db.session.flush()


@pytest.fixture
def events(app, world):
    """A handful of events in world's cohort, one in another cohort, one by the system."""
    with app.app_context():
        other = factories.make_cohort(name="Other Cohort")
        w = world
        add_event("invitation.sent", at=T0, actor=w["facilitator"], subject=w["participant"],
                  cohort=w["cohort"], role="participant")
        add_event("patron.linked", at=T0 + timedelta(minutes=1), actor=w["facilitator"],
                  subject=w["participant"], cohort=w["cohort"], source="facilitator")
        add_event("membership.removed", at=T0 + timedelta(minutes=2), actor=w["facilitator"],
                  subject=w["patron"], cohort=w["cohort"], role="patron")
        add_event("goal.adopted", at=T0 + timedelta(minutes=3), actor=w["participant"],
                  subject=w["participant"], cohort=w["cohort"], note="=HYPERLINK(\"x\")")
        add_event("invitation.revoked", at=T0 + timedelta(minutes=4), actor=w["admin"],
                  subject=w["outsider"], cohort=other.id)
        add_event("organisation.created", at=T0 + timedelta(minutes=5), actor=None, name="Acme")
        db.session.commit()
        return {"other": other.id}


def rows_of(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in page else ""
    return re.findall(r"<code>([a-z_.]+)</code>", body)


def read_csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))



# --- the admin's log -------------------------------------------------------------------------


def test_admin_sees_every_event_newest_first(world, events, role_client):
    page = role_client("admin").get("/admin/audit").get_data(as_text=True)
    assert rows_of(page) == ["organisation.created", "invitation.revoked", "goal.adopted",
                             "membership.removed", "patron.linked", "invitation.sent"]
    assert "6 events." in page


def test_each_event_reads_as_when_who_what_whom_and_details(world, events, role_client):
    page = role_client("admin").get("/admin/audit").get_data(as_text=True)
    assert "<td>DAP</td>" in page  # no actor: the system
    assert "<td>Sam Facilitator</td>" in page
    assert "Removed someone from the cohort" in page
    assert "<td>Pat Patron</td>" in page
    assert "Goal adopted" in page  # an action with no sentence of its own
    assert "<dt>role</dt><dd>patron</dd>" in page
    assert "<dt>note</dt><dd>=HYPERLINK(&#34;x&#34;)</dd>" in page  # escaped on the page
    assert "Other Cohort" in page


def test_times_are_shown_in_the_viewers_time_zone(app, world, events, role_client):
    with app.app_context():
        db.session.get(User, world["admin"]).timezone = "Asia/Tokyo"
        db.session.commit()
    page = role_client("admin").get("/admin/audit?action=invitation.sent").get_data(as_text=True)
    assert "Mon 02 Mar 2026, 18:00" in page  # 09:00 UTC
    assert "Asia/Tokyo" in page


def test_sentences_fall_back_to_the_actions_words():
    assert describe("user.deleted") == "Deleted an account"
    assert describe("plan.goal_adopted") == "Plan goal adopted"
    assert describe("") == "Something happened"


def test_filter_by_action_prefix(world, events, role_client):
    page = role_client("admin").get("/admin/audit?action=invitation.").get_data(as_text=True)
    assert rows_of(page) == ["invitation.revoked", "invitation.sent"]
    assert rows_of(role_client("admin").get("/admin/audit?action=INVITATION.SENT").get_data(
        as_text=True)) == ["invitation.sent"]


def test_filter_by_person_email_matches_actor_or_subject(app, world, events, role_client):
    with app.app_context():
        patron_email = db.session.get(User, world["patron"]).email
        admin_email = db.session.get(User, world["admin"]).email
    client = role_client("admin")
    assert rows_of(client.get(f"/admin/audit?person={patron_email.upper()}").get_data(as_text=True)) == [
        "membership.removed"]
    assert rows_of(client.get(f"/admin/audit?person={admin_email}&action=invitation").get_data(
        as_text=True)) == ["invitation.revoked"]


@pytest.mark.parametrize("query", [
    "action=%25", "action=_", "action=%5C", "person=%25", "person=_%40", "action=%00%01z",
    "action=" + "x" * 10_000, "person=" + "é" * 10_000,
    "action=%27%3B%20DROP%20TABLE%20audit_events%3B--", "person=%E2%80%AE%F0%9F%98%80",
])
def test_odd_and_huge_filters_match_literally_and_never_fail(world, events, role_client, query):
    response = role_client("admin").get("/admin/audit?" + query)
    assert response.status_code == 200
    assert rows_of(response.get_data(as_text=True)) == []


def test_control_characters_are_dropped_from_filters(world, events, role_client):
    client = role_client("admin")
    page = client.get("/admin/audit?action=%00invitation.sent%0A").get_data(as_text=True)
    assert rows_of(page) == ["invitation.sent"]
    assert len(rows_of(client.get("/admin/audit?person=%00%1F").get_data(as_text=True))) == 6


@pytest.fixture
def many_events(app, world):
    with app.app_context():
        for i in range(120):
            add_event("invitation.sent", at=T0 + timedelta(seconds=i), actor=world["facilitator"],
                      subject=world["participant"], cohort=world["cohort"], n=i)
        db.session.commit()


def page_numbers(page: str) -> list[str]:
    return re.findall(r"<dt>n</dt><dd>(\d+)</dd>", page)


def test_the_log_is_paged_fifty_at_a_time(world, many_events, role_client):
    client = role_client("admin")
    first = client.get("/admin/audit").get_data(as_text=True)
    assert page_numbers(first) == [str(i) for i in range(119, 69, -1)]
    assert "Page 1 of 3" in first
    assert 'href="/admin/audit?page=2"' in first
    third = client.get("/admin/audit?page=3").get_data(as_text=True)
    assert page_numbers(third) == [str(i) for i in range(19, -1, -1)]


@pytest.mark.parametrize(("query", "shown"), [
    ("page=0", 1), ("page=-4", 1), ("page=abc", 1), ("page=", 1), ("page=2.5", 1),
    ("page=4", 3), ("page=99999999999999999999999", 3),
])
def test_page_numbers_out_of_range_show_the_nearest_page(world, many_events, role_client, query, shown):
    response = role_client("admin").get("/admin/audit?" + query)
    assert response.status_code == 200
    assert f"Page {shown} of 3" in response.get_data(as_text=True)


def test_paging_keeps_the_filters(world, many_events, role_client):
    page = role_client("admin").get("/admin/audit?action=invitation&person=example").get_data(as_text=True)
    assert 'href="/admin/audit?page=2&amp;action=invitation&amp;person=example"' in page


def test_an_empty_log_says_so(world, role_client):
    page = role_client("admin").get("/admin/audit").get_data(as_text=True)
    assert "Nothing has been recorded yet." in page
    assert "No events match." in role_client("admin").get("/admin/audit?action=zzz").get_data(
        as_text=True)


def test_page_queries_do_not_grow_with_the_number_of_people(app, world, role_client):
    client = role_client("admin")
    client.get("/admin/audit")  # warm up: first request of a client loads more

    def queries_for_page() -> int:
        with counting_queries(app) as statements:
            assert client.get("/admin/audit").status_code == 200
        return len(statements)

    with app.app_context():
        add_event("invitation.sent", actor=world["facilitator"], subject=world["participant"],
                  cohort=world["cohort"])
        db.session.commit()
    few = queries_for_page()
    with app.app_context():
        for _ in range(40):
            actor, subject = factories.make_user(), factories.make_user()
            cohort = factories.make_cohort()
            add_event("invitation.sent", actor=actor.id, subject=subject.id, cohort=cohort.id)
        db.session.commit()
    assert queries_for_page() == few


def test_only_admins_read_the_whole_log(world, role_client):
    for role in ("participant", "patron", "facilitator"):
        assert role_client(role).get("/admin/audit").status_code == 403
        assert role_client(role).get("/admin/audit.csv").status_code == 403
    assert role_client("anonymous").get("/admin/audit").status_code == 302


def test_the_nav_links_to_the_log_for_admins_only(world, role_client):
    assert 'href="/admin/audit"' in role_client("admin").get("/").get_data(as_text=True)
    assert 'href="/admin/audit"' not in role_client("facilitator").get("/").get_data(as_text=True)


# --- CSV -------------------------------------------------------------------------------------


def test_admin_downloads_the_filtered_log_as_safe_csv(app, world, events, role_client, frozen):
    frozen(T0 + timedelta(days=1))
    response = role_client("admin").get("/admin/audit.csv?action=goal")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="dap-audit-2026-03-03.csv"'
    rows = read_csv(response)
    assert len(rows) == 1
    row = rows[0]
    assert row["time_utc"] == "2026-03-02T09:03:00+00:00"
    assert row["time_local"] == "2026-03-02T09:03:00+00:00"  # Europe/London in March
    assert (row["actor"], row["action"], row["description"], row["subject"]) == (
        "Alex Participant", "goal.adopted", "Goal adopted", "Alex Participant")
    assert row["details"] == '{"note": "=HYPERLINK(\\"x\\")"}'


def test_csv_cells_that_would_run_as_formulas_are_neutralised(app, world, role_client):
    with app.app_context():
        evil = factories.make_user(name="=cmd|' /C calc'!A0")
        add_event("member.managed_created", actor=evil.id, subject=evil.id, cohort=world["cohort"])
        db.session.commit()
    row = read_csv(role_client("admin").get("/admin/audit.csv"))[0]
    assert row["actor"] == "'=cmd|' /C calc'!A0"
    assert row["subject"] == "'=cmd|' /C calc'!A0"


def test_csv_times_are_also_given_in_the_viewers_zone(app, world, events, role_client):
    with app.app_context():
        db.session.get(User, world["admin"]).timezone = "America/New_York"
        db.session.commit()
    row = read_csv(role_client("admin").get("/admin/audit.csv?action=invitation.sent"))[0]
    assert row["time_local"] == "2026-03-02T04:00:00-05:00"


# --- a cohort's log --------------------------------------------------------------------------


def test_facilitator_reads_only_their_cohorts_events(world, events, role_client):
    page = role_client("facilitator").get(f"/cohorts/{world['cohort']}/audit").get_data(as_text=True)
    assert rows_of(page) == ["goal.adopted", "membership.removed", "patron.linked", "invitation.sent"]
    assert "Other Cohort" not in page
    rows = read_csv(role_client("facilitator").get(f"/cohorts/{world['cohort']}/audit.csv"))
    assert [r["action"] for r in rows] == ["goal.adopted", "membership.removed", "patron.linked",
                                           "invitation.sent"]


def test_cohort_log_filters_and_pages_within_the_cohort(world, events, role_client):
    client = role_client("facilitator")
    page = client.get(f"/cohorts/{world['cohort']}/audit?action=invitation&page=9").get_data(as_text=True)
    assert rows_of(page) == ["invitation.sent"]
    response = client.get(f"/cohorts/{world['cohort']}/audit.csv?action=patron")
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="dap-audit-cohort-{world["cohort"]}-')
    assert [r["action"] for r in read_csv(response)] == ["patron.linked"]


def test_admins_read_any_cohorts_log(world, events, role_client):
    page = role_client("admin").get(f"/cohorts/{events['other']}/audit").get_data(as_text=True)
    assert rows_of(page) == ["invitation.revoked"]


def test_a_co_facilitator_without_the_site_flag_reads_their_cohorts_log(app, world, events, login_as):
    with app.app_context():
        co = factories.make_user(name="Co Facilitator")
        factories.add_member(db.session.get(factories.Cohort, world["cohort"]), co, CohortRole.FACILITATOR)
        db.session.commit()
        client = login_as(co)
    assert client.get(f"/cohorts/{world['cohort']}/audit").status_code == 200
    assert client.get(f"/cohorts/{events['other']}/audit").status_code == 404


@pytest.mark.parametrize("suffix", ["audit", "audit.csv"])
def test_others_get_404_for_a_cohorts_log(world, events, role_client, suffix):
    cohort, other = world["cohort"], events["other"]
    for role in ("participant", "patron"):
        assert role_client(role).get(f"/cohorts/{cohort}/{suffix}").status_code == 404
    assert role_client("facilitator").get(f"/cohorts/{other}/{suffix}").status_code == 404
    assert role_client("admin").get(f"/cohorts/999999/{suffix}").status_code == 404
    response = role_client("anonymous").get(f"/cohorts/{cohort}/{suffix}")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_a_removed_facilitator_gets_404(app, world, events, role_client):
    from dap.cohorts.models import Membership, MembershipStatus

    client = role_client("facilitator")
    with app.app_context():
        membership = db.session.query(Membership).filter_by(user_id=world["facilitator"]).one()
        membership.status = MembershipStatus.REMOVED
        db.session.commit()
    assert client.get(f"/cohorts/{world['cohort']}/audit").status_code == 404


def test_a_deleted_users_events_are_attributed_to_deleted_user(app, world, role_client):
    from tests.conftest import post_form

    with app.app_context():
        factories.make_user(name="Second Admin", is_admin=True)
        db.session.commit()
    post_form(role_client("participant"), "/account/delete", {"password": factories.PASSWORD})
    page = role_client("facilitator").get(f"/cohorts/{world['cohort']}/audit").get_data(as_text=True)
    assert "Alex Participant" not in page
    assert "<td>Deleted user</td>" in page
    assert "account deleted" in page
