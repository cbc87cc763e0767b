"""An outbox message as it goes over SMTP: the bytes of its MIME message, written directly.

The deliverer sends thousands of messages a run; the `email` package's EmailMessage spends
most of a message's time parsing and re-folding its own headers (about 1.7 ms, more than the
SMTP exchange). The messages here always have the same simple shape, so they are written
directly (about 0.1 ms):

- headers: every value is on one line (`single_line`: a line break in a name or subject can
  never start a header of its own); text that is not plain ASCII, or that looks like an
  encoded word, is written as RFC 2047 encoded words of at most 75 characters, `q` unless
  `b` is shorter by 5 or more, as the `email` package chooses; long lines are folded at
  spaces;
- bodies: UTF-8, quoted-printable (binascii, in C): lines of at most 76 characters, and no
  body can contain the multipart boundary, which starts with "=_" (an "=" in
  quoted-printable is always followed by two hex digits or a line break);
- an address with non-ASCII characters is written as it is (RFC 6532) and the message is
  marked `international`: it needs a server that offers SMTPUTF8.
"""

from __future__ import annotations

import binascii
import datetime as dt
import functools
import string
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address, AddressHeader, HeaderRegistry
from email.utils import format_datetime, formataddr

from crm.outbox.service import single_line

# The boundary of the text and HTML alternatives; see the module's docstring.
BOUNDARY = "=_crm-alternative"
MAX_LINE = 78  # RFC 5322's recommended line length, where folding is possible
_ENCODED_WORD_TEXT = 75 - len("=?utf-8?q??=")  # payload of one encoded word
_B_WORD_BYTES = 45  # 45 bytes make 60 base64 characters: a word of 72
# RFC 2047 section 5(3): in a phrase, only these may appear unencoded in a `q` word.
_Q_SAFE = frozenset(string.ascii_letters + string.digits + "!*+-/")


class AddressError(ValueError):
    """An address that cannot be written into a message."""


@dataclass(frozen=True)
class WireMessage:
    """What the SMTP session needs: envelope sender and recipient, and the message's bytes."""

    sender: str
    recipient: str
    data: bytes
    international: bool  # a non-ASCII address: needs SMTPUTF8


def message_bytes(
    *,
    sender: str,
    sender_header: str,
    to_email: str,
    to_name: str,
    subject: str,
    message_id: str,
    moment: dt.datetime,
    body_text: str,
    body_html: str,
) -> WireMessage:
    """The message: text and (if any) HTML alternatives, headers that no line break extends.

    AddressError if `to_email` is not a single valid address.
    """
    recipient = checked_address(to_email)
    headers = [
        _header("From", sender_header),
        _header("To", mailbox(single_line(to_name), recipient, "To")),
        _header("Subject", _encoded(single_line(subject), "Subject")),
        _header("Date", format_datetime(moment)),
        _header("Message-ID", single_line(message_id)),
        # RFC 3834: no auto-replies, please
        "Auto-Submitted: auto-generated",
        "MIME-Version: 1.0",
    ]
    if body_html:
        headers.append(f'Content-Type: multipart/alternative; boundary="{BOUNDARY}"')
        body = "\r\n".join(
            [
                "",
                f"--{BOUNDARY}",
                _part(body_text, "plain"),
                f"--{BOUNDARY}",
                _part(body_html, "html"),
                f"--{BOUNDARY}--",
                "",
            ]
        )
    else:
        body = _part(body_text, "plain")
    international = not (sender.isascii() and recipient.isascii())
    text = "\r\n".join(headers) + "\r\n" + body
    return WireMessage(sender, recipient, text.encode("utf-8"), international)


def checked_address(address: str) -> str:
    """`address` if it is one valid addr-spec on one line; AddressError otherwise."""
    try:
        parsed = Address(addr_spec=address)
    except (ValueError, IndexError, MessageError) as exc:
        raise AddressError(str(exc)) from exc
    if not parsed.domain or single_line(address) != address:
        raise AddressError(f"not a single address: {address!r}")
    return address


@functools.lru_cache(maxsize=8)
def sender_of(mail_from: str) -> tuple[str, str]:
    """The From header and the envelope sender for CRM_MAIL_FROM (parsed once).

    AddressError unless it is exactly one address with a domain.
    """
    try:
        header = HeaderRegistry()("From", mail_from)
        assert isinstance(header, AddressHeader)
        addresses = header.addresses
    except (ValueError, IndexError, MessageError) as exc:
        raise AddressError(str(exc)) from exc
    if header.defects or len(addresses) != 1 or not addresses[0].domain:
        raise AddressError("CRM_MAIL_FROM is not a single address")
    address = addresses[0]
    header_value = mailbox(single_line(address.display_name), address.addr_spec, "From")
    return header_value, address.addr_spec


def mailbox(name: str, address: str, header: str) -> str:
    """`Name <address>` with the name quoted or encoded as needed; the bare address if none."""
    if not name:
        return address
    if _needs_encoding(name):
        return f"{_encoded(name, header)} <{address}>"
    return formataddr((name, address))


def _header(name: str, value: str) -> str:
    """`Name: value`, folded at spaces so that lines stay within 78 characters where they can."""
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE:
        return line
    # The name stays with the value's first word: a value starting on a continuation line
    # would be read with a leading space.
    first, *words = value.split(" ")
    lines: list[str] = []
    current = f"{name}: {first}"
    for word in words:
        if len(current) + 1 + len(word) > MAX_LINE:
            lines.append(current)
            current = ""
        current = f"{current} {word}"
    lines.append(current)
    # Unfolding removes the CRLF before the space: the value reads exactly as it was.
    return "\r\n".join(lines)


def _needs_encoding(value: str) -> bool:
    return not value.isascii() or "=?" in value


def _encoded(value: str, header: str) -> str:
    """`value` as it is if plain ASCII, else as encoded words separated by spaces.

    The first word is short enough to share the first line with the header's name.
    """
    if not _needs_encoding(value):
        return value
    first = min(_ENCODED_WORD_TEXT, MAX_LINE - len(f"{header}: =?utf-8?q??="))
    q_pieces = [_q_piece(char) for char in value]
    b_length = 4 * -(-len(value.encode("utf-8")) // 3)
    # As the email package chooses: `q` (readable) unless longer by 5 or more.
    if sum(map(len, q_pieces)) - b_length < 5:
        return " ".join(_q_words(q_pieces, first))
    return " ".join(_b_words(value, first // 4 * 3))


def _q_piece(char: str) -> str:
    if char in _Q_SAFE:
        return char
    if char == " ":
        return "_"
    return "".join(f"={byte:02X}" for byte in char.encode("utf-8"))


def _q_words(pieces: list[str], first: int) -> list[str]:
    """`q` encoded words; a character's bytes are never split between two words."""
    words: list[str] = []
    current = ""
    for piece in pieces:
        room = _ENCODED_WORD_TEXT if words else first
        if current and len(current) + len(piece) > room:
            words.append(f"=?utf-8?q?{current}?=")
            current = ""
        current += piece
    words.append(f"=?utf-8?q?{current}?=")
    return words


def _b_words(value: str, first: int) -> list[str]:
    """`b` encoded words of whole characters (`first` bytes at most in the first one)."""
    words: list[str] = []
    current = b""
    for char in value:
        data = char.encode("utf-8")
        room = _B_WORD_BYTES if words else first
        if current and len(current) + len(data) > room:
            words.append(_b_word(current))
            current = b""
        current += data
    words.append(_b_word(current))
    return words


def _b_word(data: bytes) -> str:
    return f"=?utf-8?b?{binascii.b2a_base64(data, newline=False).decode('ascii')}?="


def _part(body: str, subtype: str) -> str:
    """A text part: its headers, a blank line, the body in quoted-printable with CRLF lines."""
    text = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    # Encoded with LF line ends (binascii would end soft breaks with LF in a text without
    # line breaks), then every line end made CRLF: the output has no other CR or LF.
    encoded = binascii.b2a_qp(text, quotetabs=False, istext=True).replace(b"\n", b"\r\n")
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n" + encoded.decode("ascii")
    )
