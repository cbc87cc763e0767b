"""A real SMTP server on loopback (aiosmtpd) that the delivery tests send to.

It keeps every message it accepts, can be told to refuse some recipients (550, permanent)
or to put others off (451, temporary), and can be stopped and started again on the same
port to play a server that is down.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

REFUSED = "550 5.1.1 Mailbox unavailable"
LATER = "451 4.3.0 Try again later"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on (aiosmtpd cannot pick one itself)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One message as the server received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    peer: tuple[str, int]  # the client's address and port: one per connection

    @property
    def message(self) -> EmailMessage:
        # On the wire lines end in CRLF; parsed with LF, bodies compare with the stored text.
        parsed = email.message_from_bytes(
            self.raw.replace(b"\r\n", b"\n"), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        return parsed


class Recorder:
    """The aiosmtpd handler: replies as told for some recipients, keeps what it accepts."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.replies: dict[str, str] = {}  # recipient address -> RCPT reply
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.replies.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    raw=bytes(envelope.original_content),
                    peer=tuple(session.peer),
                )
            )
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on 127.0.0.1 that can go down and come back on the same port."""

    def __init__(self, **smtp_options: Any) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self.controller: Controller | None = None
        self.smtp_options = smtp_options  # passed to aiosmtpd's SMTP: TLS, authentication

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def received(self) -> list[Received]:
        with self.recorder.lock:
            return list(self.recorder.received)

    def refuse(self, address: str, reply: str = REFUSED) -> None:
        """Answer RCPT TO for `address` with `reply` (550 by default; LATER for a 451)."""
        self.recorder.replies[address.lower()] = reply

    def start(self) -> None:
        # A stopped Controller cannot be started again (its event loop is closed).
        self.controller = Controller(
            self.recorder, hostname="127.0.0.1", port=self.port, **self.smtp_options
        )
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
