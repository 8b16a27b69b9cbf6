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
from dap.nudges.models import MessagePreference, Notification

#: what a message from a deleted account reads as
ERASED_TITLE = "A message"

NAMES = ("notifications", "email_preferences")


def export_collections(user: User) -> dict[str, list[dict[str, Any]]]:
    """The notifications they received and the messages they sent (nudges, review
    requests, suggestions…), and their email choices. Two queries."""
    sender, recipient = aliased(User), aliased(User)
    rows = db.session.execute(
        select(Notification, Cohort.name, sender.name, recipient.name)
        .outerjoin(Cohort, Cohort.id == Notification.cohort_id)
        .outerjoin(sender, sender.id == Notification.sender_id)
        .join(recipient, recipient.id == Notification.user_id)
        .where(or_(Notification.user_id == user.id,
                   Notification.sender_id == user.id))
        .order_by(Notification.created_at, Notification.id)).all()
    return {"notifications": [
        {"cohort": cohort, "direction": "received" if n.user_id == user.id else "sent",
         "kind": n.kind.value, "from": from_name, "to": to_name, "title": n.title,
         "body": n.body, "created_at": n.created_at, "read_at": n.read_at,
         "reaction": n.reaction.value if n.reaction else None, "reacted_at": n.reacted_at,
         "emailed": n.email_state.value if n.user_id == user.id else None}
        for n, cohort, from_name, to_name in rows],
        "email_preferences": [
            {"category": p.category, "delivery": p.delivery, "updated_at": p.updated_at}
            for p in db.session.scalars(select(MessagePreference)
                                        .where(MessagePreference.user_id == user.id)
                                        .order_by(MessagePreference.category))]}


def erase(user: User) -> None:
    """Their inbox and email choices are deleted (emails still waiting for them are
    stopped by dap.accounts.privacy); the words of messages they sent are erased (title
    "A message", empty body), kept as counted rows for the people who received them."""
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.execute(delete(MessagePreference).where(MessagePreference.user_id == user.id))
    db.session.execute(update(Notification)
                       .where(Notification.sender_id == user.id)
                       .values(title=ERASED_TITLE, body=""))
