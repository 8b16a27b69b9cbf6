"""The recap of an event: notes and photos, and the photos themselves, served safely."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from dap import policy
from dap.content.render import render_markdown
from dap.core.forms import ConfirmForm, attempt
from dap.core.uploads import allows_upload
from dap.events import recaps
from dap.events.forms import PhotoForm, RecapNoteForm
from dap.events.models import Event, EventPhoto
from dap.extensions import db
from dap.media import images, uploads
from dap.timecap.gate import allowed_when_capped, not_a_page

bp = Blueprint("event_recaps", __name__)

#: the body of one upload: the photos at their largest, and room for the form around them
UPLOAD_BYTES = recaps.MAX_PER_UPLOAD * images.MAX_BYTES + 1024 * 1024


def _contributes(cohort) -> bool:
    """Facilitators who may change the cohort, and its participants."""
    return (policy.can_edit_cohort(current_user, cohort)
            or policy.can_answer_event(current_user, cohort))


def _require_contributor(cohort) -> None:
    if not _contributes(cohort):
        abort(403)


@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>/recap")
@policy.signed_in
@allowed_when_capped
def show(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    return _page(cohort, event)


def _page(cohort, event: Event, *, note_form: RecapNoteForm | None = None,
          photo_form: PhotoForm | None = None, status: int = 200):
    notes = recaps.notes_of(event)
    mine = next((n for n in notes if n.author_id == current_user.id), None)
    manages = policy.can_manage_cohort(current_user, cohort)
    contributes = _contributes(cohort) and recaps.open_for_recap(event)
    photos = recaps.photos_of(event)
    return render_template(
        "events/recap.html", cohort=cohort, event=event, notes=notes, photos=photos,
        rendered={n.id: render_markdown(n.body) for n in notes},
        facilitators=recaps.facilitator_ids(cohort.id),
        contributes=contributes, manages=manages,
        note_form=note_form or RecapNoteForm(data={"body": mine.body if mine else ""}),
        photo_form=photo_form or PhotoForm(), remove_form=ConfirmForm(),
        room=recaps.MAX_PHOTOS - len(photos), max_photos=recaps.MAX_PHOTOS,
    ), status


@bp.post("/cohorts/<int:cohort_id>/events/<int:event_id>/recap/notes")
@policy.signed_in
@allowed_when_capped
def save_note(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    _require_contributor(cohort)
    form = RecapNoteForm()
    kept = []
    if form.validate_on_submit() and attempt(form, lambda: kept.append(
            recaps.save_note(event, current_user, form.body.data))):
        flash("Your notes are in the recap." if kept[0] else "Your notes were removed.",
              "success")
        return redirect(url_for("event_recaps.show", cohort_id=cohort.id, event_id=event.id),
                        code=303)
    return _page(cohort, event, note_form=form, status=400)


@bp.post("/cohorts/<int:cohort_id>/events/<int:event_id>/recap/photos")
@policy.signed_in
@allowed_when_capped
@allows_upload(UPLOAD_BYTES)
def upload(cohort_id: int, event_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    _require_contributor(cohort)
    form = PhotoForm()
    added: list[EventPhoto] = []
    if form.validate_on_submit():
        files = [recaps.Upload(filename=f.filename or "", stream=f.stream)
                 for f in (form.photos.data or []) if f and (f.filename or f.content_length)]
        caption = form.caption.data
        if attempt(form, lambda: added.extend(recaps.add_photos(
                event, current_user, files, [caption] * len(files)))):
            flash(f"{len(added)} photo{'s' if len(added) != 1 else ''} added to the recap.",
                  "success")
            return redirect(url_for("event_recaps.show", cohort_id=cohort.id,
                                    event_id=event.id), code=303)
    return _page(cohort, event, photo_form=form, status=400)


def _load_photo(event: Event, photo_id: int) -> EventPhoto:
    photo = db.session.get(EventPhoto, photo_id)
    if photo is None or photo.event_id != event.id:
        abort(404)
    return photo


@bp.post("/cohorts/<int:cohort_id>/events/<int:event_id>/recap/photos/<int:photo_id>/remove")
@policy.signed_in
@allowed_when_capped
def remove(cohort_id: int, event_id: int, photo_id: int):
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    photo = _load_photo(event, photo_id)
    manages = policy.can_edit_cohort(current_user, cohort)
    if not recaps.can_remove(photo, current_user, manages=manages):
        abort(403)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if attempt(None, lambda: recaps.remove_photo(photo, actor=current_user, manages=manages)):
        flash("Photo removed.", "success")
    return redirect(url_for("event_recaps.show", cohort_id=cohort.id, event_id=event.id),
                    code=303)


@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>/photos/<int:photo_id>",
        defaults={"variant": "photo"})
@bp.get("/cohorts/<int:cohort_id>/events/<int:event_id>/photos/<int:photo_id>/thumb",
        defaults={"variant": "thumb"}, endpoint="thumb")
@policy.signed_in
@not_a_page
def photo(cohort_id: int, event_id: int, photo_id: int, variant: str):
    """A photo or its thumbnail, to the people who may see the event. Always the type it
    was re-encoded as, never sniffed, never a document that can run script."""
    cohort, event = policy.load_cohort_event(current_user, cohort_id, event_id)
    found = _load_photo(event, photo_id)
    response = uploads.send_image(found.key, found.format, thumb=variant == "thumb",
                                  download_name=f"event-{event.id}-photo-{found.id}")
    if response is None:
        abort(404)
    return response
