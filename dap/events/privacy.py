"""Privacy rules for events: what a person's export holds of the events domain, and what
deleting their account erases from it.

``export_collections`` and ``export_files`` read; ``erase`` writes and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.events.models import (
    Attendance,
    Event,
    EventFeedback,
    EventInvitation,
    EventPhoto,
    RecapNote,
    Rsvp,
)
from dap.events.recaps import remove_files_after_request
from dap.extensions import db
from dap.media import images, storage

#: the events collections of the export; their CSV columns are in
#: ``dap.accounts.privacy.COLLECTIONS``
NAMES = ("event_answers", "event_attendance", "event_feedback", "event_recap_notes",
         "event_photos")


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """Everything the events domain holds about ``user``, one list of rows per name in
    ``NAMES``. Five queries whatever the number of rows."""
    def rows(model, *order):
        return db.session.execute(
            select(model, Event.title, Event.starts_at, Cohort.name)
            .join(Event, Event.id == model.event_id).join(Cohort, Cohort.id == Event.cohort_id)
            .where((model.uploaded_by_id if model is EventPhoto else
                    model.author_id if model is RecapNote else model.user_id) == user.id)
            .order_by(Event.starts_at, *order)).all()

    return {
        "event_answers": [
            {"cohort": cohort, "event": title, "starts_at": starts, "answer": r.status.value,
             "waitlisted_at": r.waitlisted_at, "promoted_at": r.promoted_at,
             "answered_at": r.created_at, "updated_at": r.updated_at}
            for r, title, starts, cohort in rows(Rsvp, Rsvp.id)],
        "event_attendance": [
            {"cohort": cohort, "event": title, "starts_at": starts, "mark": a.mark.value,
             "recorded_at": a.recorded_at, "checked_in_yourself": a.recorded_by_id == user.id}
            for a, title, starts, cohort in rows(Attendance, Attendance.id)],
        "event_feedback": [
            {"cohort": cohort, "event": title, "starts_at": starts, "usefulness": f.usefulness,
             "what_worked": f.what_worked, "what_to_change": f.what_to_change,
             "created_at": f.created_at, "updated_at": f.updated_at}
            for f, title, starts, cohort in rows(EventFeedback, EventFeedback.id)],
        "event_recap_notes": [
            {"cohort": cohort, "event": title, "starts_at": starts, "notes": n.body,
             "created_at": n.created_at, "updated_at": n.updated_at}
            for n, title, starts, cohort in rows(RecapNote, RecapNote.id)],
        "event_photos": [
            {"cohort": cohort, "event": title, "starts_at": starts, "file": photo_name(p),
             "caption": p.caption, "width": p.width, "height": p.height,
             "added_at": p.created_at}
            for p, title, starts, cohort in rows(EventPhoto, EventPhoto.id)],
    }


def photo_name(photo: EventPhoto) -> str:
    """The photo's file in the export's ``photos/`` folder."""
    return f"photos/event-{photo.event_id}-photo-{photo.id}.{images.EXTENSIONS[photo.format]}"


def export_files(user: User) -> list[tuple[str, bytes]]:
    """The photos ``user`` added, as (name in the zip, contents); a file missing from disk
    is left out. One query."""
    files = []
    for photo in db.session.scalars(select(EventPhoto).where(EventPhoto.uploaded_by_id == user.id)
                                    .order_by(EventPhoto.id)):
        path = storage.path_of(photo.key, images.EXTENSIONS[photo.format])
        if path.is_file():
            files.append((photo_name(photo), path.read_bytes()))
    return files


def erase(user: User) -> None:
    """Erase what ``user`` put into events, for ``delete_account`` (same transaction; the
    caller commits): their recap notes and photos (the files go once the deletion has
    committed), the words of their feedback (how useful it was stays, for the counts),
    and the record of the invitations they were sent. Kept, under "Deleted user": answers
    and attendance, so numbers and insights stay right."""
    keys = list(db.session.scalars(select(EventPhoto.key)
                                   .where(EventPhoto.uploaded_by_id == user.id)))
    db.session.execute(delete(EventPhoto).where(EventPhoto.uploaded_by_id == user.id))
    db.session.execute(delete(RecapNote).where(RecapNote.author_id == user.id))
    db.session.execute(update(EventFeedback).where(EventFeedback.user_id == user.id)
                       .values(what_worked="", what_to_change=""))
    db.session.execute(delete(EventInvitation).where(EventInvitation.user_id == user.id))
    remove_files_after_request(keys)
