"""What people put in the feed cannot attack the people reading it: every payload of the XSS
corpus through posts, link words, image descriptions and comments stays inert on the feed,
the post page, the stories and the reports; images go through the safe upload path."""

from __future__ import annotations

import io
import re

from sqlalchemy import func, select

from dap.community.models import Post, PostImage
from dap.extensions import db
from dap.media import storage
from tests.community.test_feed import feed_path, post_id_of
from tests.conftest import post_form
from tests.images import SVG, image_bytes, jpeg_with_location
from tests.xss import PAYLOADS, assert_inert, assert_strict_csp, find, parse


def user_content(html: str):
    """The parts of a page holding what people wrote (posts, comments, stories, reports)."""
    root, broken = parse(html)
    assert not broken, broken
    return list(find(root, lambda e: bool(e.classes() & {
        "user-content", "post-link", "post-images", "meta", "notice"}) or e.tag == "blockquote"))


def test_every_payload_stays_inert_through_the_feed(app, world, role_client, other_participant,
                                                   monkeypatch):
    from dap.extensions import limiter

    monkeypatch.setattr(limiter, "enabled", False)  # 100 posts in a minute: a test, not a person
    author = role_client("participant")
    _, jordan = other_participant
    facilitator = role_client("facilitator")
    ids = []
    for n, payload in enumerate(PAYLOADS):
        response = post_form(author, feed_path(world), {
            "kind": "story", "body": payload, "link_url": "https://example.org/x",
            "link_text": payload[:300]})
        ids.append(post_id_of(response))
        post_form(jordan, feed_path(world, f"/{ids[-1]}/comments"), {"body": payload})
        if n % 10 == 0:  # some through the moderation and story pages too
            post_form(jordan, feed_path(world, f"/{ids[-1]}/report"), {"reason": payload[:300]})
            post_form(author, feed_path(world, f"/{ids[-1]}/story"))
    pages = [author.get(feed_path(world)), facilitator.get(feed_path(world, "/reports")),
             jordan.get(f"/cohorts/{world['cohort']}/stories")]
    pages += [jordan.get(feed_path(world, f"/{post_id}")) for post_id in ids]
    for response in pages:
        assert response.status_code == 200
        assert_strict_csp(response)
        html = response.get_data(as_text=True)
        assert_inert(html, page=True, context=response.request.path)
        for part in user_content(html):
            assert_inert(part, context=response.request.path)
    # hide one with a payload as the reason: the author sees it, inert
    post_form(facilitator, feed_path(world, f"/{ids[0]}/hide"), {"reason": PAYLOADS[0][:300]})
    html = author.get(feed_path(world, f"/{ids[0]}")).get_data(as_text=True)
    assert_inert(html, page=True)


def upload(client, world, files, **extra):
    data = {"kind": "recap", "body": "Photos from the litter pick", **extra,
            "images": [(io.BytesIO(content), name) for name, content in files]}
    return post_form(client, feed_path(world), data, content_type="multipart/form-data")


def test_photos_are_cleaned_stored_and_served_safely(app, world, role_client, other_participant):
    author = role_client("participant")
    post_id = post_id_of(upload(author, world, [("pick.jpg", jpeg_with_location()),
                                                ("team.png", image_bytes("PNG"))],
                                image_description="Six of us with bin bags"))
    with app.app_context():
        images = db.session.scalars(select(PostImage).order_by(PostImage.id)).all()
        assert [i.format for i in images] == ["jpeg", "png"]
        assert {i.description for i in images} == {"Six of us with bin bags"}
        stored = storage.path_of(images[0].key, "jpg").read_bytes()
        image_ids = [i.id for i in images]
    assert b"PhoneMaker" not in stored  # camera and location details removed
    _, jordan = other_participant
    page = jordan.get(feed_path(world, f"/{post_id}")).get_data(as_text=True)
    assert 'alt="Six of us with bin bags"' in page
    response = jordan.get(feed_path(world, f"/{post_id}/images/{image_ids[0]}/thumb"))
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()  # the file is streamed
    # another post's image through this post's address, a patron, a missing one
    assert jordan.get(feed_path(world, f"/{post_id}/images/999999")).status_code == 404
    assert role_client("patron").get(
        feed_path(world, f"/{post_id}/images/{image_ids[0]}")).status_code == 404
    # deleting the post deletes its images and their files
    assert post_form(author, feed_path(world, f"/{post_id}/delete")).status_code == 302
    assert jordan.get(feed_path(world, f"/{post_id}/images/{image_ids[0]}")).status_code == 404
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(PostImage)) == 0
        assert not storage.path_of(images[0].key, "jpg").exists()


def test_bad_photos_are_refused_and_nothing_is_kept(app, world, role_client):
    author = role_client("participant")
    for files, message in (
            ([("evil.svg", SVG)], "not a photo"),
            ([("a.png", image_bytes("PNG"))] * 5, "at most 4 photos"),
            ([("fake.jpg", b"not an image at all")], "not a photo"),
    ):
        response = upload(author, world, files)
        assert response.status_code == 400
        assert re.search(message, response.get_data(as_text=True), re.I), message
    response = upload(author, world, [("a.png", image_bytes("PNG"))],
                      image_description="d" * 301)
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Post)) == 0
        assert db.session.scalar(select(func.count()).select_from(PostImage)) == 0


def test_posting_is_rate_limited_per_person(world, role_client):
    client = role_client("participant")
    statuses = [post_form(client, feed_path(world), {"kind": "tip", "body": f"Tip {n}"}
                          ).status_code for n in range(61)]
    assert statuses[:60] == [302] * 60
    assert statuses[60] == 429
