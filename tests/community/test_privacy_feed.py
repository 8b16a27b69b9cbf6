"""The cohort feed in a person's data export, and what deleting their account erases."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import func, select

from dap.accounts.models import User
from dap.accounts.privacy import export_user_data
from dap.community.models import Comment, Kudos, Post, PostImage, Report
from dap.extensions import db
from dap.media import storage
from tests import factories
from tests.community.test_feed import feed_path, post_id_of
from tests.conftest import post_form
from tests.images import image_bytes


def fill(world, author, other):
    """Alex posts with a photo and comments; Jordan comments, gives kudos and reports."""
    post_id = post_id_of(post_form(author, feed_path(world), {
        "kind": "story", "body": "=HYPERLINK(\"x\") our survey", "link_url": "https://e.org",
        "images": [(io.BytesIO(image_bytes("PNG")), "a.png")]},
        content_type="multipart/form-data"))
    post_form(author, feed_path(world, f"/{post_id}/comments"), {"body": "My own note"})
    theirs = post_id_of(post_form(other, feed_path(world), {"kind": "tip", "body": "Jordan's tip"}))
    post_form(author, feed_path(world, f"/{theirs}/kudos"))
    post_form(author, feed_path(world, f"/{theirs}/report"), {"reason": "Looks like spam"})
    post_form(other, feed_path(world, f"/{post_id}/kudos"))
    return post_id, theirs


def test_export_holds_posts_comments_kudos_reports_and_photos(app, world, role_client,
                                                               other_participant):
    _, jordan = other_participant
    post_id, theirs = fill(world, role_client("participant"), jordan)
    with app.app_context():
        archive = zipfile.ZipFile(io.BytesIO(
            export_user_data(db.session.get(User, world["participant"]))))
        names = archive.namelist()
        posts = archive.read("feed_posts.csv").decode("utf-8")
        comments = archive.read("feed_comments.csv").decode("utf-8")
        kudos = archive.read("feed_kudos.csv").decode("utf-8")
        reports = archive.read("feed_reports.csv").decode("utf-8")
        image_id = db.session.scalars(select(PostImage.id)).one()
    assert f"feed/post-{post_id}-image-{image_id}.png" in names
    assert "'=HYPERLINK" in posts  # formula neutralised
    assert "Jordan's tip" not in posts
    assert "My own note" in comments
    assert f",{theirs}," in kudos
    assert "Looks like spam" in reports


def test_deleting_the_account_erases_what_they_wrote(app, world, role_client, other_participant):
    jordan_id, jordan = other_participant
    author = role_client("participant")
    post_id, theirs = fill(world, author, jordan)
    with app.app_context():
        key = db.session.scalars(select(PostImage.key)).one()
    assert post_form(author, "/account/delete", {"password": factories.PASSWORD}).status_code == 302
    with app.app_context():
        mine = db.session.get(Post, post_id)
        assert (mine.body, mine.link_url, mine.story_at) == ("", "", None)
        assert mine.deleted_at is not None
        assert {c.body for c in db.session.scalars(select(Comment))} == {""}
        assert db.session.scalar(select(func.count()).select_from(PostImage)) == 0
        assert not storage.path_of(key, "png").exists()
        assert db.session.scalars(select(Report.reason)).one() == ""
        # kudos they gave stay (without a name); Jordan's post is untouched
        assert db.session.scalar(select(func.count()).select_from(Kudos).where(
            Kudos.post_id == theirs)) == 1
        assert db.session.get(Post, theirs).body == "Jordan's tip"
    assert jordan.get(feed_path(world, f"/{post_id}")).status_code == 404
