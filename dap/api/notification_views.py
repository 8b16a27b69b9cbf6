"""My notifications: the DAP inbox (nudges from patrons, messages about events, 1:1
sessions, the cohort feed…) and marking them read, through ``dap.nudges.notify`` as the
inbox page does. Only one's own: anyone else's notification is a 404. Reading nudges stays
open when the time cap is reached."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from dap import policy
from dap.api import schemas
from dap.api.event_views import keyset_page
from dap.api.routing import operation
from dap.nudges import notify
from dap.nudges.models import Notification


def notification_out(item: Notification) -> schemas.Notification:
    return schemas.Notification(
        id=item.id, kind=item.kind.value, title=item.title, body=item.body,
        sender=item.sender.name if item.sender is not None else None, cohort_id=item.cohort_id,
        created_at=item.created_at, read_at=item.read_at,
        # a link is a relative URL inside DAP; made absolute as the other items' ``url``
        url=request.url_root.rstrip("/") + item.link if item.link else None)


@operation("GET", "/notifications", summary="My notifications", tag="notifications",
           query=schemas.NotificationQuery, answer=schemas.NotificationList, capped_ok=True,
           description="Newest first, as in the inbox. Open while the time cap is reached: "
                       "reading nudges is allowed then.")
def list_notifications(query: schemas.NotificationQuery):
    stmt = (select(Notification).options(joinedload(Notification.sender))
            .where(Notification.user_id == current_user.id))
    if query.unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif query.unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    items, cursor = keyset_page(stmt, Notification.created_at, Notification.id,
                                descending=True, limit=query.limit, cursor=query.cursor,
                                at_of=lambda n: n.created_at)
    return schemas.NotificationList(items=[notification_out(n) for n in items],
                                    next_cursor=cursor)


@operation("POST", "/notifications/<int:notification_id>/read",
           summary="Mark a notification read", tag="notifications", scope="read-write",
           answer=schemas.Notification, capped_ok=True,
           description="Marking it again keeps the first reading time.")
def read_notification(notification_id: int):
    item = policy.load_notification(current_user, notification_id)
    notify.mark_read(item)
    return notification_out(item)


@operation("POST", "/notifications/read-all", summary="Mark all my notifications read",
           tag="notifications", scope="read-write", answer=schemas.MarkedRead, capped_ok=True)
def read_all_notifications():
    return schemas.MarkedRead(marked=notify.mark_all_read(current_user._get_current_object()))
