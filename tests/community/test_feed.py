"""The cohort feed through its pages: who may use it, posting, the limits and bad input,
kudos, comments, mentions, editing within the window, deleting, questions answered,
moderation and reports, paging, filtering and searching."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from dap.cohorts.models import Cohort, CohortRole
from dap.community.models import Comment, Kudos, Post, PostKind, Report
from dap.extensions import db
from dap.nudges.models import Notification, NotificationKind
from tests import factories
from tests.conftest import counting_queries, post_form


def feed_path(world, suffix=""):
    return f"/cohorts/{world['cohort']}/feed{suffix}"


def share(client, world, body="Tried a poll in our team meeting: 9 of 12 answered!",
          kind="tip", **extra):
    return post_form(client, feed_path(world), {"kind": kind, "body": body, **extra})


def post_id_of(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)[:600]
    return int(re.search(r"/feed/(\d+)$", response.location).group(1))


def notifications(app, kind: NotificationKind) -> list[tuple[int, str]]:
    with app.app_context():
        return [(n.user_id, n.title) for n in db.session.scalars(
            select(Notification).where(Notification.kind == kind).order_by(Notification.id))]


# --- who -------------------------------------------------------------------------------------


def test_participants_and_facilitators_use_the_feed_patrons_and_outsiders_do_not(
        world, role_client):
    post_id = post_id_of(share(role_client("participant"), world))
    for role in ("participant", "facilitator", "admin"):
        page = role_client(role).get(feed_path(world))
        assert page.status_code == 200, role
        assert "9 of 12 answered" in page.get_data(as_text=True)
    for role in ("patron", "outsider"):
        assert role_client(role).get(feed_path(world)).status_code == 404
        assert role_client(role).get(feed_path(world, f"/{post_id}")).status_code == 404
        assert share(role_client(role), world).status_code == 404


def test_a_post_of_another_cohort_is_not_found_here(app, world, role_client):
    with app.app_context():
        elsewhere = factories.make_cohort()
        author = factories.make_user()
        factories.add_member(elsewhere, author, CohortRole.PARTICIPANT)
        db.session.flush()
        found = Post(cohort_id=elsewhere.id, author_id=author.id, kind=PostKind.TIP, body="x")
        db.session.add(found)
        db.session.commit()
        other_id, other_cohort = found.id, elsewhere.id
    client = role_client("participant")
    assert client.get(feed_path(world, f"/{other_id}")).status_code == 404
    assert post_form(client, feed_path(world, f"/{other_id}/kudos")).status_code == 404
    assert client.get(f"/cohorts/{other_cohort}/feed").status_code == 404  # posting elsewhere
    assert post_form(client, f"/cohorts/{other_cohort}/feed",
                     {"kind": "tip", "body": "hi"}).status_code == 404


# --- posting -----------------------------------------------------------------------------------


def test_markdown_is_rendered_then_cleaned(world, role_client):
    client = role_client("participant")
    body = "**Bold** and [a link](https://example.org) <script>alert(1)</script>"
    post_id = post_id_of(share(client, world, body=body))
    page = client.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert "<strong>Bold</strong>" in page
    assert 'href="https://example.org" rel="noopener nofollow ugc"' in page
    assert "alert(1)" not in page


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"body": "x" * 100_000}, 400, "at most 10,000 characters; this one has 100,000"),
    ({"body": "   "}, 400, "Enter what you would like to share"),
    ({"body": ""}, 400, "Enter what you would like to share"),
    ({"kind": "gossip"}, 400, "Not a valid choice"),
    ({"link_url": "javascript:alert(1)"}, 400, "starting with https://"),
    ({"link_url": "data:text/html,hi"}, 400, "starting with https://"),
    ({"link_text": "Words without a link"}, 400, "Add the web address"),
    ({"link_url": "https://e.org/" + "a" * 600}, 400, "at most 500 characters"),
])
def test_bad_posts_are_refused_with_a_message(app, world, role_client, data, status, message):
    response = share(role_client("participant"), world, **data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_unicode_and_a_link_with_words(world, role_client):
    client = role_client("participant")
    post_id = post_id_of(share(client, world, body="Ça marche 🎉 — 日本語も", link_url="https://example.org/guide",
                               link_text="The guide we used"))
    page = client.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert "Ça marche 🎉 — 日本語も" in page
    assert '<a href="https://example.org/guide" rel="noopener nofollow ugc">The guide we used</a>' in page


def test_an_archived_cohort_feed_is_read_only(app, world, role_client):
    client = role_client("participant")
    post_id = post_id_of(share(client, world))
    with app.app_context():
        db.session.get(Cohort, world["cohort"]).is_archived = True
        db.session.commit()
    response = share(client, world, body="Another")
    assert response.status_code == 400
    assert "archived" in response.get_data(as_text=True)
    assert client.get(feed_path(world, f"/{post_id}")).status_code == 200


# --- kudos, comments, mentions --------------------------------------------------------------------


def test_kudos_once_each_never_on_ones_own(app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    assert post_form(jordan, feed_path(world, f"/{post_id}/kudos")).status_code == 302
    twice = post_form(jordan, feed_path(world, f"/{post_id}/kudos"))
    assert twice.status_code == 409
    assert "already" in twice.get_data(as_text=True)
    own = post_form(author, feed_path(world, f"/{post_id}/kudos"))
    assert own.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Kudos)) == 1
    assert post_form(jordan, feed_path(world, f"/{post_id}/kudos"),
                     {"take_back": "yes"}).status_code == 302
    assert post_form(jordan, feed_path(world, f"/{post_id}/kudos"),
                     {"take_back": "yes"}).status_code == 409


def test_a_comment_tells_the_author_and_a_mention_tells_who_is_named(
        app, world, role_client, other_participant):
    author = role_client("participant")
    jordan_id, jordan = other_participant
    post_id = post_id_of(share(author, world, kind="question",
                               body="How do you schedule posts? @jordan lee might know"))
    assert notifications(app, NotificationKind.MENTION) == [
        (jordan_id, "Alex Participant mentioned you in a question")]
    response = post_form(jordan, feed_path(world, f"/{post_id}/comments"),
                         {"body": "Use the scheduler in the app — cc @Sam Facilitator"})
    assert response.status_code == 302
    assert "#comment-" in response.location
    assert notifications(app, NotificationKind.COMMENT) == [
        (world["participant"], "Jordan Lee commented on your question")]
    assert (world["facilitator"], "Jordan Lee mentioned you in a comment") in notifications(
        app, NotificationKind.MENTION)
    page = author.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert "Use the scheduler in the app" in page
    # the author marks the question answered; someone else may not
    assert post_form(jordan, feed_path(world, f"/{post_id}/answered")).status_code == 400
    assert post_form(author, feed_path(world, f"/{post_id}/answered")).status_code == 302
    assert "answered</span>" in author.get(feed_path(world)).get_data(as_text=True)


def test_a_mention_of_someone_outside_the_cohort_tells_nobody(app, world, role_client):
    share(role_client("participant"), world, body="Thanks @Olly Outsider and @Pat Patron")
    assert notifications(app, NotificationKind.MENTION) == []


@pytest.mark.parametrize(("body", "message"), [
    ("", "Enter a comment"), ("y" * 2_001, "at most 2,000 characters")])
def test_bad_comments_are_refused(app, world, role_client, body, message):
    client = role_client("participant")
    post_id = post_id_of(share(client, world))
    response = post_form(client, feed_path(world, f"/{post_id}/comments"), {"body": body})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Comment)) == 0


# --- editing and deleting ----------------------------------------------------------------------


def test_authors_edit_within_the_window_and_nobody_else(app, world, role_client, frozen,
                                                        other_participant):
    start = frozen(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    assert jordan.get(feed_path(world, f"/{post_id}/edit")).status_code == 404
    assert post_form(jordan, feed_path(world, f"/{post_id}/edit"),
                     {"kind": "tip", "body": "hijacked"}).status_code == 404
    assert post_form(author, feed_path(world, f"/{post_id}/edit"),
                     {"kind": "reflection", "body": "Better words"}).status_code == 302
    frozen(start + timedelta(hours=25))
    late = post_form(author, feed_path(world, f"/{post_id}/edit"),
                     {"kind": "tip", "body": "Too late"})
    assert late.status_code == 409
    with app.app_context():
        found = db.session.get(Post, post_id)
        assert (found.body, found.kind) == ("Better words", PostKind.REFLECTION)
        assert found.edited_at is not None


def test_authors_delete_their_own_and_it_is_gone_for_everyone(world, role_client,
                                                               other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    assert post_form(jordan, feed_path(world, f"/{post_id}/delete")).status_code == 404
    assert post_form(author, feed_path(world, f"/{post_id}/delete")).status_code == 302
    for client in (author, jordan, role_client("facilitator")):
        assert client.get(feed_path(world, f"/{post_id}")).status_code == 404
    assert "9 of 12" not in jordan.get(feed_path(world)).get_data(as_text=True)


# --- moderation ----------------------------------------------------------------------------------


def test_a_facilitator_hides_a_post_with_a_reason_the_author_sees(
        app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world, body="Our manager is useless"))
    _, jordan = other_participant
    facilitator = role_client("facilitator")
    assert post_form(jordan, feed_path(world, f"/{post_id}/hide"),
                     {"reason": "no"}).status_code == 404  # members cannot hide
    assert post_form(facilitator, feed_path(world, f"/{post_id}/hide"),
                     {"reason": ""}).status_code == 400
    assert post_form(facilitator, feed_path(world, f"/{post_id}/hide"),
                     {"reason": "r" * 301}).status_code == 400
    assert post_form(facilitator, feed_path(world, f"/{post_id}/hide"),
                     {"reason": "Please keep it about the work, not people"}).status_code == 302
    assert jordan.get(feed_path(world, f"/{post_id}")).status_code == 404
    assert "useless" not in jordan.get(feed_path(world)).get_data(as_text=True)
    mine = author.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert "Why: Please keep it about the work, not people" in mine
    assert notifications(app, NotificationKind.POST_HIDDEN) == [
        (world["participant"], "A facilitator hid your post")]
    assert post_form(author, feed_path(world, f"/{post_id}/edit"),
                     {"kind": "tip", "body": "edited"}).status_code == 409
    assert post_form(facilitator, feed_path(world, f"/{post_id}/show")).status_code == 302
    assert jordan.get(feed_path(world, f"/{post_id}")).status_code == 200


def test_reports_once_each_never_ones_own_and_hiding_resolves_them(
        app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    path = feed_path(world, f"/{post_id}/report")
    assert post_form(author, path, {"reason": "mine"}).status_code == 400
    assert post_form(jordan, path, {"reason": ""}).status_code == 400
    assert post_form(jordan, path, {"reason": "Shares a resident's address"}).status_code == 302
    assert post_form(jordan, path, {"reason": "again"}).status_code == 409
    facilitator = role_client("facilitator")
    listing = facilitator.get(feed_path(world, "/reports"))
    assert "Shares a resident&#39;s address" in listing.get_data(as_text=True)
    assert jordan.get(feed_path(world, "/reports")).status_code == 404
    post_form(facilitator, feed_path(world, f"/{post_id}/hide"), {"reason": "Personal data"})
    assert "No reports waiting" in facilitator.get(feed_path(world, "/reports")).get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalars(select(Report)).one().resolved_at is not None


def test_comments_hidden_and_deleted(app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(share(author, world))
    _, jordan = other_participant
    made = post_form(jordan, feed_path(world, f"/{post_id}/comments"), {"body": "Rude words"})
    comment_id = int(made.location.rsplit("comment-", 1)[1])
    base = feed_path(world, f"/{post_id}/comments/{comment_id}")
    assert post_form(author, f"{base}/delete").status_code == 404  # not theirs
    assert post_form(author, f"{base}/report", {"reason": "rude"}).status_code == 302
    assert post_form(role_client("facilitator"), f"{base}/hide",
                     {"reason": "Be kind"}).status_code == 302
    assert "Rude words" not in author.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert "Why: Be kind" in jordan.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert post_form(jordan, f"{base}/delete").status_code == 302
    assert "Rude words" not in jordan.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert post_form(jordan, feed_path(world, f"/{post_id}/comments/999999/delete")).status_code == 404


# --- paging, filters, search ---------------------------------------------------------------------


def add_posts(app, world, count: int, *, kind=PostKind.TIP, start=0, body="Post number {}"):
    with app.app_context():
        base = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        db.session.add_all([Post(cohort_id=world["cohort"], author_id=world["participant"],
                                 kind=kind, body=body.format(i),
                                 created_at=base + timedelta(minutes=i // 2))
                            for i in range(start, start + count)])
        db.session.commit()


def test_pages_of_twenty_newest_first_with_no_post_twice(app, world, role_client):
    add_posts(app, world, 45)  # two posts share each minute: the id breaks the tie
    client = role_client("participant")
    seen: list[int] = []
    path = feed_path(world)
    pages = 0
    while path:
        page = client.get(path).get_data(as_text=True)
        pages += 1
        seen += [int(n) for n in re.findall(r"<p>Post number (\d+)</p>", page)]
        more = re.search(r'rel="next" href="([^"]+)"', page)
        path = more.group(1).replace("&amp;", "&") if more else None
    assert pages == 3
    assert seen == list(range(44, -1, -1))


@pytest.mark.parametrize("cursor", ["junk", "!!!", "x" * 500, "MTIz", "LTEuLTE"])
def test_a_bad_page_link_is_a_400_with_a_message(world, role_client, cursor):
    response = role_client("participant").get(feed_path(world, f"?before={cursor}"))
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_filter_by_kind_and_search_literally(app, world, role_client):
    add_posts(app, world, 3, kind=PostKind.QUESTION, body="Question {} about 100% effort")
    add_posts(app, world, 2, kind=PostKind.TIP, start=3, body="Tip {} with_underscore")
    client = role_client("participant")
    questions = client.get(feed_path(world, "?kind=question")).get_data(as_text=True)
    assert questions.count("Question ") == 3
    assert "Tip 3" not in questions
    assert client.get(feed_path(world, "?kind=nonsense")).status_code == 200  # all kinds
    found = client.get(feed_path(world, "?q=100%25")).get_data(as_text=True)
    assert found.count("about 100% effort") == 3
    assert "Tip " not in found
    assert "Tip 4" in client.get(feed_path(world, "?q=_underscore")).get_data(as_text=True)
    assert "Nothing matches" in client.get(feed_path(world, "?q=%25%25%25zz")).get_data(
        as_text=True)
    assert client.get(feed_path(world, "?q=" + "é" * 5000)).status_code == 200


def test_feed_queries_do_not_grow_with_the_posts(app, world, role_client):
    client = role_client("participant")

    def count() -> int:
        with counting_queries(app) as statements:
            assert client.get(feed_path(world)).status_code == 200
        return len(statements)

    add_posts(app, world, 20)
    small = count()
    add_posts(app, world, 200, start=20)
    assert count() == small
