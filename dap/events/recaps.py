"""Recaps: after an event, notes (Markdown) and photos from the facilitators and from the
participants — "amplifying offline action".

Anyone who runs the event, and any participant of its cohort, adds notes (one note per
person, changed in place) and photos once it has started; nobody adds to a cancelled event
or an archived cohort. Photos are cleaned by dap.media.images (decoded, size-limited,
re-encoded without EXIF or location) and kept on disk by dap.media.storage; an event holds
at most ``MAX_PHOTOS``. Authors delete their own; the cohort's facilitators delete any.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from dap.accounts.models import User
from dap.audit.services import record
from dap.clock import now_utc
from dap.errors import DomainError
from dap.events.models import Event, EventPhoto, RecapNote
from dap.extensions import db
from dap.media import uploads
from dap.text import clean_text

NOTE_MAX = 10_000
CAPTION_MAX = 300
#: photos per event, everyone's together
MAX_PHOTOS = 20
#: photos in one upload (each up to dap.media.images.MAX_BYTES)
MAX_PER_UPLOAD = 5


def open_for_recap(event: Event) -> bool:
    """Recaps open when the event starts (people share as it happens) and stay open."""
    return (not event.is_cancelled and not event.cohort.is_archived
            and event.starts_at <= now_utc())


def _check_open(event: Event) -> None:
    """:raise DomainError: (on no field: the page says it above the forms) when nothing can
        be added."""
    if event.is_cancelled:
        raise DomainError("This event was cancelled: there is nothing to recap.")
    if event.cohort.is_archived:
        raise DomainError("This cohort is archived: its recaps can no longer change.")
    if event.starts_at > now_utc():
        raise DomainError("Recaps open when the event starts.")


# --- notes --------------------------------------------------------------------------------------


def save_note(event: Event, author: User, body: str | None) -> RecapNote | None:
    """Set ``author``'s notes on ``event``; empty notes remove them. Returns the note, or
    None when removed.

    :raise DomainError: when recaps are not open, or the notes are too long.
    """
    _check_open(event)
    text = clean_text(body, field="body", max_len=NOTE_MAX, label="notes")
    note = db.session.scalar(select(RecapNote).where(RecapNote.event_id == event.id,
                                                     RecapNote.author_id == author.id))
    if not text:
        if note is not None:
            db.session.delete(note)
            db.session.flush()
        return None
    if note is None:
        note = RecapNote(event_id=event.id, author_id=author.id, body=text)
        db.session.add(note)
    elif note.body == text:
        return note
    else:
        note.body = text
        note.updated_at = now_utc()
    db.session.flush()
    return note


def notes_of(event: Event) -> list[RecapNote]:
    """Every note on ``event`` with its author, oldest first (one query)."""
    return list(db.session.scalars(
        select(RecapNote).options(joinedload(RecapNote.author))
        .where(RecapNote.event_id == event.id).order_by(RecapNote.created_at, RecapNote.id)))


def facilitator_ids(cohort_id: int) -> set[int]:
    """The cohort's active facilitators, to label their notes (one query)."""
    from dap.cohorts.models import CohortRole, Membership, MembershipStatus

    return set(db.session.scalars(select(Membership.user_id).where(
        Membership.cohort_id == cohort_id, Membership.role == CohortRole.FACILITATOR,
        Membership.status == MembershipStatus.ACTIVE)))


# --- photos -------------------------------------------------------------------------------------


#: one file as it arrived (dap.media.uploads)
Upload = uploads.Upload


def photo_count(event_id: int) -> int:
    return db.session.scalar(select(func.count(EventPhoto.id))
                             .where(EventPhoto.event_id == event_id)) or 0


def add_photos(event: Event, uploader: User, files: Iterable[Upload],
               captions: Iterable[str | None] = ()) -> list[EventPhoto]:
    """Clean and keep each photo, all or none: one bad file saves nothing (and says which).
    Files are written before the rows (dap.media.uploads); if the transaction does not
    commit, they are removed again.

    :raise DomainError: naming the file at fault, or when the event would pass
        ``MAX_PHOTOS``.
    """
    _check_open(event)
    files = [u for u in files if u.filename or u.stream]
    if not files:
        raise DomainError("Choose one or more photos to upload.", field="photos")
    if len(files) > MAX_PER_UPLOAD:
        raise DomainError(f"Upload at most {MAX_PER_UPLOAD} photos at a time.", field="photos")
    room = MAX_PHOTOS - photo_count(event.id)
    if len(files) > room:
        raise DomainError(f"An event keeps at most {MAX_PHOTOS} photos; there is room for "
                          f"{max(room, 0)} more.", field="photos")
    captions = [clean_text(c, field="caption", max_len=CAPTION_MAX, label="a description")
                for c in (list(captions) + [None] * len(files))[:len(files)]]
    stored = uploads.store(files, field="photos")
    photos = [EventPhoto(event_id=event.id, uploaded_by_id=uploader.id, key=image.key,
                         format=image.format, width=image.width, height=image.height,
                         thumb_width=image.thumb_width, thumb_height=image.thumb_height,
                         size_bytes=image.size_bytes, caption=caption)
              for image, caption in zip(stored, captions, strict=True)]
    remove_files_after_request([image.key for image in stored])
    db.session.add_all(photos)
    db.session.flush()
    record("event.photos_added", actor=uploader, cohort=event.cohort, event=event.id,
           photos=[p.id for p in photos])
    return photos


def remove_files_after_request(keys: list[str]) -> None:
    """Once the request is answered, remove the files of any of ``keys`` whose row is not
    in the database: written for a transaction that rolled back, or for a photo deleted."""
    uploads.tidy_after_request(keys, lambda found: set(db.session.scalars(
        select(EventPhoto.key).where(EventPhoto.key.in_(found)))))


def photos_of(event: Event) -> list[EventPhoto]:
    """The event's photos with who added them, oldest first (one query)."""
    return list(db.session.scalars(
        select(EventPhoto).options(joinedload(EventPhoto.uploaded_by))
        .where(EventPhoto.event_id == event.id).order_by(EventPhoto.id)))


@dataclass(frozen=True)
class Panel:
    """What the event's page shows of its recap."""

    notes: int
    photos: list[EventPhoto]  #: the first few, for thumbnails
    photo_count: int


def panel(event: Event, *, thumbnails: int = 4) -> Panel | None:
    """The recap's summary for the event's page, once the event has started (two or three
    queries); None before, and for a cancelled event."""
    if event.is_cancelled or event.starts_at > now_utc():
        return None
    notes = db.session.scalar(select(func.count(RecapNote.id))
                              .where(RecapNote.event_id == event.id)) or 0
    first = list(db.session.scalars(select(EventPhoto).where(EventPhoto.event_id == event.id)
                                    .order_by(EventPhoto.id).limit(thumbnails)))
    count = len(first) if len(first) < thumbnails else photo_count(event.id)
    return Panel(notes=notes, photos=first, photo_count=count)


def can_remove(photo: EventPhoto, person: User, *, manages: bool) -> bool:
    return manages or photo.uploaded_by_id == person.id


def remove_photo(photo: EventPhoto, *, actor: User, manages: bool) -> None:
    """Delete a photo (its author, or a facilitator of the cohort); the files go once the
    row is gone.

    :raise DomainError: for anyone else.
    """
    if not can_remove(photo, actor, manages=manages):
        raise DomainError("Only the person who added a photo, or a facilitator, can remove it.")
    event = db.session.get(Event, photo.event_id)
    db.session.delete(photo)
    db.session.flush()
    remove_files_after_request([photo.key])
    record("event.photo_removed", actor=actor, cohort=event.cohort, event=event.id,
           photo=photo.id, uploaded_by=photo.uploaded_by_id)
