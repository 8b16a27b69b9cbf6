"""Mail transports: SMTP from ``DAP_MAIL_URL``, or .eml files when none is configured."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from dap.clock import now_utc

HEADER_POLICY = policy.default.clone(max_line_length=998)


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Deliver one message or raise."""


class SMTPTransport:
    """Sends over SMTP. ``smtp://`` upgrades with STARTTLS when the server offers it (and
    will not send a password unencrypted except to a server on this machine); ``smtps://``
    connects over TLS from the start."""

    def __init__(self, url: str, *, timeout: float = 15) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ValueError("DAP_MAIL_URL must look like smtp://user:pass@host:port")
        self.tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None

    def _tls(self) -> ssl.SSLContext:
        """The TLS settings, built on first use and kept: loading the system's certificates
        takes tens of milliseconds, too long to repeat for each of a run's emails."""
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _loopback(self) -> bool:
        return self.host in {"localhost", "127.0.0.1", "::1"}

    def send(self, message: EmailMessage) -> None:
        if self.tls:
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls()
            )
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            client.ehlo()
            if not self.tls and client.has_extn("starttls"):
                client.starttls(context=self._tls())
                client.ehlo()
            if self.username:
                if not self.tls and not client.has_extn("starttls") and not self._loopback():
                    raise smtplib.SMTPException(
                        "the mail server offers no STARTTLS: refusing to send the password "
                        "unencrypted (use smtps:// or a server that supports STARTTLS)"
                    )
                client.login(self.username, self.password or "")
            client.send_message(message)


class FileTransport:
    """Writes each message as an .eml file, so a demo shows what would have been sent."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = now_utc().strftime("%Y%m%dT%H%M%S")
        ident = message["X-DAP-Outbox-Id"] or "message"
        (self.directory / f"{stamp}-{ident}.eml").write_bytes(bytes(message))


def transport_for(mail_url: str, *, outbox_dir: Path, timeout: float) -> Transport:
    """The transport the configuration asks for."""
    if mail_url:
        return SMTPTransport(mail_url, timeout=timeout)
    return FileTransport(outbox_dir)


def message_id(*, outbox_id: int, dedup_key: str, domain: str) -> str:
    """The Message-ID of one outbox row: the same on every attempt, so a retry after a
    send whose answer was lost is recognisable as the same email. The dedup key is hashed,
    never shown (it may hold part of a reset token)."""
    digest = hashlib.sha256(dedup_key.encode()).hexdigest()[:16]
    return f"<dap.outbox.{outbox_id}.{digest}@{domain}>"


def build_message(
    *, sender: str, to: str, subject: str, text: str, html: str, outbox_id: int,
    dedup_key: str, domain: str, calendar_ics: str = "", unsubscribe_url: str = "",
) -> EmailMessage:
    """A multipart/alternative email with a stable Message-ID per outbox row.

    With ``calendar_ics``, the invitation goes in twice, as mail programs expect: as a
    ``text/calendar; method=…`` alternative (the one calendar-aware programs act on, with
    their add / update buttons) and as an ``invite.ics`` attachment for everyone else.

    With ``unsubscribe_url``, the RFC 2369 ``List-Unsubscribe`` and RFC 8058
    ``List-Unsubscribe-Post`` headers let mail programs offer their own one-click
    unsubscribe (a POST to the same signed address, which needs no sign-in)."""
    # Headers are folded at 998 characters, not 78: a long unsubscribe address has no space
    # to fold at, and the default policy would turn it into an RFC 2047 encoded-word, which
    # mail programs do not read as a List-Unsubscribe URL.
    message = EmailMessage(policy=HEADER_POLICY)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(now_utc())
    message["Message-ID"] = message_id(outbox_id=outbox_id, dedup_key=dedup_key, domain=domain)
    message["X-DAP-Outbox-Id"] = str(outbox_id)
    message["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    if calendar_ics:
        method = _ics_method(calendar_ics)
        message.add_alternative(calendar_ics, subtype="calendar", params={"method": method})
        message.add_attachment(calendar_ics.encode(), maintype="application", subtype="ics",
                               filename="invite.ics")
    return message


def _ics_method(calendar_ics: str) -> str:
    """The ``METHOD`` of an iCalendar object (REQUEST when it names none)."""
    for line in calendar_ics.splitlines():
        if line.upper().startswith("METHOD:"):
            return line.split(":", 1)[1].strip().upper()
    return "REQUEST"
