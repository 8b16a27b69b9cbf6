"""Posting and commenting in the cohort feed is activity (dap.insights.activity): it ends a
silence, shows as "cohort feed" where the latest activity is shown (the roster, the patron
home), and costs one more grouped query, whatever the number of people. What its author
deleted does not count; what a facilitator hid does; another cohort's feed does not."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from dap.accounts.models import User
from dap.clock import now_utc
from dap.cohorts.models import Cohort, CohortRole, Membership
from dap.community.models import Comment, Post, PostKind
from dap.extensions import db
from dap.insights.activity import Channel, last_activities, last_activity
from dap.insights.silence import notice_silences, silences
from tests import factories
from tests.conftest import counting_queries

JOINED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
DAY = timedelta(days=1)


@pytest.fixture
def cohort(app, world, frozen):
    """The world's cohort runs all year and is silent after 10 days; everyone joined on
    ``JOINED``."""
    frozen(JOINED)
    with app.app_context():
        cohort = db.session.get(Cohort, world["cohort"])
        cohort.start_date, cohort.end_date = date(2026, 1, 1), date(2026, 12, 31)
        cohort.silent_after_days = 10
        for membership in db.session.scalars(select(Membership).where(
                Membership.cohort_id == cohort.id)):
            membership.joined_at = JOINED
        db.session.commit()
        return cohort.id


def _post(cohort_id: int, author_id: int, at: datetime, **fields) -> int:
    """A post written at ``at`` (call inside an app context); its id."""
    post = Post(cohort_id=cohort_id, author_id=author_id, kind=PostKind.REFLECTION,
                body="What I tried this week", created_at=at, **fields)
    db.session.add(post)
    db.session.flush()
    return post.id


def _comment(post_id: int, author_id: int, at: datetime, **fields) -> int:
    comment = Comment(post_id=post_id, author_id=author_id, body="Nice one", created_at=at,
                      **fields)
    db.session.add(comment)
    db.session.flush()
    return comment.id


def _latest(app, cohort_id: int, user_id: int):
    with app.app_context():
        return last_activity(cohort_id, [user_id]).get(user_id)


def scan(app, frozen, when: datetime) -> int:
    frozen(when)
    with app.app_context():
        found = notice_silences(now=when)
        db.session.commit()
        return found


def test_a_post_ends_the_silence(app, world, cohort, frozen):
    with app.app_context():
        _post(cohort, world["participant"], JOINED + 5 * DAY)
        db.session.commit()
    latest = _latest(app, cohort, world["participant"])
    assert latest.channel is Channel.FEED
    assert latest.at == JOINED + 5 * DAY
    assert latest.label == "cohort feed"
    assert scan(app, frozen, JOINED + 10 * DAY) == 0  # 5 days since the post
    assert scan(app, frozen, JOINED + 14 * DAY) == 0
    assert scan(app, frozen, JOINED + 15 * DAY) == 1  # 10 days since the post


def test_a_comment_on_someone_elses_post_ends_the_silence(app, world, cohort, frozen):
    with app.app_context():
        post_id = _post(cohort, world["facilitator"], JOINED)
        _comment(post_id, world["participant"], JOINED + 5 * DAY)
        db.session.commit()
    latest = _latest(app, cohort, world["participant"])
    assert (latest.channel, latest.at) == (Channel.FEED, JOINED + 5 * DAY)
    assert scan(app, frozen, JOINED + 10 * DAY) == 0
    assert scan(app, frozen, JOINED + 15 * DAY) == 1


def test_the_latest_of_posts_and_comments_counts(app, world, cohort):
    with app.app_context():
        _post(cohort, world["participant"], JOINED + 2 * DAY)
        other = _post(cohort, world["facilitator"], JOINED + DAY)
        _comment(other, world["participant"], JOINED + 4 * DAY)
        _comment(other, world["participant"], JOINED + 3 * DAY)
        _post(cohort, world["participant"], JOINED + 1 * DAY)
        db.session.commit()
    assert _latest(app, cohort, world["participant"]).at == JOINED + 4 * DAY


def test_a_deleted_post_or_comment_does_not_count(app, world, cohort, frozen):
    with app.app_context():
        _post(cohort, world["participant"], JOINED + 5 * DAY, deleted_at=JOINED + 6 * DAY)
        other = _post(cohort, world["facilitator"], JOINED)
        _comment(other, world["participant"], JOINED + 5 * DAY,
                 deleted_at=JOINED + 5 * DAY + timedelta(minutes=1))
        db.session.commit()
    assert _latest(app, cohort, world["participant"]) is None
    assert scan(app, frozen, JOINED + 10 * DAY) == 1  # silent since joining


def test_a_hidden_post_counts_and_a_comment_on_a_post_deleted_by_its_author_counts(
        app, world, cohort):
    hidden_by = world["facilitator"]
    with app.app_context():
        _post(cohort, world["participant"], JOINED + 2 * DAY, hidden_at=JOINED + 3 * DAY,
              hidden_by_id=hidden_by, hidden_reason="Off topic")
        gone = _post(cohort, world["facilitator"], JOINED, deleted_at=JOINED + 9 * DAY)
        _comment(gone, world["participant"], JOINED + 4 * DAY)
        mine = _post(cohort, world["facilitator"], JOINED)
        _comment(mine, world["participant"], JOINED + 3 * DAY, hidden_at=JOINED + 5 * DAY,
                 hidden_by_id=hidden_by, hidden_reason="Off topic")
        db.session.commit()
        participant = world["participant"]
        # Each on its own: the hidden post, the hidden comment, the comment on a post deleted
        # later by its author.
        assert last_activity(cohort, [participant])[participant].at == JOINED + 4 * DAY
        db.session.execute(db.delete(Comment).where(Comment.post_id == gone))
        assert last_activity(cohort, [participant])[participant].at == JOINED + 3 * DAY
        db.session.execute(db.delete(Comment))
        assert last_activity(cohort, [participant])[participant].at == JOINED + 2 * DAY
        db.session.rollback()


def test_another_cohorts_feed_does_not_count(app, world, cohort, frozen):
    with app.app_context():
        elsewhere = factories.make_cohort(start_date=date(2026, 1, 1),
                                          end_date=date(2026, 12, 31))
        person = db.session.get(User, world["participant"])
        factories.add_member(elsewhere, person, CohortRole.PARTICIPANT)
        post_id = _post(elsewhere.id, world["participant"], JOINED + 5 * DAY)
        theirs = _post(elsewhere.id, world["facilitator"], JOINED + 5 * DAY)
        _comment(theirs, world["participant"], JOINED + 6 * DAY)
        _comment(post_id, world["participant"], JOINED + 7 * DAY)
        elsewhere_id = elsewhere.id
        db.session.commit()
    assert _latest(app, cohort, world["participant"]) is None
    assert _latest(app, elsewhere_id, world["participant"]).at == JOINED + 7 * DAY
    with app.app_context():
        both = last_activities([(cohort, world["participant"]),
                                (elsewhere_id, world["participant"])])
    assert set(both) == {(elsewhere_id, world["participant"])}
    # silent since joining in the world's cohort, whatever they wrote in the other one,
    # where it keeps them from being silent
    frozen(JOINED + 10 * DAY)
    with app.app_context():
        found = silences(JOINED + 10 * DAY)
    assert [(s.cohort.id, s.person.id) for s in found] == [(cohort, world["participant"])]


def test_another_channel_later_than_the_feed_wins(app, world, cohort, frozen):
    from dap.plans import services

    with app.app_context():
        _post(cohort, world["participant"], JOINED + DAY)
        db.session.commit()
    assert _latest(app, cohort, world["participant"]).channel is Channel.FEED
    frozen(JOINED + 2 * DAY)
    with app.app_context():
        person = db.session.get(User, world["participant"])
        plan = services.plan_for(db.session.get(Cohort, cohort), person)
        goal = services.write_goal(plan, actor=person, title="Try a poll")
        services.check_in(goal, actor=person, progress=None, minutes=10, note="")
        db.session.commit()
    assert _latest(app, cohort, world["participant"]).channel is Channel.CHECK_IN


def _roster_cell(client, cohort_id: int, name: str) -> str:
    """The "Last activity" cell of ``name``'s row on the roster."""
    page = client.get(f"/cohorts/{cohort_id}/people").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>\s*<th scope=\"row\"><a [^>]*>{re.escape(name)}</a>.*?</tr>",
                    page, re.S)
    assert row, f"{name} is not on the roster"
    return re.findall(r"<td>(.*?)</td>", row.group(0), re.S)[-1]


def test_the_roster_and_the_patron_home_show_the_feed_as_the_channel(app, world,
                                                                      role_client):
    facilitator, patron = role_client("facilitator"), role_client("patron")
    assert "none yet" in _roster_cell(facilitator, world["cohort"], "Alex Participant")
    with app.app_context():
        _post(world["cohort"], world["participant"], now_utc() - 2 * DAY)
        db.session.commit()
    cell = _roster_cell(facilitator, world["cohort"], "Alex Participant")
    assert "cohort feed" in cell
    assert "silent" not in cell
    page = patron.get("/patron")
    assert page.status_code == 200
    assert "· cohort feed" in page.get_data(as_text=True)


def test_the_feed_costs_one_query_whatever_the_number_of_people(app, world):
    """Six grouped queries for 1 person or 20 across two cohorts (five before the feed)."""
    def arrange(n: int) -> list[tuple[int, int]]:
        with app.app_context():
            cohorts = [db.session.get(Cohort, world["cohort"]), factories.make_cohort()]
            people = []
            for i in range(n):
                target = cohorts[i % 2]
                person = factories.make_user()
                factories.add_member(target, person, CohortRole.PARTICIPANT)
                post_id = _post(target.id, person.id, now_utc() - DAY)
                _comment(post_id, world["facilitator"], now_utc())
                _comment(post_id, person.id, now_utc() - timedelta(hours=i + 1))
                people.append((target.id, person.id))
            db.session.commit()
            return people

    def count(people: list[tuple[int, int]]) -> int:
        with app.app_context(), counting_queries(app) as statements:
            found = last_activities(people)
            assert set(found) == set(people)
            assert {a.channel for a in found.values()} == {Channel.FEED}
        # what the database is asked (SQLite's BEGIN is the driver's, not a query)
        return len([s for s in statements if not s.startswith("BEGIN")])

    one, twenty = count(arrange(1)), count(arrange(20))
    assert one == twenty == 6
