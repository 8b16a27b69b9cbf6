"""The insights pages through HTTP, as a facilitator uses them: the overview, the people
with their measures and the one-click nudge, activity by week, channels compared, two cohorts
side by side and the roster CSV; filters and bad input; other people's cohorts."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from tests import factories
from tests.conftest import post_form


def user(app, user_id: int) -> User:
    with app.app_context():
        found = db.session.get(User, user_id)
        db.session.expunge(found)
        return found


@pytest.fixture
def facilitator(app, story, login_as):
    return login_as(user(app, story["facilitator"]))


def membership_of(app, story, name: str) -> int:
    with app.app_context():
        return db.session.scalar(select(Membership.id).where(
            Membership.cohort_id == story["cohort"], Membership.user_id == story[name]))


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def strip_tags(html: str) -> str:
    """The text of a cell without its badges."""
    return re.sub(r"<span[^>]*>.*?</span>|<[^>]+>", "", html).strip()


def nudges_to(app, user_id: int) -> list[Notification]:
    with app.app_context():
        found = list(db.session.scalars(select(Notification).where(
            Notification.user_id == user_id, Notification.kind == NotificationKind.NUDGE,
            Notification.sender_id.is_not(None)).order_by(Notification.id)))
        db.session.expunge_all()
        return found


def test_the_overview_shows_the_funnel_and_the_headline_numbers(story, facilitator):
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights")
    assert response.status_code == 200
    page = text(response)
    assert "4</strong> of 5 invited have joined" in page
    assert "3</strong> active in the last 14 days" in page
    assert "2</strong> finished at least one goal" in page
    assert "1</strong> silent now" in page
    # the funnel's table: everyone, then Alpha, Beta and the team-less
    table = page[page.index("<caption>The funnel"):]
    table = table[:table.index("</table>")]
    funnel = {strip_tags(label): re.findall(r"<td>(\d+)", cells) for label, cells in
              re.findall(r'<tr><th scope="row">(.*?)</th>(.*?)</tr>', table)}
    assert funnel == {"Everyone": ["5", "4", "2", "3", "3", "2"],
                      "Alpha": ["2", "2", "1", "2", "2", "1"],
                      "Beta": ["2", "1", "1", "1", "1", "1"],
                      "No team": ["1", "1", "0", "0", "0", "0"]}
    assert "<title id=\"funnel-title\">Funnel: Everyone</title>" in page
    assert "Took the baseline: 2 (40% of those invited)" in page


def test_a_team_filter_narrows_every_figure(story, facilitator):
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights?team={story['beta']}"))
    assert "1</strong> of 2 invited have joined" in page
    assert "Alpha</option>" in page  # still offered


@pytest.mark.parametrize("team", ["abc", "-1", "1.5", "٣", "9" * 40, "1 OR 1=1"])
def test_a_bad_team_filter_is_a_400(story, facilitator, team):
    for page in ("insights", "insights/people", "insights/activity", "insights/channels",
                 "insights/people.csv"):
        response = facilitator.get(f"/cohorts/{story['cohort']}/{page}", query_string={"team": team})
        assert response.status_code == 400, (page, team)


def test_another_organisations_team_is_a_404(app, story, facilitator):
    with app.app_context():
        other = factories.make_team(factories.make_organisation(), "Elsewhere")
        db.session.commit()
        other_id = other.id
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights?team={other_id}")
    assert response.status_code == 404
    assert facilitator.get(f"/cohorts/{story['cohort']}/insights?team=999999").status_code == 404


def test_the_people_page_lists_the_measures_and_sorts(story, facilitator):
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/people"))
    names = re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page)
    assert names == ["Ann", "Ben", "Cy", "Eve"]
    assert "20 days" in page  # Eve
    assert page.count("Nudge ") == 1  # only Eve is silent
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/people?sort=done&desc=1"))
    assert re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page) == [
        "Ann", "Cy", "Ben", "Eve"]
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/people?silent=1"))
    assert re.findall(r'<th scope="row"><a href="[^"]+">([^<]+)</a>', page) == ["Eve"]


@pytest.mark.parametrize("sort", ["nonsense", "", "name;drop", "<script>"])
def test_an_unknown_sort_is_a_400(story, facilitator, sort):
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights/people",
                               query_string={"sort": sort})
    assert response.status_code == 400
    assert "Sort by one of the columns" in response.get_data(as_text=True)


def test_the_roster_csv(story, facilitator):
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights/people.csv?sort=name")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:6] == ["name", "email", "team", "baseline sent", "goals open", "goals done"]
    by_name = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    assert sorted(by_name) == ["Ann", "Ben", "Cy", "Eve"]
    assert by_name["Ann"]["goals done"] == "1"
    assert by_name["Ann"]["baseline sent"] == "true"
    assert by_name["Ann"]["patrons"] == "Pat Patron"
    assert by_name["Ann"]["last activity channel"] == "check-in"
    assert by_name["Eve"]["silent (days)"] == "20"
    assert by_name["Ben"]["1:1 sessions held"] == "1"


def test_the_roster_csv_neutralises_formulas(app, story, facilitator):
    with app.app_context():
        db.session.get(User, story["eve"]).name = '=HYPERLINK("http://evil.example")'
        db.session.commit()
    body = facilitator.get(f"/cohorts/{story['cohort']}/insights/people.csv").get_data(
        as_text=True)
    assert "'=HYPERLINK" in body
    assert "\n=HYPERLINK" not in body


def test_one_click_nudges_someone_silent_once_per_silence(app, story, facilitator):
    eve = membership_of(app, story, "eve")
    path = f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge"
    response = post_form(facilitator, path)
    assert response.status_code == 303
    sent = nudges_to(app, story["eve"])
    assert len(sent) == 1
    assert sent[0].sender_id == story["facilitator"]
    assert sent[0].title == "Haven't seen you for a while"
    assert "Eve" in sent[0].body
    # the same click again, in the same silence: nothing more
    assert post_form(facilitator, path).status_code == 303
    assert len(nudges_to(app, story["eve"])) == 1


def test_nudging_someone_who_is_not_silent_sends_nothing(app, story, facilitator):
    ann = membership_of(app, story, "ann")
    response = post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{ann}/nudge",
                         follow_redirects=True)
    assert response.status_code == 200
    assert "is not silent now, so nothing was sent" in response.get_data(as_text=True)
    assert nudges_to(app, story["ann"]) == []


def test_nudging_a_managed_participant_sends_nothing(app, story, facilitator):
    with app.app_context():
        db.session.get(User, story["eve"]).is_managed = True
        db.session.commit()
    eve = membership_of(app, story, "eve")
    post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge")
    assert nudges_to(app, story["eve"]) == []


def test_the_nudge_needs_the_form_token(app, story, facilitator):
    eve = membership_of(app, story, "eve")
    response = facilitator.post(f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge")
    assert response.status_code == 400
    assert nudges_to(app, story["eve"]) == []


def test_the_nudge_goes_back_only_to_a_local_page(app, story, facilitator):
    eve = membership_of(app, story, "eve")
    response = post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge",
                         {"back": "https://evil.example/"})
    assert response.headers["Location"].startswith(
        f"/cohorts/{story['cohort']}/insights/people")


def test_nudge_refuses_other_cohorts_members_and_non_participants(app, story, facilitator):
    with app.app_context():
        other = factories.make_cohort()
        stranger = factories.add_member(other, factories.make_user(), CohortRole.PARTICIPANT)
        patron = db.session.scalar(select(Membership.id).where(
            Membership.cohort_id == story["cohort"], Membership.role == CohortRole.PATRON))
        db.session.commit()
        stranger_id = stranger.id
    for membership_id in (stranger_id, patron, 999999):
        response = post_form(
            facilitator, f"/cohorts/{story['cohort']}/insights/people/{membership_id}/nudge")
        assert response.status_code == 404


def test_an_archived_cohort_cannot_be_nudged_from(app, story, facilitator):
    with app.app_context():
        db.session.get(Cohort, story["cohort"]).is_archived = True
        db.session.commit()
    eve = membership_of(app, story, "eve")
    response = post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge")
    assert response.status_code == 403
    assert nudges_to(app, story["eve"]) == []


def test_members_and_outsiders_get_404(app, story, login_as):
    ann = login_as(user(app, story["ann"]))
    with app.app_context():
        other_facilitator = factories.make_user(is_facilitator=True).id
        db.session.commit()
    outsider = login_as(user(app, other_facilitator))
    eve = membership_of(app, story, "eve")
    for client in (ann, outsider):
        for path in ("insights", "insights/people", "insights/people.csv", "insights/activity",
                     "insights/channels"):
            assert client.get(f"/cohorts/{story['cohort']}/{path}").status_code == 404
        response = post_form(client, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge")
        assert response.status_code == 404
    assert nudges_to(app, story["eve"]) == []


def test_the_channels_page_shows_the_table_and_the_method(story, facilitator):
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/channels"))
    row = re.search(r"Workshops and events.*?</tr>", page).group(0)
    # reached, contacts, hours (3.0, 3.0), goals 1 (0.50 a person), check-ins 2 (1.00),
    # per facilitator hour: 1/3 goals, 2/3 check-ins
    assert re.findall(r"<td>([^<]*)", row) == ["2", "2", "3.0", "3.0", "1", "0.50", "2", "1.00",
                                              "0.33", "0.67"]
    assert "within 14 days after one of their own contacts" in page
    assert "not what a contact caused" in page
    assert "Everyone, whatever their contacts" in page


@pytest.mark.parametrize("page", ["0", "-1", "x", "9" * 10])
def test_a_bad_activity_page_number_is_a_400(story, facilitator, page):
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights/activity?page={page}")
    assert response.status_code == 400


def test_the_activity_page(story, facilitator):
    response = facilitator.get(f"/cohorts/{story['cohort']}/insights/activity")
    assert response.status_code == 200
    page = text(response)
    assert "Who did something, week by week" in page
    assert "<svg" in page


def test_two_cohorts_side_by_side(app, story, facilitator):
    with app.app_context():
        second = factories.make_cohort(name="The second cohort")
        facilitator_user = db.session.get(User, story["facilitator"])
        factories.add_member(second, facilitator_user, CohortRole.FACILITATOR)
        db.session.commit()
        second_id = second.id
    response = facilitator.get(f"/insights/compare?a={story['cohort']}&b={second_id}")
    assert response.status_code == 200
    page = text(response)
    assert page.count("what followed a contact on each channel") == 2
    assert "The second cohort" in page
    # just the form
    assert facilitator.get("/insights/compare").status_code == 200


def test_compare_refuses_cohorts_one_does_not_manage(app, story, facilitator, login_as):
    with app.app_context():
        elsewhere = factories.make_cohort().id
        db.session.commit()
    assert facilitator.get(f"/insights/compare?a={story['cohort']}&b={elsewhere}"
                           ).status_code == 404
    assert facilitator.get("/insights/compare?a=abc").status_code == 400
    assert facilitator.get("/insights/compare?a=99999999").status_code == 404
    ann = login_as(user(app, story["ann"]))
    assert ann.get(f"/insights/compare?a={story['cohort']}").status_code == 404


def test_an_ended_cohort_is_read_as_it_stood_at_its_end(app, story, frozen, login_as):
    """Five weeks after the cohort's last day, its figures are those of that day: Ann was
    active then (not silent since), and nobody is offered a nudge."""
    from datetime import date, timedelta

    from tests.insights.conftest import NOW

    with app.app_context():
        db.session.get(Cohort, story["cohort"]).end_date = date(2026, 6, 16)
        db.session.commit()
    frozen(NOW + timedelta(days=35))
    facilitator = login_as(user(app, story["facilitator"]))
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights"))
    assert "This cohort ended on 16 June 2026" in page
    assert "3</strong> active in the last 14 days" in page  # on 16 June, as on the 15th
    assert "1</strong> silent now" in page  # Eve, as then
    people = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/people"))
    assert "Nudge " not in people
    eve = membership_of(app, story, "eve")
    response = post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge",
                         follow_redirects=True)
    assert "The cohort has ended, so nothing was sent." in response.get_data(as_text=True)
    assert nudges_to(app, story["eve"]) == []


def test_a_pause_is_not_silence_on_the_people_page_either(app, story, facilitator):
    """As the daily scan counts it: Eve, quiet since joining 20 days ago, paused her plan
    until five days ago; her silence starts again when the pause ended, so she is not silent
    (4 days), is offered no nudge, and a nudge posted anyway sends nothing."""
    from datetime import timedelta

    from dap.plans.models import Plan
    from tests.insights.conftest import NOW

    with app.app_context():
        db.session.add(Plan(cohort_id=story["cohort"], participant_id=story["eve"],
                            paused_from=(NOW - timedelta(days=18)).date(),
                            paused_until=(NOW - timedelta(days=5)).date()))
        db.session.commit()
    page = text(facilitator.get(f"/cohorts/{story['cohort']}/insights/people?silent=1"))
    assert "Nobody is silent at the moment." in page
    eve = membership_of(app, story, "eve")
    response = post_form(facilitator, f"/cohorts/{story['cohort']}/insights/people/{eve}/nudge",
                         follow_redirects=True)
    assert "is not silent now, so nothing was sent" in response.get_data(as_text=True)
    assert nudges_to(app, story["eve"]) == []
