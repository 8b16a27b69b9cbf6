"""disk-full: a photo posted to the cohort feed while the upload disk is really full.

What it breaks: a small tmpfs (4 MiB) is mounted as ``DAP_UPLOAD_DIR`` and filled to the
last page with one file; gunicorn (4 workers) serves a throwaway PostgreSQL database with
the demo data. The demo participant posts to their cohort's feed as a person does: the
feed page's form, a few words, a description of the photo and a JPEG (multipart, with the
form's CSRF token). Then the filler is removed and the same form is sent again. The tmpfs
is unmounted at the end, whatever happened.

What it promises: with no room, the answer is a 4xx, not a 500, with a message that says
what is wrong ("no room for uploads") on the feed's form, which comes back with what the
person typed (the words, the description and the kind of post; a browser never refills a
file field, so the photo is chosen again); nothing is half-saved: no post, no image row,
no file left behind (no ``.part`` file, nothing but the filler). With room again, the same
post goes through (302 to the post) with its photo, whose file and thumbnail are on the
disk and served back.

How it checks: the answers' status and page text; the database (posts with the typed
words, image rows) and the files under the mount, before and after.
"""

from __future__ import annotations

import contextlib
import errno
import html
import io
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import data_shared as shared
import gunicorn_bench as gb
from PIL import Image
from sqlalchemy import create_engine, func, select
from urllib3 import encode_multipart_formdata
from verdict import Outcome

from dap.accounts.models import User
from dap.cohorts.models import CohortRole, Membership, MembershipStatus
from dap.community.models import Post, PostImage
from dap.demo import PARTICIPANTS
from dap.media import images

DESCRIPTION = ("a feed post with a photo onto a really full tmpfs: a clear 400 with the "
               "words kept, nothing half-saved; the same post once there is room")

TMPFS_SIZE = "4m"
PAGE = 4096  #: tmpfs counts whole pages
NO_ROOM = "no room for uploads"  #: in the message dap.media.storage gives for ENOSPC


@contextlib.contextmanager
def small_disk(mount_point: Path, outcome: Outcome) -> Iterator[Path]:
    """A tmpfs of ``TMPFS_SIZE`` mounted at ``mount_point``; unmounted on the way out."""
    mount_point.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "tmpfs",  # noqa: S603,S607
                    str(mount_point)], check=True, capture_output=True, timeout=30)
    try:
        yield mount_point
    finally:
        done = subprocess.run(["umount", str(mount_point)], capture_output=True, text=True,  # noqa: S603,S607
                              timeout=30, check=False)
        if done.returncode != 0:  # busy: detach it now, the kernel frees it when unused
            done = subprocess.run(["umount", "--lazy", str(mount_point)], capture_output=True,  # noqa: S603,S607
                                  text=True, timeout=30, check=False)
        outcome.check("the tmpfs is unmounted",
                      done.returncode == 0 and not os.path.ismount(mount_point),
                      f"umount exited {done.returncode} {done.stderr.strip()[:200]}".strip())


def fill(folder: Path) -> tuple[Path, int]:
    """Write one file until the disk refuses more (ENOSPC); its path and size."""
    filler = folder / "filler.bin"
    written = 0
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for chunk in (64 * 1024, 4096, 512, 1):
            while True:
                try:
                    written += os.write(fd, b"\0" * chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler, written


def photo() -> bytes:
    """A JPEG as a phone might send, smaller: 800 × 600 of noise (it does not compress)."""
    out = io.BytesIO()
    Image.effect_noise((800, 600), 60).convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def run(pg_server: str, workdir: Path) -> Outcome:
    outcome = Outcome("disk-full")
    email = PARTICIPANTS[0][0]
    with gb.throwaway_database("postgresql", workdir, pg_server) as url, \
            small_disk(workdir / "uploads", outcome) as uploads:
        port = gb.free_port()
        env = {**gb.app_environment(url, workdir, port), "DAP_UPLOAD_DIR": str(uploads)}
        seeded = shared.seed(env)
        engine = create_engine(url)
        try:
            cohort_id = _cohort_of(engine, email)
            server = gb.start_gunicorn(env, port, workdir)
            try:
                client = gb.sign_in_participant(port, email)
                outcome.note(f"set up in {seeded:.0f} s (migrate, demo); {email} signed in, "
                             f"posting to cohort {cohort_id}'s feed")
                _scenario(outcome, engine, client, cohort_id, uploads)
                errors = server.log_tail(200).count("Traceback")
            finally:
                gb.stop_gunicorn(server)
        finally:
            engine.dispose()
    outcome.note(f"tracebacks in gunicorn's log: {errors}")
    return outcome


def _cohort_of(engine, email: str) -> int:
    with engine.connect() as conn:
        cohort_id = conn.scalar(
            select(Membership.cohort_id).join(User, User.id == Membership.user_id)
            .where(User.email == email, Membership.role == CohortRole.PARTICIPANT,
                   Membership.status == MembershipStatus.ACTIVE).limit(1))
    if cohort_id is None:
        raise gb.BenchError(f"{email} is in no cohort")
    return cohort_id


def _scenario(outcome: Outcome, engine, client: gb.Client, cohort_id: int,
              uploads: Path) -> None:
    feed = f"/cohorts/{cohort_id}/feed"
    status, page = client.request("GET", feed)
    token = gb.FORM_CSRF_RE.search(page.decode())
    if status != 200 or not token:
        raise gb.BenchError(f"GET {feed} answered {status} without the post form")
    words = f"Our team tried a photo walk for the newsletter ({uuid.uuid4().hex[:8]})"
    caption = "Three of us on the bridge, holding the first printed copy"
    image = photo()
    body, content_type = encode_multipart_formdata([
        ("csrf_token", next(g for g in token.groups() if g)), ("kind", "story"),
        ("body", words), ("link_url", ""), ("link_text", ""), ("image_description", caption),
        ("images", ("bridge.jpg", image, "image/jpeg"))])

    def send() -> shared.Answer:
        return shared.fetch(client, "post", 0, "POST", feed, body,
                            {"Content-Type": content_type})

    def stored() -> tuple[int, int]:
        """Posts with the typed words, and image rows in all."""
        with engine.connect() as conn:
            return (conn.scalar(select(func.count()).select_from(Post).where(Post.body == words)),
                    conn.scalar(select(func.count()).select_from(PostImage)))

    # what the app will write: the photo re-encoded, then its thumbnail (whole pages each)
    cleaned = images.clean_image(image, field="images")
    photo_pages = -(-len(cleaned.data) // PAGE)
    images_before = stored()[1]
    filler, size = fill(uploads)
    outcome.note(f"photo sent {len(image) // 1024} KiB, stored {len(cleaned.data) // 1024} KiB "
                 f"+ thumbnail {len(cleaned.thumb) // 1024} KiB; filler {size // 1024} KiB "
                 f"on the {TMPFS_SIZE} tmpfs")
    rooms = {"no room at all": 0, "room for part of the photo": 16 * PAGE,
             "room for the photo, not its thumbnail": photo_pages * PAGE}
    refused, typed, clean = [], [], []
    for label, room in rooms.items():
        os.truncate(filler, size - room)
        free = os.statvfs(uploads)
        answer = send()
        text = answer.body.decode(errors="replace")
        refused.append((label, free.f_bavail * free.f_frsize, answer, NO_ROOM in text))
        typed.append((label, {
            "the words": html.escape(words) in text,
            "the description": f'value="{html.escape(caption)}"' in text,
            "the kind": 'selected value="story"' in text or 'value="story" selected' in text}))
        posts, rows = stored()
        left = [f.relative_to(uploads).as_posix() for f in files_under(uploads) if f != filler]
        clean.append((label, posts, rows - images_before, left))

    outcome.check(
        "a full disk is a 4xx with a message naming the problem",
        all(400 <= a.status < 500 and says for _, _, a, says in refused),
        "; ".join(f"{label} ({free // 1024} KiB free): {a.status} in {a.seconds * 1000:.0f} ms, "
                  f"{'says' if says else 'does NOT say'} '{NO_ROOM}'"
                  for label, free, a, says in refused))
    outcome.check(
        "the form comes back with what was typed",
        all(all(kept.values()) for _, kept in typed),
        "; ".join(f"{label}: " + ", ".join(f"{name} {'kept' if ok else 'LOST'}"
                                           for name, ok in kept.items())
                  for label, kept in typed)
        + " (the photo is chosen again: no browser refills a file field)")
    outcome.check(
        "nothing half-saved",
        all(posts == 0 and rows == 0 and not left for _, posts, rows, left in clean),
        "; ".join(f"{label}: {posts} posts with the words, {rows} new image rows, {len(left)} "
                  f"files besides the filler ({sum(f.endswith('.part') for f in left)} .part)"
                  + (f" {', '.join(left[:4])}" if left else "")
                  for label, posts, rows, left in clean))

    filler.unlink()
    again = send()
    posts, _ = stored()
    with engine.connect() as conn:
        found = conn.execute(select(PostImage.id, PostImage.key, Post.id)
                             .join(Post, Post.id == PostImage.post_id)
                             .where(Post.body == words)).all()
    on_disk = [f.name for f in files_under(uploads)]
    served = None
    if len(found) == 1:
        image_id, key, post_id = found[0]
        served = shared.fetch(client, "image", 0, "GET", f"{feed}/{post_id}/images/{image_id}")
    outcome.check(
        "with room again the same post goes through with its photo",
        again.status == 302 and posts == 1 and len(found) == 1
        and sum(1 for name in on_disk if name.startswith(found[0][1])) == 2
        and served is not None and served.status == 200
        and served.content_type.startswith("image/"),
        f"answered {again.status}; {posts} post, {len(found)} image row; files on the disk: "
        f"{len(on_disk)} (the photo and its thumbnail); the photo served: "
        + (f"{served.status} {served.content_type}, {len(served.body) // 1024} KiB"
           if served else "no image to ask for"))
