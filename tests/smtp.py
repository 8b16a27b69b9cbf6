"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, keeping what it accepts."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import LoginPassword


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    authenticated: bool
    login: bytes | None
    #: the message as it arrived on the wire
    raw: bytes = b""


class Inbox:
    """aiosmtpd handler: keeps every message it accepts; can refuse the next few with 451."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.refused: list[EmailMessage] = []
        self.refuse_next = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address.startswith("bounce@"):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=policy.default)
        with self.lock:
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused.append(message)
                return "451 4.3.0 Mailbox busy, try again later"
            auth = getattr(session, "auth_data", None)
            self.received.append(Received(
                mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), message=message,
                authenticated=bool(session.authenticated),
                login=auth.login if isinstance(auth, LoginPassword) else None,
                raw=bytes(envelope.original_content or envelope.content or b""),
            ))
        return "250 2.0.0 Message accepted"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalSMTP:
    """An SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self, **smtp_options) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.options = smtp_options
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> LocalSMTP:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **self.options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
