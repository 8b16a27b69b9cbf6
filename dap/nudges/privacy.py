"""Privacy rules for notifications: what a person's export holds of them, and what deleting
their account erases.

``export_collections`` reads; ``erase`` writes with bulk statements and never commits
(``dap.accounts.privacy.delete_account`` owns the transaction).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import aliased

from dap.accounts.models import User
from dap.cohorts.models import Cohort
from dap.extensions import db
from dap.nudges.models import NUDGE_KINDS, Notification

#: what a free-text nudge from a deleted account reads as
ERASED_TITLE = "A message"

NAMES = ("notifications",)


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """The notifications they received and the nudges they sent. One query."""
    sender, recipient = aliased(User), aliased(User)
    rows = db.session.execute(
        select(Notification, Cohort.name, sender.name, recipient.name)
        .outerjoin(Cohort, Cohort.id == Notification.cohort_id)
        .outerjoin(sender, sender.id == Notification.sender_id)
        .join(recipient, recipient.id == Notification.user_id)
        .where(or_(Notification.user_id == user.id,
                   (Notification.sender_id == user.id) & Notification.kind.in_(NUDGE_KINDS)))
        .order_by(Notification.created_at, Notification.id)).all()
    return {"notifications": [
        {"cohort": cohort, "direction": "received" if n.user_id == user.id else "sent",
         "kind": n.kind.value, "from": from_name, "to": to_name, "title": n.title,
         "body": n.body, "created_at": n.created_at, "read_at": n.read_at,
         "reaction": n.reaction.value if n.reaction else None, "reacted_at": n.reacted_at}
        for n, cohort, from_name, to_name in rows]}


def erase(user: User) -> None:
    """Their inbox is deleted; the words of nudges they sent are erased (title "A message",
    empty body), kept as counted rows for the people who received them."""
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(update(Notification)
                       .where(Notification.sender_id == user.id, Notification.kind.in_(NUDGE_KINDS))
                       .values(title=ERASED_TITLE, body=""))
