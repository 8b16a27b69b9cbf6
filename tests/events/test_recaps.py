"""Recaps: notes and photos after an event. Photos are decoded, limited, re-encoded without
EXIF or location, given thumbnails and served safely; bad files are refused in plain words
and leave nothing behind."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from dap.events import recaps
from dap.events.models import Event, EventPhoto, RecapNote
from dap.extensions import db
from tests import factories
from tests.conftest import csrf_token, post_form
from tests.events.conftest import T0
from tests.images import SVG, image_bytes, jpeg_with_location, png_claiming

STARTED = T0 + timedelta(days=5, hours=2)  # Saturday 20 March 2027, 11:00 in London


# --- helpers -------------------------------------------------------------------------------------------


@pytest.fixture
def event_id(app, schedule, frozen):
    """The world's event (Saturday 20 March 2027, 10:00–12:00 London), now under way."""
    assert schedule().status_code == 303
    frozen(STARTED)
    with app.app_context():
        return db.session.scalar(select(Event.id))


def recap_path(world, event_id) -> str:
    return f"/cohorts/{world['cohort']}/events/{event_id}/recap"


def upload(client, world, event_id, files: list[tuple[bytes, str]], caption: str = ""):
    """POST the photo form as a browser does. The body is encoded in memory: the test
    client would spool a large one to a temporary file it never closes."""
    fields = MultiDict([("csrf_token", csrf_token(client)), ("caption", caption)])
    for data, name in files:
        fields.add("photos", FileStorage(io.BytesIO(data), filename=name,
                                         content_type="application/octet-stream"))
    boundary, body = encode_multipart(fields)
    return client.post(f"{recap_path(world, event_id)}/photos", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def stored_files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def photo_rows(app) -> list[EventPhoto]:
    with app.app_context():
        rows = list(db.session.scalars(select(EventPhoto).order_by(EventPhoto.id)))
        db.session.expunge_all()
        return rows


def fetch(client, path: str):
    """GET a file and close the response (the app streams it from disk)."""
    response = client.get(path)
    response.get_data()
    response.close()
    return response


def text(response) -> str:
    return response.get_data(as_text=True)


# --- photos ------------------------------------------------------------------------------------------


def test_a_photo_loses_its_location_stands_upright_and_is_served_safely(
        app, world, event_id, role_client):
    participant = role_client("participant")
    response = upload(participant, world, event_id, [(jpeg_with_location(), "IMG_0001.jpg")],
                      caption="Post-its on the wall")
    assert response.status_code == 303, text(response)[:2000]
    (row,) = photo_rows(app)
    assert (row.format, row.width, row.height) == ("jpeg", 20, 40)  # turned upright
    assert row.caption == "Post-its on the wall"
    files = stored_files(app)
    assert len(files) == 2  # the photo and its thumbnail, nothing else (no .part left over)
    assert all(re.fullmatch(r"[0-9a-f]{32}(\.thumb)?\.jpg", f.name) for f in files)

    served = fetch(participant, f"/cohorts/{world['cohort']}/events/{event_id}/photos/{row.id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert served.headers["Content-Disposition"].startswith("inline;")
    assert "private" in served.headers["Cache-Control"]
    with Image.open(io.BytesIO(served.data)) as image:
        assert image.format == "JPEG"
        assert image.size == (20, 40)
        exif = image.getexif()
        assert len(exif) == 0
        assert exif.get_ifd(0x8825) == {}
    assert b"PhoneMaker" not in served.data
    assert b"Exif" not in served.data

    thumb = fetch(participant,
                  f"/cohorts/{world['cohort']}/events/{event_id}/photos/{row.id}/thumb")
    assert thumb.status_code == 200
    assert thumb.headers["Content-Type"] == "image/jpeg"
    page = text(participant.get(recap_path(world, event_id)))
    assert 'alt="Post-its on the wall"' in page
    assert f"/photos/{row.id}/thumb" in page


def test_a_large_photo_is_scaled_down_and_its_thumbnail_is_small(
        app, world, event_id, role_client):
    response = upload(role_client("participant"), world, event_id,
                      [(image_bytes("JPEG", (3000, 1000)), "wide.jpg")])
    assert response.status_code == 303
    (row,) = photo_rows(app)
    assert (row.width, row.height) == (2560, 853)
    assert (row.thumb_width, row.thumb_height) == (480, 160)


@pytest.mark.parametrize(("kind", "content_type"), [("PNG", "image/png"),
                                                    ("WEBP", "image/webp")])
def test_png_and_webp_are_kept_in_their_own_format(app, world, event_id, role_client, kind,
                                                   content_type):
    participant = role_client("participant")
    assert upload(participant, world, event_id,
                  [(image_bytes(kind), f"x.{kind.lower()}")]).status_code == 303
    (row,) = photo_rows(app)
    served = fetch(participant, f"/cohorts/{world['cohort']}/events/{event_id}/photos/{row.id}")
    assert served.headers["Content-Type"] == content_type


@pytest.mark.parametrize(("data", "name", "message"), [
    (b"Dear all, the minutes of the meeting.", "minutes.jpg", "is not a photo we can use"),
    (image_bytes("JPEG", (200, 200))[:300], "cut.jpg", "damaged or incomplete"),
    (png_claiming(8000, 6250), "bomb.png", "at most 40 megapixels"),
    (png_claiming(60000, 60000), "bigger-bomb.png", "too many pixels"),
    (SVG, "drawing.svg", "is not a photo we can use"),
    (SVG, "drawing.jpg", "is not a photo we can use"),
    (image_bytes("GIF"), "moving.gif", "is not a photo we can use"),
    (b"", "empty.jpg", "is empty"),
])
def test_what_is_not_a_whole_photo_is_refused_and_nothing_is_kept(
        app, world, event_id, role_client, data, name, message):
    response = upload(role_client("participant"), world, event_id, [(data, name)])
    assert response.status_code == 400
    body = text(response)
    assert message in body
    assert "Traceback" not in body
    assert photo_rows(app) == []
    assert stored_files(app) == []


def test_a_bomb_is_refused_before_any_pixel_is_decoded():
    from dap.media.images import clean_image

    with pytest.raises(recaps.DomainError, match="megapixels"):
        clean_image(png_claiming(7072, 7072), field="photos")  # 50 megapixels


def test_a_file_over_ten_megabytes_is_refused(app, world, event_id, role_client):
    too_big = image_bytes("JPEG") + b"\0" * (10 * 1024 * 1024)
    response = upload(role_client("participant"), world, event_id, [(too_big, "huge.jpg")])
    assert response.status_code == 400
    assert "is over 10 MB" in text(response)
    assert stored_files(app) == []


def test_uploads_above_the_site_wide_body_limit_reach_the_photo_check(
        app, world, event_id, role_client):
    """The site takes 16 MB bodies; this route takes five photos of up to 10 MB each."""
    junk = b"\xff" * (7 * 1024 * 1024)
    response = upload(role_client("participant"), world, event_id,
                      [(junk, "a.jpg"), (junk, "b.jpg"), (junk, "c.jpg")])
    assert response.status_code == 400  # read and refused for what it is, not 413
    assert "is not a photo" in text(response)
    client = role_client("participant")
    # the body as bytes (the test client spools a file upload to a temporary file that it
    # leaves open when the app refuses to read it)
    far_too_much = client.post(f"{recap_path(world, event_id)}/photos",
                               data=b"\xff" * (60 * 1024 * 1024),
                               content_type="multipart/form-data; boundary=x")
    assert far_too_much.status_code == 413
    assert "too large" in text(far_too_much)


def test_one_bad_file_among_good_ones_saves_none_and_names_it(
        app, world, event_id, role_client):
    response = upload(role_client("participant"), world, event_id, [
        (image_bytes("JPEG"), "good.jpg"), (b"not an image", "holiday.jpg"),
        (image_bytes("PNG"), "good.png")])
    assert response.status_code == 400
    assert "“holiday.jpg” is not a photo" in text(response)
    assert photo_rows(app) == []
    assert stored_files(app) == []


def test_a_path_for_a_name_reaches_neither_the_disk_nor_the_page(
        app, world, event_id, role_client, tmp_path):
    response = upload(role_client("participant"), world, event_id,
                      [(image_bytes("JPEG"), "../../x.jpg")])
    assert response.status_code == 303
    root = Path(app.config["UPLOAD_DIR"])
    assert not (root.parent / "x.jpg").exists()
    assert not (root.parent.parent / "x.jpg").exists()
    for path in stored_files(app):
        assert path.resolve().is_relative_to(root.resolve())
        assert "x.jpg" not in path.name
    bad = upload(role_client("participant"), world, event_id, [(b"junk", "../../y.jpg")])
    assert "“y.jpg” is not a photo" in text(bad)


def test_at_most_five_at_once_and_twenty_an_event(app, world, event_id, role_client,
                                                  monkeypatch):
    participant = role_client("participant")
    six = [(image_bytes("JPEG"), f"{n}.jpg") for n in range(6)]
    response = upload(participant, world, event_id, six)
    assert response.status_code == 400
    assert "at most 5 photos at a time" in text(response)
    monkeypatch.setattr(recaps, "MAX_PHOTOS", 3)
    assert upload(participant, world, event_id, six[:2]).status_code == 303
    full = upload(participant, world, event_id, six[:2])
    assert full.status_code == 400
    assert "room for 1 more" in text(full)
    assert upload(participant, world, event_id, six[:1]).status_code == 303
    assert len(photo_rows(app)) == 3
    assert "Remove one to add another" in text(participant.get(recap_path(world, event_id)))


def test_choosing_no_file_says_so(world, event_id, role_client):
    client = role_client("participant")
    response = client.post(f"{recap_path(world, event_id)}/photos",
                           data={"csrf_token": csrf_token(client), "caption": ""},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Choose one or more photos" in text(response)


def test_a_caption_too_long_is_refused(app, world, event_id, role_client):
    response = upload(role_client("participant"), world, event_id,
                      [(image_bytes("JPEG"), "a.jpg")], caption="x" * 301)
    assert response.status_code == 400
    assert photo_rows(app) == []


def test_no_photos_before_the_start_or_for_a_cancelled_event(
        app, world, schedule, role_client, frozen):
    assert schedule().status_code == 303
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    participant = role_client("participant")
    early = upload(participant, world, event_id, [(image_bytes("JPEG"), "a.jpg")])
    assert early.status_code == 400
    assert "Recaps open when the event starts" in text(early)
    post_form(role_client("facilitator"), f"/cohorts/{world['cohort']}/events/{event_id}/cancel",
              {"reason": ""})
    frozen(STARTED)
    cancelled = upload(participant, world, event_id, [(image_bytes("JPEG"), "a.jpg")])
    assert cancelled.status_code == 400
    assert "cancelled" in text(cancelled)
    assert photo_rows(app) == []


def test_patrons_read_the_recap_but_do_not_add_to_it(app, world, event_id, role_client):
    patron = role_client("patron")
    assert patron.get(recap_path(world, event_id)).status_code == 200
    assert upload(patron, world, event_id, [(image_bytes("JPEG"), "a.jpg")]).status_code == 403
    assert post_form(patron, f"{recap_path(world, event_id)}/notes",
                     {"body": "Lovely"}).status_code == 403


def test_other_cohorts_see_nothing(app, world, event_id, login_as):
    with app.app_context():
        other = factories.make_world()
        db.session.commit()
        outsider = db.session.get(type(other["participant"]), other["participant"].id)
        db.session.expunge_all()
    client = login_as(outsider)
    assert client.get(recap_path(world, event_id)).status_code == 404
    assert upload(client, world, event_id, [(image_bytes("JPEG"), "a.jpg")]).status_code == 404


def test_photos_answer_404_outside_their_event(app, world, event_id, schedule, role_client):
    participant = role_client("participant")
    assert upload(participant, world, event_id, [(image_bytes("JPEG"), "a.jpg")]).status_code \
        == 303
    (row,) = photo_rows(app)
    with app.app_context():
        event = db.session.get(Event, event_id)
        other = Event(cohort_id=event.cohort_id, kind=event.kind, title="Other",
                      starts_at=event.starts_at, ends_at=event.ends_at, mode=event.mode,
                      venue="Room 1", uid="other@dap", created_by_id=event.created_by_id)
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    base = f"/cohorts/{world['cohort']}/events"
    assert fetch(participant, f"{base}/{other_id}/photos/{row.id}").status_code == 404
    assert fetch(participant, f"{base}/{event_id}/photos/999999/thumb").status_code == 404
    assert fetch(participant, f"{base}/{event_id}/photos/{row.id}/x").status_code == 404
    assert fetch(role_client("anonymous"), f"{base}/{event_id}/photos/{row.id}").status_code == 302
    assert fetch(role_client("patron"), f"{base}/{event_id}/photos/{row.id}").status_code == 200


def test_authors_and_facilitators_remove_photos_and_their_files_go(
        app, world, event_id, role_client, participants):
    author = role_client("participant")
    (someone_else,) = participants(1)
    assert upload(author, world, event_id, [(image_bytes("JPEG"), "a.jpg"),
                                            (image_bytes("PNG"), "b.png")]).status_code == 303
    first, second = photo_rows(app)
    remove = f"{recap_path(world, event_id)}/photos/{{}}/remove"
    assert post_form(someone_else, remove.format(first.id)).status_code == 403
    assert post_form(author, remove.format(first.id)).status_code == 303
    assert post_form(role_client("facilitator"), remove.format(second.id)).status_code == 303
    assert photo_rows(app) == []
    assert stored_files(app) == []
    assert post_form(author, remove.format(first.id)).status_code == 404


def test_a_photo_whose_transaction_fails_leaves_no_file(app, world, event_id, role_client,
                                                      monkeypatch):
    from dap.audit import services as audit

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(recaps, "record", fail)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = upload(role_client("participant"), world, event_id,
                      [(image_bytes("JPEG"), "a.jpg")])
    assert response.status_code == 500
    assert photo_rows(app) == []
    assert stored_files(app) == []
    assert audit  # the real recorder is untouched


def test_a_full_disk_is_a_clear_message_and_nothing_is_kept(app, world, event_id, role_client,
                                                          monkeypatch):
    import errno
    import os

    real_replace = os.replace

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    response = upload(role_client("participant"), world, event_id,
                      [(image_bytes("JPEG"), "a.jpg")])
    monkeypatch.setattr(os, "replace", real_replace)
    assert response.status_code == 400
    assert "no room for uploads" in text(response)
    assert photo_rows(app) == []
    assert stored_files(app) == []


# --- notes -------------------------------------------------------------------------------------------


def test_notes_are_markdown_made_safe_one_per_person_and_labelled(
        app, world, event_id, role_client):
    participant, facilitator = role_client("participant"), role_client("facilitator")
    notes = f"{recap_path(world, event_id)}/notes"
    assert post_form(facilitator, notes, {"body": "We built **three** sites."}).status_code == 303
    assert post_form(participant, notes,
                     {"body": "Tried Canva 🎨 <script>alert(1)</script> [x](javascript:alert(1))"}
                     ).status_code == 303
    assert post_form(participant, notes, {"body": "Tried Canva 🎨, then Figma."}).status_code \
        == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(RecapNote.id))) == 2
    page = text(participant.get(recap_path(world, event_id)))
    assert "<strong>three</strong>" in page
    assert "Tried Canva 🎨, then Figma." in page
    assert "<script>alert(1)" not in page
    assert re.search(r"Facilitator</span>", page)
    assert "Tried Canva 🎨, then Figma.</textarea>" in page  # my notes, ready to change


def test_empty_notes_remove_mine_and_too_long_notes_keep_the_old(app, world, event_id,
                                                                  role_client):
    participant = role_client("participant")
    notes = f"{recap_path(world, event_id)}/notes"
    assert post_form(participant, notes, {"body": "First go"}).status_code == 303
    too_long = post_form(participant, notes, {"body": "x" * 10_001})
    assert too_long.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(RecapNote.body)) == "First go"
    assert post_form(participant, notes, {"body": "   "}).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(RecapNote.id))) == 0


def test_notes_need_the_form_token(world, event_id, role_client):
    client = role_client("participant")
    response = client.post(f"{recap_path(world, event_id)}/notes", data={"body": "Hi"})
    assert response.status_code == 400


def test_the_event_page_shows_the_recap_once_it_has_started(
        app, world, schedule, role_client, frozen):
    assert schedule().status_code == 303
    with app.app_context():
        event_id = db.session.scalar(select(Event.id))
    participant = role_client("participant")
    page = f"/cohorts/{world['cohort']}/events/{event_id}"
    assert "Recap" not in text(participant.get(page))
    frozen(STARTED)
    assert "Open the recap" in text(participant.get(page))
    upload(participant, world, event_id, [(image_bytes("JPEG"), "a.jpg")])
    shown = text(participant.get(page))
    assert "0 notes and 1 photo" in shown
    assert "/thumb" in shown
