"""The "My cohort" page: facilitators, dates, description, visible members, the switcher."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus
from dap.extensions import db
from tests import factories
from tests.conftest import post_form

PLACEHOLDER = "Events appear here once your facilitator schedules them."


def membership(app, cohort_id: int, user_id: int) -> Membership:
    with app.app_context():
        row = db.session.scalar(select(Membership).where(
            Membership.cohort_id == cohort_id, Membership.user_id == user_id))
        db.session.expunge(row)
        return row


@pytest.fixture
def described(app, world):
    """World's cohort with a description (Markdown with a trap) and a named cohort."""
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.name = "Harbour Spring"
        cohort.description = ("Welcome to **Harbour Spring**. See [the guide](https://example.org)."
                              "<script>alert('x')</script><img src=x onerror=alert(1)>")
        db.session.commit()
    return world


@pytest.fixture
def second_cohort(app, world):
    """Another cohort where world's participant is a patron and world's facilitator is not."""
    with app.app_context():
        org = factories.make_organisation("Riverside Trust")
        cohort = factories.make_cohort(org, name="Riverside Autumn")
        lead = factories.make_user(name="Rita Lead", is_facilitator=True)
        factories.add_member(cohort, lead, CohortRole.FACILITATOR)
        factories.add_member(cohort, db.session.get(User, world["participant"]), CohortRole.PATRON)
        stranger = factories.make_user(name="Sid Stranger")
        m = factories.add_member(cohort, stranger, CohortRole.PARTICIPANT)
        m.is_visible = True
        db.session.commit()
        return {"cohort": cohort.id, "lead": lead.id, "stranger": stranger.id}


@pytest.mark.parametrize("role", ["participant", "patron", "facilitator"])
def test_members_see_their_cohort_page(described, role_client, role):
    response = role_client(role).get(f"/cohorts/{described['cohort']}/home")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<h1>Harbour Spring</h1>" in body
    assert "Sam Facilitator" in body
    assert PLACEHOLDER in body
    assert "<strong>Harbour Spring</strong>" in body
    assert 'rel="noopener nofollow ugc"' in body
    assert "<script>alert" not in body
    assert "onerror" not in body


def test_page_shows_the_cohort_dates(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        start = cohort.start_date
    body = role_client("participant").get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert f'<time datetime="{start.isoformat()}">{start.strftime("%d %b %Y")}</time>' in body


def test_only_members_who_chose_to_be_visible_are_listed(app, world, role_client):
    client = role_client("participant")
    body = client.get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    section = body.split('id="members-heading"')[1]
    assert "Pat Patron" not in section
    assert "Nobody has chosen to be shown here yet." in section
    with app.app_context():
        db.session.scalar(select(Membership).where(
            Membership.user_id == world["patron"])).is_visible = True
        db.session.commit()
    section = client.get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True).split(
        'id="members-heading"')[1]
    assert "Pat Patron" in section
    assert "Customer Services" in section  # their team


def test_invited_and_removed_members_are_never_listed(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        for name, status in (("Ina Invited", MembershipStatus.INVITED),
                             ("Rob Removed", MembershipStatus.REMOVED)):
            m = factories.add_member(cohort, factories.make_user(name=name), CohortRole.PARTICIPANT)
            m.status = status
            m.is_visible = True
        db.session.commit()
    body = role_client("participant").get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert "Ina Invited" not in body
    assert "Rob Removed" not in body


def test_member_toggles_their_own_visibility(app, world, role_client):
    client = role_client("participant")
    path = f"/cohorts/{world['cohort']}"
    assert "Show me to other members" in client.get(f"{path}/home").get_data(as_text=True)
    response = post_form(client, f"{path}/visibility", {"visible": "1"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}/home"
    assert membership(app, world["cohort"], world["participant"]).is_visible is True
    body = client.get(f"{path}/home").get_data(as_text=True)
    assert "Other members can now see you" in body
    assert "Hide me from other members" in body
    assert "Alex Participant" in role_client("patron").get(f"{path}/home").get_data(as_text=True)
    assert post_form(client, f"{path}/visibility", {"visible": "0"}).status_code == 303
    assert membership(app, world["cohort"], world["participant"]).is_visible is False
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "member.visibility_changed").order_by(AuditEvent.id)).all()
        assert [e.details["visible"] for e in events] == [True, False]
        assert {e.subject_id for e in events} == {world["participant"]}


def test_visibility_changes_only_ones_own_membership(app, world, role_client):
    post_form(role_client("participant"), f"/cohorts/{world['cohort']}/visibility",
              {"visible": "1", "user_id": str(world["patron"])})
    assert membership(app, world["cohort"], world["patron"]).is_visible is False
    assert membership(app, world["cohort"], world["participant"]).is_visible is True


def test_archived_cohort_page_is_read_only_for_members(app, world, role_client):
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    client = role_client("participant")
    body = client.get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert "This cohort is read-only" in body
    assert "Show me to other members" not in body
    response = post_form(client, f"/cohorts/{world['cohort']}/visibility", {"visible": "1"})
    assert response.status_code == 403
    assert "archived" in response.get_data(as_text=True)
    assert membership(app, world["cohort"], world["participant"]).is_visible is False


def test_admin_can_look_but_has_no_visibility_to_change(app, world, role_client):
    client = role_client("admin")
    assert client.get(f"/cohorts/{world['cohort']}/home").status_code == 200
    assert post_form(client, f"/cohorts/{world['cohort']}/visibility",
                     {"visible": "1"}).status_code == 404


# --- scope -------------------------------------------------------------------------------


def test_people_outside_the_cohort_get_404(app, world, second_cohort, role_client, login_as):
    # a member of another cohort
    with app.app_context():
        stranger = db.session.get(User, second_cohort["stranger"])
        lead = db.session.get(User, second_cohort["lead"])
    for client in (login_as(stranger), login_as(lead), role_client("outsider")):
        assert client.get(f"/cohorts/{world['cohort']}/home").status_code == 404
        assert post_form(client, f"/cohorts/{world['cohort']}/visibility",
                         {"visible": "1"}).status_code == 404
    # world's facilitator does not facilitate the second cohort
    assert role_client("facilitator").get(f"/cohorts/{second_cohort['cohort']}/home").status_code == 404


@pytest.mark.parametrize("status", [MembershipStatus.REMOVED, MembershipStatus.INVITED])
def test_removed_or_not_yet_accepted_members_get_404(app, world, role_client, status):
    client = role_client("participant")
    with app.app_context():
        db.session.scalar(select(Membership).where(
            Membership.user_id == world["participant"])).status = status
        db.session.commit()
    assert client.get(f"/cohorts/{world['cohort']}/home").status_code == 404
    assert post_form(client, f"/cohorts/{world['cohort']}/visibility",
                     {"visible": "1"}).status_code == 404


def test_unknown_cohort_is_404(world, role_client):
    assert role_client("participant").get("/cohorts/999999/home").status_code == 404


# --- several cohorts ------------------------------------------------------------------------


def test_people_in_several_cohorts_get_a_switcher(app, world, second_cohort, role_client):
    client = role_client("participant")
    body = client.get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert 'aria-label="Your cohorts"' in body
    assert f'href="/cohorts/{second_cohort["cohort"]}/home"' in body
    other = client.get(f"/cohorts/{second_cohort['cohort']}/home")
    assert other.status_code == 200
    body = other.get_data(as_text=True)
    assert "<h1>Riverside Autumn</h1>" in body
    assert "Rita Lead" in body
    assert "Sid Stranger" in body
    assert "Sam Facilitator" not in body
    assert 'aria-current="page">Riverside Autumn</a>' in body
    assert "you are a <span class=\"badge badge-patron\">patron</span> here" in body


def test_people_in_one_cohort_see_no_switcher(world, role_client):
    body = role_client("patron").get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert 'aria-label="Your cohorts"' not in body


def test_dashboard_cards_link_to_the_cohort_page(world, second_cohort, role_client):
    body = role_client("participant").get("/").get_data(as_text=True)
    assert f'href="/cohorts/{world["cohort"]}/home"' in body
    assert f'href="/cohorts/{second_cohort["cohort"]}/home"' in body
    assert f'href="/cohorts/{world["cohort"]}"' not in body  # no manager link for members
    facilitator = role_client("facilitator").get("/").get_data(as_text=True)
    assert f'href="/cohorts/{world["cohort"]}"' in facilitator


def test_managers_get_a_link_to_the_overview(world, role_client):
    body = role_client("facilitator").get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert "Manage this cohort" in body
    body = role_client("participant").get(f"/cohorts/{world['cohort']}/home").get_data(as_text=True)
    assert "Manage this cohort" not in body
