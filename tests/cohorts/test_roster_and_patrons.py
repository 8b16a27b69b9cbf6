"""The roster, one member's page, removing people, patron links, managed participants."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import (
    CohortRole,
    Invitation,
    Membership,
    MembershipStatus,
    PatronLink,
)
from dap.extensions import db
from tests import factories
from tests.cohorts.conftest import join_link
from tests.conftest import post_form


@pytest.fixture
def crowd(app, world):
    """Twelve more participants in two teams, one invited, one removed."""
    from dap.cohorts.models import Cohort, Team

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        team = db.session.get(Team, world["team"])
        policy_team = factories.make_team(cohort.organisation, "Policy")
        ids = {}
        for i in range(12):
            user = factories.make_user(name=f"Member {i:02d}", email=f"member{i:02d}@example.org")
            m = factories.add_member(cohort, user, CohortRole.PARTICIPANT,
                                     team if i % 2 else policy_team)
            ids[i] = m.id
        db.session.get(Membership, ids[0]).status = MembershipStatus.INVITED
        db.session.get(Membership, ids[1]).status = MembershipStatus.REMOVED
        db.session.commit()
        return {"memberships": ids, "policy_team": policy_team.id}


def test_roster_lists_people_with_patrons_and_status(app, world, crowd, role_client):
    page = role_client("facilitator").get(f"/cohorts/{world['cohort']}/people")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Alex Participant" in body
    assert "Pat Patron" in body
    assert "Member 00" in body  # invited people are listed
    assert "Member 01" not in body  # removed people are not, unless asked for
    assert "15 people." in body  # 3 members, Ivy invited, 12 more less the removed one


@pytest.mark.parametrize(("query", "present", "absent"), [
    ("?q=member 0", ["Member 02"], ["Alex Participant"]),
    ("?q=MEMBER03@", ["Member 03"], ["Member 02"]),
    ("?status=removed", ["Member 01"], ["Member 02"]),
    ("?status=invited", ["Member 00"], ["Member 02"]),
    ("?role=patron", ["Pat Patron"], ["Member 02"]),
    ("?q=%25_", [], ["Member 02"]),
])
def test_roster_search_and_filters(world, crowd, role_client, query, present, absent):
    body = role_client("facilitator").get(f"/cohorts/{world['cohort']}/people{query}"
                                          ).get_data(as_text=True)
    for name in present:
        assert name in body
    for name in absent:
        assert name not in body


def test_roster_filters_by_team_and_patron(app, world, crowd, role_client):
    client = role_client("facilitator")
    body = client.get(f"/cohorts/{world['cohort']}/people?team={crowd['policy_team']}"
                      ).get_data(as_text=True)
    assert "Member 02" in body
    assert "Member 03" not in body
    body = client.get(f"/cohorts/{world['cohort']}/people?patron={world['patron']}"
                      ).get_data(as_text=True)
    assert "Alex Participant" in body
    assert "Member 02" not in body


@pytest.mark.parametrize("value", ["²", "٣", "①", "1e3", "-1", "9" * 40])
def test_roster_ignores_filters_that_are_not_plain_numbers(world, role_client, value):
    """Unicode digits pass str.isdigit() but not int(): they must not reach it (a 500)."""
    client = role_client("facilitator")
    for name in ("team", "patron", "page"):
        response = client.get(f"/cohorts/{world['cohort']}/people", query_string={name: value})
        assert response.status_code == 200, (name, value)
        assert "Alex Participant" in response.get_data(as_text=True)


def test_roster_sorts_both_ways(world, crowd, role_client):
    client = role_client("facilitator")
    asc = client.get(f"/cohorts/{world['cohort']}/people?sort=name").get_data(as_text=True)
    desc = client.get(f"/cohorts/{world['cohort']}/people?sort=name&dir=desc"
                      ).get_data(as_text=True)
    asc, desc = asc.split("<tbody>")[1], desc.split("<tbody>")[1]  # the table, not the header
    assert asc.index("Alex Participant") < asc.index("Sam Facilitator")
    assert desc.index("Sam Facilitator") < desc.index("Alex Participant")


@pytest.mark.parametrize("query", ["?page=0", "?page=-1", "?page=abc", "?page=99999999999999",
                                   "?sort=evil", "?team=abc", "?role=god", "?status=zz",
                                   "?patron=-4", "?q=" + "x" * 3000])
def test_roster_survives_odd_parameters(world, role_client, query):
    assert role_client("facilitator").get(f"/cohorts/{world['cohort']}/people{query}"
                                          ).status_code == 200


def test_roster_pages_at_fifty(app, world, role_client):
    from dap.cohorts.models import Cohort

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        for i in range(55):
            factories.add_member(cohort, factories.make_user(name=f"Zed {i:02d}"),
                                 CohortRole.PARTICIPANT)
        db.session.commit()
    client = role_client("facilitator")
    first = client.get(f"/cohorts/{world['cohort']}/people").get_data(as_text=True)
    second = client.get(f"/cohorts/{world['cohort']}/people?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first
    assert "Zed 54" in second
    assert "Zed 54" not in first


@pytest.mark.parametrize("role", ["participant", "patron", "outsider"])
def test_roster_is_404_for_everyone_but_the_cohorts_facilitators(app, world, role_client,
                                                                   login_as, role):
    if role == "outsider":
        with app.app_context():
            client = login_as(db.session.get(User, world["outsider"]))
    else:
        client = role_client(role)
    assert client.get(f"/cohorts/{world['cohort']}/people").status_code == 404


def test_another_facilitators_cohort_is_404(app, world, login_as):
    with app.app_context():
        other = factories.make_user(is_facilitator=True)
        other_cohort = factories.make_cohort()
        factories.add_member(other_cohort, other, CohortRole.FACILITATOR)
        db.session.commit()
        client = login_as(other)
    assert client.get(f"/cohorts/{world['cohort']}/people").status_code == 404
    assert post_form(client, f"/cohorts/{world['cohort']}/people/invite",
                     {"name": "X", "email": "x@example.org", "role": "participant"}
                     ).status_code == 404


def membership_id(app, cohort_id, user_id):
    with app.app_context():
        return db.session.scalar(select(Membership.id).where(
            Membership.cohort_id == cohort_id, Membership.user_id == user_id))


def test_removed_member_loses_access_and_keeps_records(app, world, role_client):
    participant = role_client("participant")
    assert participant.get("/").status_code == 200
    mid = membership_id(app, world["cohort"], world["participant"])
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{mid}/remove")
    assert response.status_code == 303
    with app.app_context():
        m = db.session.get(Membership, mid)
        assert m.status is MembershipStatus.REMOVED
        assert db.session.get(User, world["participant"]) is not None
        link = db.session.get(PatronLink, world["patron_link"])
        assert link.ended_at is not None  # the patron link ended with the membership
    assert participant.get(f"/cohorts/{world['cohort']}/my-patrons").status_code == 404
    assert "participant</span>" not in participant.get("/").get_data(as_text=True)


def test_the_last_facilitator_cannot_be_removed(app, world, role_client):
    mid = membership_id(app, world["cohort"], world["facilitator"])
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{mid}/remove", follow_redirects=True)
    assert "at least one facilitator" in response.get_data(as_text=True)


def test_facilitator_changes_role_and_team(app, world, crowd, role_client):
    mid = crowd["memberships"][2]
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{mid}/change",
                         {"member-role": "patron", "member-team": ""})
    assert response.status_code == 302
    with app.app_context():
        m = db.session.get(Membership, mid)
        assert m.role is CohortRole.PATRON
        assert m.team_id is None


def test_member_of_another_cohort_is_404_on_member_urls(app, world, role_client):
    with app.app_context():
        other = factories.make_cohort()
        stranger = factories.add_member(other, factories.make_user(), CohortRole.PARTICIPANT)
        db.session.commit()
        stranger_id = stranger.id
    client = role_client("facilitator")
    assert client.get(f"/cohorts/{world['cohort']}/people/{stranger_id}").status_code == 404
    assert post_form(client, f"/cohorts/{world['cohort']}/people/{stranger_id}/remove"
                     ).status_code == 404


def test_facilitator_links_a_patron_and_ends_the_link(app, world, crowd, role_client):
    client = role_client("facilitator")
    participant_mid = crowd["memberships"][3]
    patron_mid = membership_id(app, world["cohort"], world["patron"])
    response = post_form(client, f"/cohorts/{world['cohort']}/people/{participant_mid}/patrons",
                         {"link-patron": str(patron_mid)})
    assert response.status_code == 302
    with app.app_context():
        link = db.session.scalar(select(PatronLink).where(
            PatronLink.participant_id == db.session.get(Membership, participant_mid).user_id))
        link_id = link.id
    page = client.get(f"/cohorts/{world['cohort']}/people/{participant_mid}").get_data(as_text=True)
    assert "Pat Patron" in page
    post_form(client, f"/cohorts/{world['cohort']}/patron-links/{link_id}/end")
    with app.app_context():
        assert db.session.get(PatronLink, link_id).ended_at is not None


@pytest.mark.parametrize("patron", ["", "abc", "999999", "-1"])
def test_linking_a_bad_patron_is_refused(world, crowd, role_client, patron):
    participant_mid = crowd["memberships"][3]
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{participant_mid}/patrons",
                         {"link-patron": patron})
    assert response.status_code in (400, 404)


def test_someone_cannot_be_their_own_patron(app, world, crowd, role_client):
    mid = crowd["memberships"][3]
    response = post_form(role_client("facilitator"),
                         f"/cohorts/{world['cohort']}/people/{mid}/patrons",
                         {"link-patron": str(mid)})
    assert response.status_code == 400
    assert "cannot be their own patron" in response.get_data(as_text=True)


def test_participant_invites_their_own_patron_who_accepts(app, world, role_client):
    participant = role_client("participant")
    response = post_form(participant, f"/cohorts/{world['cohort']}/my-patrons",
                         {"name": "Olive Outside", "email": "olive@elsewhere.example"})
    assert response.status_code == 302
    with app.app_context():
        mail_link = join_link_patron(app, "olive@elsewhere.example")
    visitor = app.test_client()
    assert "would like you to be their patron" in visitor.get(mail_link).get_data(as_text=True)
    post_form(visitor, mail_link, {"name": "Olive Outside", "password": "a long new secret",
                                   "confirm": "a long new secret"})
    with app.app_context():
        olive = db.session.scalar(select(User).where(User.email == "olive@elsewhere.example"))
        link = db.session.scalar(select(PatronLink).where(PatronLink.patron_id == olive.id))
        assert link.participant_id == world["participant"]
        assert link.source.value == "participant"
        m = db.session.scalar(select(Membership).where(Membership.user_id == olive.id))
        assert m.role is CohortRole.PATRON
        assert m.status is MembershipStatus.ACTIVE
        link_id = link.id
    # The facilitator sees the link; the participant can end it at any time.
    roster = role_client("facilitator").get(f"/cohorts/{world['cohort']}/people"
                                            ).get_data(as_text=True)
    assert "Olive Outside" in roster
    assert post_form(participant, f"/cohorts/{world['cohort']}/patron-links/{link_id}/end"
                     ).status_code == 303
    with app.app_context():
        assert db.session.get(PatronLink, link_id).ended_at is not None


def join_link_patron(app, email):
    from sqlalchemy import select as sel

    from dap.nudges.models import OutboxMessage
    from tests.cohorts.conftest import JOIN_RE

    row = db.session.scalars(sel(OutboxMessage).where(OutboxMessage.to_addr == email)).one()
    return JOIN_RE.search(row.body_text).group(1)


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "Me", "email": "SELF"}, "cannot be your own patron"),
    ({"name": "", "email": "a@example.org"}, "Enter a name"),
    ({"name": "A", "email": "nope"}, "Enter an email address like"),
])
def test_own_patron_bad_input(app, world, role_client, data, message):
    if data["email"] == "SELF":
        with app.app_context():
            data = {**data, "email": db.session.get(User, world["participant"]).email}
    response = post_form(role_client("participant"), f"/cohorts/{world['cohort']}/my-patrons",
                         data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_only_the_participant_or_facilitator_may_end_a_link(app, world, role_client):
    with app.app_context():
        link_id = world["patron_link"]
    assert post_form(role_client("patron"), f"/cohorts/{world['cohort']}/patron-links/{link_id}/end"
                     ).status_code == 404
    with app.app_context():
        assert db.session.get(PatronLink, link_id).ended_at is None


@pytest.mark.parametrize("role", ["patron", "facilitator"])
def test_my_patrons_is_for_participants(world, role_client, role):
    assert role_client(role).get(f"/cohorts/{world['cohort']}/my-patrons").status_code == 404


def test_managed_participant_is_created_and_later_takes_over(app, world, role_client):
    client = role_client("facilitator")
    response = post_form(client, f"/cohorts/{world['cohort']}/people/managed/new",
                         {"name": "Mo Offline", "team": str(world["team"])})
    assert response.status_code == 302
    with app.app_context():
        mo = db.session.scalar(select(User).where(User.name == "Mo Offline"))
        assert mo.is_managed
        assert mo.email is None
        m = db.session.scalar(select(Membership).where(Membership.user_id == mo.id))
        assert m.status is MembershipStatus.ACTIVE
        mid = m.id
    roster = client.get(f"/cohorts/{world['cohort']}/people").get_data(as_text=True)
    assert "kept for them" in roster

    response = post_form(client, f"/cohorts/{world['cohort']}/people/{mid}/takeover",
                         {"takeover-email": "mo@example.org"})
    assert response.status_code == 302
    link = join_link(app, "mo@example.org")
    visitor = app.test_client()
    post_form(visitor, link, {"name": "Mo Online", "password": "a long new secret",
                              "confirm": "a long new secret"})
    with app.app_context():
        mo = db.session.scalar(select(User).where(User.email == "mo@example.org"))
        assert not mo.is_managed
        assert mo.name == "Mo Online"
        assert db.session.scalar(select(Invitation.accepted_at).where(
            Invitation.email == "mo@example.org")) is not None


def test_takeover_email_already_used_is_refused(app, world, role_client):
    client = role_client("facilitator")
    post_form(client, f"/cohorts/{world['cohort']}/people/managed/new", {"name": "Mo", "team": ""})
    with app.app_context():
        mid = db.session.scalar(select(Membership.id).join(User).where(User.name == "Mo"))
        taken = db.session.get(User, world["patron"]).email
    response = post_form(client, f"/cohorts/{world['cohort']}/people/{mid}/takeover",
                         {"takeover-email": taken})
    assert response.status_code == 400
    assert "Another account already uses" in response.get_data(as_text=True)


def test_roster_csv_has_everyone_matching_and_neutralises_formulas(app, world, role_client):
    from dap.cohorts.models import Cohort

    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        factories.add_member(cohort, factories.make_user(name="=HYPERLINK(\"http://evil\")",
                                                         email="evil@example.org"),
                             CohortRole.PARTICIPANT)
        for i in range(60):
            factories.add_member(cohort, factories.make_user(name=f"Csv {i:02d}"),
                                 CohortRole.PARTICIPANT)
        db.session.commit()
    response = role_client("facilitator").get(f"/cohorts/{world['cohort']}/people.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "name,email,role,team,status,patrons,patron to,invitation,joined"
    assert len(lines) == 1 + 65  # 4 from the world, 61 added: all of them, not one page
    evil = next(line for line in lines if "evil@example.org" in line)
    assert evil.startswith('"\'=HYPERLINK(""http://evil"")"')
    alex = next(line for line in lines if line.startswith("Alex Participant"))
    assert ",Pat Patron," in alex
    filtered = role_client("facilitator").get(
        f"/cohorts/{world['cohort']}/people.csv?q=csv 0").get_data(as_text=True).splitlines()
    assert len(filtered) == 1 + 10
