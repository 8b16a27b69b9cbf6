"""Setting up a programme: organisations, teams, cohorts, co-facilitators, archiving."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from dap.audit.models import AuditEvent
from dap.cohorts.models import Cohort, CohortRole, Membership, MembershipStatus, Organisation, Team
from dap.extensions import db
from tests import factories
from tests.conftest import counting_queries, post_form, sign_in

# --- helpers ----------------------------------------------------------------------------


def cohort_form(organisation_id: int, /, **changes) -> dict:
    """A valid cohort form, with ``changes`` applied."""
    data = {
        "name": "Spring 2026",
        "organisation_id": str(organisation_id),
        "description": "Welcome! **Little and often.**",
        "start_date": "2026-03-02",
        "end_date": "2026-06-26",
        "timezone": "Europe/London",
        "is_volunteer": "y",
        "platform_minutes_per_week": "90",
        "web_share": "60",
        "grace_minutes": "20",
        "silent_after_days": "14",
        "support_bookings_max": "2",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def cohort_row(app, cohort_id: int) -> Cohort:
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        db.session.expunge(cohort)
        return cohort


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))



@pytest.fixture
def other(app, world):
    """A second facilitator with their own cohort, plus an archived organisation."""
    with app.app_context():
        org = factories.make_organisation("Elsewhere Trust")
        team = factories.make_team(org, "Policy")
        cohort = factories.make_cohort(org, name="Elsewhere Autumn")
        facilitator = factories.make_user(name="Fran Other", email="fran@example.org",
                                          is_facilitator=True)
        member = factories.make_user(name="Mo Member")
        factories.add_member(cohort, facilitator, CohortRole.FACILITATOR)
        factories.add_member(cohort, member, CohortRole.PARTICIPANT, team)
        archived_org = factories.make_organisation("Closed Council")
        archived_org.is_archived = True
        db.session.commit()
        return {"organisation": org.id, "team": team.id, "cohort": cohort.id,
                "facilitator": facilitator.id, "member": member.id,
                "archived_org": archived_org.id}


@pytest.fixture
def fran(app, other, login_as):
    from dap.accounts.models import User

    with app.app_context():
        return login_as(db.session.get(User, other["facilitator"]))


# --- organisations and teams --------------------------------------------------------------


def test_facilitator_creates_an_organisation_and_sees_it_listed(app, world, role_client):
    client = role_client("facilitator")
    response = post_form(client, "/organisations", {"name": "  Northshire   County Council "})
    assert response.status_code == 303
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(
            Organisation.name == "Northshire County Council"))
        assert org is not None
    assert response.headers["Location"] == f"/organisations/{org.id}"
    assert "Northshire County Council" in client.get("/organisations").get_data(as_text=True)
    assert "organisation.created" in audit_actions(app)


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter a name for the organisation"),
    ("   ", "Enter a name for the organisation"),
    ("x" * 161, "at most 160 characters"),
    ("Bad\x00Name", "control characters"),
    ("Bad\x07Bell", "control characters"),
])
def test_bad_organisation_names_are_refused(app, world, role_client, name, message):
    before = count(app, Organisation)
    response = post_form(role_client("facilitator"), "/organisations", {"name": name})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Organisation) == before


@pytest.mark.parametrize(("existing", "new"), [
    ("Northshire Council", "northshire council"),
    ("Northshire Council", "NORTHSHIRE  COUNCIL"),
    ("École Normale", "école normale"),  # non-ASCII: SQL lower() would miss this one
    ("ΣΊΣΥΦΟΣ Ltd", "σίσυφος ltd"),  # Greek final sigma folds too
])
def test_organisation_names_are_unique_ignoring_case(app, world, role_client, existing, new):
    with app.app_context():
        factories.make_organisation(existing)
        db.session.commit()
    before = count(app, Organisation)
    response = post_form(role_client("facilitator"), "/organisations", {"name": new})
    assert response.status_code == 400
    assert "already an organisation with this name" in response.get_data(as_text=True)
    assert count(app, Organisation) == before


def test_unicode_organisation_name_is_kept(app, world, role_client):
    post_form(role_client("facilitator"), "/organisations", {"name": "Zoë’s Ñandú Trust 李"})
    assert count(app, Organisation, Organisation.name == "Zoë’s Ñandú Trust 李") == 1


def test_rename_organisation(app, world, role_client):
    client = role_client("facilitator")
    path = f"/organisations/{world['organisation']}"
    assert client.get(path).status_code == 200
    response = post_form(client, path, {"org-name": "Renamed Borough"})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Organisation, world["organisation"]).name == "Renamed Borough"
    assert "organisation.renamed" in audit_actions(app)


def test_rename_organisation_to_a_taken_name_keeps_the_old_one(app, world, other, role_client):
    with app.app_context():
        old = db.session.get(Organisation, world["organisation"]).name
    response = post_form(role_client("facilitator"), f"/organisations/{world['organisation']}",
                         {"org-name": "ELSEWHERE TRUST"})
    assert response.status_code == 400
    assert "already an organisation with this name" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Organisation, world["organisation"]).name == old


def test_renaming_to_the_same_name_in_another_case_is_allowed(app, world, role_client):
    with app.app_context():
        name = db.session.get(Organisation, world["organisation"]).name
    response = post_form(role_client("facilitator"), f"/organisations/{world['organisation']}",
                         {"org-name": name.upper()})
    assert response.status_code == 303


def test_archived_organisation_leaves_lists_and_pickers_but_is_kept(app, world, role_client):
    client = role_client("facilitator")
    with app.app_context():
        name = db.session.get(Organisation, world["organisation"]).name
    response = post_form(client, f"/organisations/{world['organisation']}/archive", {"archived": "1"})
    assert response.status_code == 303
    assert "has been archived" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert name not in client.get("/organisations").get_data(as_text=True)
    assert name in client.get("/organisations?status=archived").get_data(as_text=True)
    assert f'<option value="{world["organisation"]}"' not in client.get("/cohorts/new").get_data(
        as_text=True)
    # the cohort that uses it carries on, and its edit page still offers it
    edit = client.get(f"/cohorts/{world['cohort']}/edit").get_data(as_text=True)
    assert f"{name} (archived)" in edit
    post_form(client, f"/organisations/{world['organisation']}/archive", {"archived": "0"})
    assert name in client.get("/organisations").get_data(as_text=True)
    assert audit_actions(app)[-2:] == ["organisation.archived", "organisation.unarchived"]


def test_add_teams_with_free_names_unique_per_organisation(app, world, other, role_client):
    client = role_client("facilitator")
    path = f"/organisations/{world['organisation']}/teams"
    assert post_form(client, path, {"team-name": "Senior management"}).status_code == 303
    # the same name in another organisation is fine
    assert post_form(client, f"/organisations/{other['organisation']}/teams",
                     {"team-name": "Senior Management"}).status_code == 303
    response = post_form(client, path, {"team-name": "customer SERVICES"})
    assert response.status_code == 400
    assert "already has a team with this name" in response.get_data(as_text=True)
    assert count(app, Team, Team.organisation_id == world["organisation"]) == 2
    assert audit_actions(app).count("team.created") == 2


@pytest.mark.parametrize(("name", "message"), [
    ("", "Enter a name for the team"),
    ("y" * 121, "at most 120 characters"),
    ("Tab\x00Team", "control characters"),
])
def test_bad_team_names_are_refused(app, world, role_client, name, message):
    response = post_form(role_client("facilitator"),
                         f"/organisations/{world['organisation']}/teams", {"team-name": name})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Team, Team.organisation_id == world["organisation"]) == 1


def test_no_teams_for_an_archived_organisation(app, world, other, role_client):
    response = post_form(role_client("facilitator"),
                         f"/organisations/{other['archived_org']}/teams", {"team-name": "Policy"})
    assert response.status_code == 400
    assert "archived" in response.get_data(as_text=True)
    assert count(app, Team, Team.organisation_id == other["archived_org"]) == 0


def test_rename_and_archive_a_team(app, world, role_client):
    client = role_client("facilitator")
    path = f"/organisations/{world['organisation']}/teams/{world['team']}"
    assert client.get(path).status_code == 200
    assert post_form(client, path, {"name": "Customer Service Desk"}).status_code == 303
    assert post_form(client, path + "/archive", {"archived": "1"}).status_code == 303
    with app.app_context():
        team = db.session.get(Team, world["team"])
        assert team.name == "Customer Service Desk"
        assert team.is_archived
    page = client.get(f"/organisations/{world['organisation']}").get_data(as_text=True)
    assert "archived" in page
    assert audit_actions(app)[-2:] == ["team.renamed", "team.archived"]


def test_another_organisations_team_is_not_found(app, world, other, role_client):
    client = role_client("facilitator")
    path = f"/organisations/{world['organisation']}/teams/{other['team']}"
    assert client.get(path).status_code == 404
    assert post_form(client, path, {"name": "Hijack"}).status_code == 404
    assert post_form(client, path + "/archive", {"archived": "1"}).status_code == 404
    with app.app_context():
        assert db.session.get(Team, other["team"]).name == "Policy"


def test_unknown_organisation_is_not_found(world, role_client):
    assert role_client("facilitator").get("/organisations/999999").status_code == 404


@pytest.mark.parametrize("role", ["participant", "patron"])
def test_members_without_the_facilitator_role_cannot_set_up_programmes(world, role_client, role):
    client = role_client(role)
    for path in ("/organisations", f"/organisations/{world['organisation']}", "/cohorts",
                 "/cohorts/new"):
        assert client.get(path).status_code == 403
    assert post_form(client, "/organisations", {"name": "Sneaky"}).status_code == 403


# --- creating and editing cohorts ----------------------------------------------------------


def test_new_cohort_form_has_the_defaults(app, world, role_client):
    page = role_client("facilitator").get("/cohorts/new").get_data(as_text=True)
    assert '<option selected value="Europe/London">' in page
    assert 'value="60"' in page
    assert 'value="50"' in page
    assert 'value="15"' in page
    assert 'value="10"' in page


def test_new_cohort_time_zone_default_follows_the_setting(make_app, world, login_as):
    from dap.accounts.models import User

    other_app = make_app(DEFAULT_TIMEZONE="America/Toronto")
    with other_app.app_context():
        user = db.session.get(User, world["facilitator"])
    client = other_app.test_client()
    assert sign_in(client, user.email).status_code == 302
    page = client.get("/cohorts/new").get_data(as_text=True)
    assert '<option selected value="America/Toronto">' in page


def test_create_cohort_makes_the_creator_its_facilitator(app, world, role_client, frozen):
    from datetime import UTC, datetime

    frozen(datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    client = role_client("facilitator")
    response = post_form(client, "/cohorts/new", cohort_form(world["organisation"]))
    assert response.status_code == 303
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Spring 2026"))
        assert response.headers["Location"] == f"/cohorts/{cohort.id}"
        assert cohort.organisation_id == world["organisation"]
        assert cohort.start_date == date(2026, 3, 2)
        assert cohort.end_date == date(2026, 6, 26)
        assert cohort.timezone == "Europe/London"
        assert cohort.is_volunteer is True
        assert (cohort.platform_minutes_per_week, cohort.grace_minutes,
                cohort.silent_after_days, cohort.support_bookings_max) == (90, 20, 14, 2)
        assert cohort.web_share == pytest.approx(0.6)
        membership = db.session.scalar(select(Membership).where(Membership.cohort_id == cohort.id))
        assert membership.user_id == world["facilitator"]
        assert membership.role is CohortRole.FACILITATOR
        assert membership.status is MembershipStatus.ACTIVE
        assert membership.accepted_at == datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
        event_ = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.created"))
        assert event_.cohort_id == cohort.id
        assert event_.actor_id == world["facilitator"]
    overview = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "<strong>Little and often.</strong>" in overview
    assert "60%" in overview


def test_admin_creating_a_cohort_becomes_its_facilitator_too(app, world, role_client):
    response = post_form(role_client("admin"), "/cohorts/new", cohort_form(world["organisation"]))
    assert response.status_code == 303
    assert count(app, Membership, Membership.user_id == world["admin"],
                 Membership.role == CohortRole.FACILITATOR) == 1


@pytest.mark.parametrize(("entered", "share"), [
    ("50", 0.5), ("50%", 0.5), (" 35 % ", 0.35), ("0.5", 0.5), ("0.25", 0.25), ("33.3", 0.333),
    ("10", 0.1), ("90", 0.9),
])
def test_web_share_as_percentage_or_decimal(app, world, role_client, entered, share):
    response = post_form(role_client("facilitator"), "/cohorts/new",
                         cohort_form(world["organisation"], web_share=entered))
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        cohort = db.session.scalar(select(Cohort).where(Cohort.name == "Spring 2026"))
        assert cohort.web_share == pytest.approx(share)


BAD_COHORT_INPUT = [
    ({"name": ""}, "Enter a name for the cohort"),
    ({"name": "   "}, "Enter a name for the cohort"),
    ({"name": "n" * 161}, "at most 160 characters"),
    ({"name": "Null\x00Byte"}, "control characters"),
    ({"description": "d" * 20_001}, "at most 20,000 characters"),
    ({"description": "bad \x00 byte"}, "control characters"),
    ({"start_date": "2026-06-01", "end_date": "2026-05-31"}, "on or after the start date"),
    ({"start_date": ""}, "Enter a date"),
    ({"end_date": "tomorrow"}, "Enter a date"),
    ({"start_date": "2026-02-30"}, "Enter a date"),
    ({"start_date": "1999-12-31"}, "between 2000 and 2100"),
    ({"end_date": "20026-01-01"}, "Enter a date"),
    ({"timezone": "Mars/Olympus_Mons"}, "Choose a time zone from the list"),
    ({"timezone": ""}, "Choose a time zone from the list"),
    ({"timezone": "../../etc/passwd"}, "Choose a time zone from the list"),
    ({"organisation_id": ""}, "Choose an organisation from the list"),
    ({"organisation_id": "abc"}, "Choose an organisation from the list"),
    ({"organisation_id": "999999"}, "Choose an organisation from the list"),
    ({"organisation_id": "9" * 30}, "Choose an organisation from the list"),
    ({"organisation_id": "-1"}, "Choose an organisation from the list"),
    ({"platform_minutes_per_week": "-1"}, "from 0 to 10,080"),
    ({"platform_minutes_per_week": "10081"}, "from 0 to 10,080"),
    ({"platform_minutes_per_week": "9" * 30}, "from 0 to 10,080"),
    ({"platform_minutes_per_week": "sixty"}, "Enter a whole number"),
    ({"platform_minutes_per_week": "60.5"}, "Enter a whole number"),
    ({"platform_minutes_per_week": ""}, "Enter a whole number"),
    ({"web_share": "5"}, "from 10% to 90%"),
    ({"web_share": "95"}, "from 10% to 90%"),
    ({"web_share": "0.05"}, "from 10% to 90%"),
    ({"web_share": "1"}, "from 10% to 90%"),
    ({"web_share": "-50"}, "from 10% to 90%"),
    ({"web_share": "half"}, "Enter a percentage"),
    ({"web_share": "NaN"}, "Enter a percentage"),
    ({"web_share": "1e999999"}, "from 10% to 90%"),
    ({"web_share": ""}, "Enter a percentage"),
    ({"grace_minutes": "601"}, "from 0 to 600"),
    ({"grace_minutes": "-5"}, "from 0 to 600"),
    ({"grace_minutes": "x"}, "Enter a whole number"),
    ({"silent_after_days": "0"}, "from 1 to 90"),
    ({"silent_after_days": "91"}, "from 1 to 90"),
    ({"silent_after_days": "ten"}, "Enter a whole number"),
    ({"support_bookings_max": "0"}, "sessions from 1 to 10"),
    ({"support_bookings_max": "11"}, "sessions from 1 to 10"),
    ({"support_bookings_max": "-1"}, "sessions from 1 to 10"),
    ({"support_bookings_max": "one"}, "Enter a whole number"),
    ({"support_bookings_max": ""}, "Enter a whole number"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_COHORT_INPUT)
def test_bad_cohort_input_is_refused_on_create(app, world, role_client, changes, message):
    before = count(app, Cohort)
    response = post_form(role_client("facilitator"), "/cohorts/new",
                         cohort_form(world["organisation"], **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Cohort) == before


def test_cohort_cannot_be_created_for_an_archived_organisation(app, world, other, role_client):
    response = post_form(role_client("facilitator"), "/cohorts/new",
                         cohort_form(other["archived_org"]))
    assert response.status_code == 400
    assert "Choose an organisation from the list" in response.get_data(as_text=True)


def test_unicode_cohort_name_and_description(app, world, role_client):
    client = role_client("facilitator")
    response = post_form(client, "/cohorts/new", cohort_form(
        world["organisation"], name="Printemps 2026 — Zoë’s 李 cohort 🎉",
        description="Bienvenue à tous ✨"))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Printemps 2026 — Zoë’s 李 cohort 🎉" in page
    assert "Bienvenue à tous ✨" in page


def test_description_is_sanitised_on_the_overview(app, world, role_client):
    client = role_client("facilitator")
    response = post_form(client, "/cohorts/new", cohort_form(
        world["organisation"],
        description="<script>alert(1)</script>[x](javascript:alert(2)) <img src=x onerror=alert(3)>"))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<script>alert" not in page
    assert "javascript:" not in page
    assert "onerror" not in page


def test_edit_cohort_saves_changes_and_records_them(app, world, role_client):
    client = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/edit"
    page = client.get(path).get_data(as_text=True)
    assert "Edit cohort:" in page
    assert 'value="50"' in page  # web share shown as a percentage
    response = post_form(client, path, cohort_form(world["organisation"], name="Renamed cohort",
                                                   web_share="40"))
    assert response.status_code == 303
    cohort = cohort_row(app, world["cohort"])
    assert cohort.name == "Renamed cohort"
    assert cohort.web_share == pytest.approx(0.4)
    with app.app_context():
        event_ = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "cohort.updated"))
        assert "name" in event_.details["fields"]
        assert event_.details["changes"]["web_share"] == {"old": 0.5, "new": 0.4}
        assert event_.details["changes"]["description"] is True


def test_saving_an_unchanged_cohort_records_nothing(app, world, role_client):
    client = role_client("facilitator")
    cohort = cohort_row(app, world["cohort"])
    response = post_form(client, f"/cohorts/{world['cohort']}/edit", cohort_form(
        world["organisation"], name=cohort.name, description="", is_volunteer=None,
        start_date=cohort.start_date.isoformat(), end_date=cohort.end_date.isoformat(),
        platform_minutes_per_week="60", web_share="50", grace_minutes="15", silent_after_days="10",
        support_bookings_max="1"))
    assert response.status_code == 303
    assert "cohort.updated" not in audit_actions(app)


@pytest.mark.parametrize(("changes", "message"), BAD_COHORT_INPUT[::3])
def test_bad_input_on_edit_keeps_the_saved_cohort(app, world, role_client, changes, message):
    before = cohort_row(app, world["cohort"])
    response = post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/edit",
                         cohort_form(world["organisation"], **changes))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    after = cohort_row(app, world["cohort"])
    for column in Cohort.__table__.columns:
        assert getattr(after, column.key) == getattr(before, column.key)


def test_edit_cannot_move_a_cohort_to_an_archived_organisation(app, world, other, role_client):
    response = post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/edit",
                         cohort_form(other["archived_org"]))
    assert response.status_code == 400
    assert cohort_row(app, world["cohort"]).organisation_id == world["organisation"]


def test_edit_keeps_a_cohort_in_its_own_archived_organisation(app, world, role_client):
    with app.app_context():
        db.session.get(Organisation, world["organisation"]).is_archived = True
        db.session.commit()
    response = post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/edit",
                         cohort_form(world["organisation"], name="Still here"))
    assert response.status_code == 303
    assert cohort_row(app, world["cohort"]).name == "Still here"


# --- archiving ----------------------------------------------------------------------------


def test_archived_cohort_is_read_only_but_still_viewable(app, world, role_client):
    client = role_client("facilitator")
    cohort_id = world["cohort"]
    response = post_form(client, f"/cohorts/{cohort_id}/archive", {"archived": "1"})
    assert response.status_code == 303
    overview = client.get(f"/cohorts/{cohort_id}")
    assert overview.status_code == 200
    body = overview.get_data(as_text=True)
    assert "This cohort is read-only" in body
    assert f"/cohorts/{cohort_id}/edit" not in body
    assert f"/cohorts/{cohort_id}/facilitators" not in body
    assert "Unarchive" in body
    assert client.get(f"/cohorts/{cohort_id}/edit").status_code == 403
    assert client.get(f"/cohorts/{cohort_id}/facilitators").status_code == 403
    before = cohort_row(app, cohort_id)
    assert post_form(client, f"/cohorts/{cohort_id}/edit",
                     cohort_form(world["organisation"], name="Sneaky edit")).status_code == 403
    assert cohort_row(app, cohort_id).name == before.name
    assert post_form(client, f"/cohorts/{cohort_id}/facilitators",
                     {"email": "someone@example.org"}).status_code == 403
    # members still see their cohort, with the banner
    member_page = role_client("participant").get(f"/cohorts/{cohort_id}/home")
    assert member_page.status_code == 200
    assert "Archived." in member_page.get_data(as_text=True)
    # the list moves it to the archived tab
    assert before.name not in client.get("/cohorts").get_data(as_text=True)
    assert before.name in client.get("/cohorts?status=archived").get_data(as_text=True)
    # and it comes back
    assert post_form(client, f"/cohorts/{cohort_id}/archive", {"archived": "0"}).status_code == 303
    assert client.get(f"/cohorts/{cohort_id}/edit").status_code == 200
    assert audit_actions(app)[-2:] == ["cohort.archived", "cohort.unarchived"]


def test_archiving_twice_records_once(app, world, role_client):
    client = role_client("facilitator")
    for _ in range(2):
        post_form(client, f"/cohorts/{world['cohort']}/archive", {"archived": "1"})
    assert audit_actions(app).count("cohort.archived") == 1


# --- co-facilitators ----------------------------------------------------------------------


def test_add_and_remove_a_co_facilitator(app, world, other, role_client, fran):
    client = role_client("facilitator")
    path = f"/cohorts/{world['cohort']}/facilitators"
    assert client.get(path).status_code == 200
    assert fran.get(f"/cohorts/{world['cohort']}").status_code == 404
    response = post_form(client, path, {"email": "  FRAN@example.org "})
    assert response.status_code == 303
    with app.app_context():
        membership = db.session.scalar(select(Membership).where(
            Membership.cohort_id == world["cohort"], Membership.user_id == other["facilitator"]))
        assert membership.role is CohortRole.FACILITATOR
        assert membership.status is MembershipStatus.ACTIVE
        assert membership.accepted_at is not None
    # the co-facilitator now manages the cohort
    assert fran.get(f"/cohorts/{world['cohort']}").status_code == 200
    assert "Fran Other" in client.get(f"/cohorts/{world['cohort']}").get_data(as_text=True)
    response = post_form(client, f"{path}/{other['facilitator']}/remove")
    assert response.status_code == 303
    with app.app_context():
        row = db.session.scalar(select(Membership).where(
            Membership.cohort_id == world["cohort"], Membership.user_id == other["facilitator"]))
        assert row.status is MembershipStatus.REMOVED
        assert row.removed_at is not None
    assert fran.get(f"/cohorts/{world['cohort']}").status_code == 404
    assert audit_actions(app)[-2:] == ["facilitator.added", "facilitator.removed"]
    # added again: the same row comes back
    assert post_form(client, path, {"email": "fran@example.org"}).status_code == 303
    assert count(app, Membership, Membership.cohort_id == world["cohort"],
                 Membership.user_id == other["facilitator"],
                 Membership.status == MembershipStatus.ACTIVE) == 1


def test_the_last_facilitator_cannot_be_removed(app, world, role_client):
    client = role_client("facilitator")
    response = post_form(client, f"/cohorts/{world['cohort']}/facilitators/{world['facilitator']}/remove")
    assert response.status_code == 400
    assert "at least one facilitator" in response.get_data(as_text=True)
    assert count(app, Membership, Membership.cohort_id == world["cohort"],
                 Membership.role == CohortRole.FACILITATOR,
                 Membership.status == MembershipStatus.ACTIVE) == 1


def test_a_facilitator_may_step_down_when_another_remains(app, world, other, role_client):
    client = role_client("facilitator")
    post_form(client, f"/cohorts/{world['cohort']}/facilitators", {"email": "fran@example.org"})
    response = post_form(client, f"/cohorts/{world['cohort']}/facilitators/{world['facilitator']}/remove")
    assert response.status_code == 303
    assert response.headers["Location"] == "/cohorts"
    assert client.get(f"/cohorts/{world['cohort']}").status_code == 404


@pytest.mark.parametrize(("email", "message"), [
    ("", "Enter an email address"),
    ("not-an-email", "Enter an email address like"),
    ("e" * 250 + "@example.org", "too long"),
    ("nobody@example.org", "No site facilitator has this email address"),
    ("participant", "No site facilitator"),  # replaced with the participant's address below
    ("patron", "already active in this cohort as a patron"),
    ("facilitator", "already a facilitator of this cohort"),
])
def test_bad_co_facilitator_requests_are_refused(app, world, role_client, email, message):
    from dap.accounts.models import User

    if email in {"participant", "patron", "facilitator"}:
        with app.app_context():
            user = db.session.get(User, world[email])
            if email == "patron":
                user.is_facilitator = True  # a site facilitator who is a patron here
                db.session.commit()
            email = user.email
    before = count(app, Membership)
    response = post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/facilitators",
                         {"email": email})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count(app, Membership) == before
    assert count(app, Membership, Membership.role == CohortRole.FACILITATOR) == 1


def test_deactivated_facilitator_cannot_be_added(app, world, other, role_client):
    from dap.accounts.models import User

    with app.app_context():
        db.session.get(User, other["facilitator"]).is_active = False
        db.session.commit()
    response = post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/facilitators",
                         {"email": "fran@example.org"})
    assert response.status_code == 400


def test_removing_someone_who_is_not_a_facilitator_here_is_not_found(app, world, other, role_client):
    client = role_client("facilitator")
    base = f"/cohorts/{world['cohort']}/facilitators"
    for user_id in (world["participant"], other["facilitator"], 999999):
        assert post_form(client, f"{base}/{user_id}/remove").status_code == 404
    assert count(app, Membership, Membership.status == MembershipStatus.REMOVED) == 0


# --- scope: who sees which cohort -------------------------------------------------------------

MANAGER_PAGES = ["", "/edit", "/facilitators"]
MANAGER_POSTS = ["/archive", "/edit", "/facilitators", "/facilitators/{facilitator}/remove"]


@pytest.mark.parametrize("suffix", MANAGER_PAGES)
@pytest.mark.parametrize("role", ["participant", "patron"])
def test_members_get_404_on_manager_pages(world, role_client, role, suffix):
    assert role_client(role).get(f"/cohorts/{world['cohort']}{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", MANAGER_POSTS)
@pytest.mark.parametrize("role", ["participant", "patron"])
def test_members_get_404_on_manager_actions(app, world, role_client, role, suffix):
    response = post_form(role_client(role), f"/cohorts/{world['cohort']}{suffix.format(**world)}",
                         {"archived": "1", "email": "x@example.org"})
    assert response.status_code == 404
    assert cohort_row(app, world["cohort"]).is_archived is False


@pytest.mark.parametrize("suffix", MANAGER_PAGES)
def test_another_facilitators_cohort_is_not_found(world, other, fran, suffix):
    assert fran.get(f"/cohorts/{world['cohort']}{suffix}").status_code == 404


def test_another_facilitator_cannot_archive_or_edit(app, world, other, fran):
    assert post_form(fran, f"/cohorts/{world['cohort']}/archive", {"archived": "1"}).status_code == 404
    assert post_form(fran, f"/cohorts/{world['cohort']}/edit",
                     cohort_form(other["organisation"], name="Stolen")).status_code == 404
    cohort = cohort_row(app, world["cohort"])
    assert cohort.is_archived is False
    assert cohort.name != "Stolen"


def test_admin_manages_every_cohort(world, other, role_client):
    client = role_client("admin")
    assert client.get(f"/cohorts/{other['cohort']}").status_code == 200
    assert client.get(f"/cohorts/{other['cohort']}/edit").status_code == 200


def test_unknown_cohort_is_not_found(world, role_client):
    assert role_client("admin").get("/cohorts/999999").status_code == 404


@pytest.mark.parametrize("path", [
    "/cohorts/{big}", "/cohorts/{big}/edit", "/cohorts/{big}/home", "/organisations/{big}",
    "/organisations/{organisation}/teams/{big}", "/cohorts/{cohort}/facilitators/{big}/remove",
])
def test_ids_no_row_can_have_are_not_found(world, role_client, path):
    """Not a 500: SQLite cannot bind such numbers and PostgreSQL's integer overflows."""
    url = path.format(big="9" * 25, **world)
    client = role_client("admin")
    response = client.get(url) if not url.endswith("remove") else post_form(client, url)
    assert response.status_code == 404


# --- lists and counts -------------------------------------------------------------------------


def test_facilitator_lists_only_their_cohorts_admin_lists_all(app, world, other, role_client, fran):
    with app.app_context():
        mine = db.session.get(Cohort, world["cohort"]).name
    page = role_client("facilitator").get("/cohorts").get_data(as_text=True)
    assert mine in page
    assert "Elsewhere Autumn" not in page
    page = fran.get("/cohorts").get_data(as_text=True)
    assert "Elsewhere Autumn" in page
    assert mine not in page
    page = role_client("admin").get("/cohorts").get_data(as_text=True)
    assert mine in page
    assert "Elsewhere Autumn" in page


@pytest.mark.parametrize("query", ["?status=bogus", "?page=0", "?page=-1", "?page=abc",
                                   "?page=99999999999", "?status=archived&page=3"])
def test_cohort_list_survives_odd_queries(world, role_client, query):
    assert role_client("facilitator").get("/cohorts" + query).status_code == 200


def test_overview_counts_people_by_role_and_status(app, world, role_client):
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        for status in (MembershipStatus.INVITED, MembershipStatus.INVITED, MembershipStatus.REMOVED):
            m = factories.add_member(cohort, factories.make_user(), CohortRole.PARTICIPANT)
            m.status = status
        db.session.commit()
    expected = [count(app, Membership, Membership.cohort_id == world["cohort"],
                      Membership.role == CohortRole.PARTICIPANT, Membership.status == status)
                for status in (MembershipStatus.ACTIVE, MembershipStatus.INVITED,
                               MembershipStatus.REMOVED)]
    assert expected[1] >= 2
    assert expected[2] == 1
    page = role_client("facilitator").get(f"/cohorts/{world['cohort']}").get_data(as_text=True)
    row = page.split("<th scope=\"row\">Participants</th>")[1].split("</tr>")[0]
    assert row == "".join(f"<td>{n}</td>" for n in expected)


def _grow(app, cohort_id: int, n: int) -> None:
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        team = db.session.scalar(select(Team).where(Team.organisation_id == cohort.organisation_id))
        for _ in range(n):
            m = factories.add_member(cohort, factories.make_user(), CohortRole.PARTICIPANT, team)
            m.is_visible = True
        db.session.commit()


@pytest.mark.parametrize("path", ["/cohorts", "/cohorts/{cohort}", "/cohorts/{cohort}/home",
                                  "/cohorts/{cohort}/facilitators", "/organisations"])
def test_query_count_does_not_grow_with_the_cohort(app, world, role_client, path):
    client = role_client("facilitator")
    url = path.format(**world)
    _grow(app, world["cohort"], 3)
    client.get(url)
    with counting_queries(app) as small:
        assert client.get(url).status_code == 200
    _grow(app, world["cohort"], 30)
    with counting_queries(app) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), (small, large)


def test_cohort_list_query_count_does_not_grow_with_cohorts(app, world, role_client):
    client = role_client("admin")
    client.get("/cohorts")
    with counting_queries(app) as few:
        client.get("/cohorts")
    with app.app_context():
        org = db.session.get(Organisation, world["organisation"])
        for _ in range(10):
            factories.make_cohort(factories.make_organisation())
            factories.make_cohort(org)
        db.session.commit()
    with counting_queries(app) as many:
        client.get("/cohorts")
    assert len(many) == len(few)


def test_nav_links_facilitators_to_their_cohorts(world, role_client):
    assert 'href="/cohorts"' in role_client("facilitator").get("/").get_data(as_text=True)
    assert 'href="/cohorts"' not in role_client("participant").get("/").get_data(as_text=True)


def test_a_name_race_lost_at_the_database_is_a_message_not_a_500(app, world, monkeypatch):
    """Two requests creating the same organisation at once both pass the check; the
    unique constraint stops the second, and only its savepoint is rolled back."""
    from dap.accounts.models import User
    from dap.cohorts import services
    from dap.errors import DomainError

    monkeypatch.setattr(services, "_same_name_exists", lambda *args: False)
    with app.app_context():
        actor = db.session.get(User, world["facilitator"])
        services.create_organisation(name="Racing Council", actor=actor)
        with pytest.raises(DomainError) as caught:
            services.create_organisation(name="Racing Council", actor=actor)
        assert caught.value.field == "name"
        db.session.commit()  # the first one is kept
        assert db.session.scalar(select(func.count()).select_from(Organisation).where(
            Organisation.name == "Racing Council")) == 1
