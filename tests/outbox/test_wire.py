"""The bytes of a message as sent: read back by the `email` package exactly as they were meant.

crm.outbox.wire writes MIME messages directly instead of through EmailMessage (for speed);
these tests parse what it writes with the standard library's strict parser and compare.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from crm.outbox.service import single_line
from crm.outbox.wire import (
    BOUNDARY,
    AddressError,
    WireMessage,
    checked_address,
    message_bytes,
    sender_of,
)

MOMENT = dt.datetime(2026, 12, 6, 9, 30, tzinfo=dt.UTC)
SENDER_HEADER, SENDER = sender_of("Partnership CRM <crm@school.test>")

NAMES = [
    "",
    "Jana Novák",
    "Jürgen Müller",
    "O'Brien, Pat",  # a comma: must be quoted
    'Dr. "Doc" Smith',  # quotes inside a quoted name
    "Παπαδόπουλος Γιώργος",
    "山田 太郎",
    "=?utf-8?q?Admin?=",  # looks like an encoded word: must not be read as one
    "Anne-Sophie de la Fontaine-Beauvoir van der Berghe " * 3,  # long: folded
]
SUBJECTS = [
    "Follow-up due: Call about placement 5",
    "Wiedervorlage fällig: Erste Kontaktaufnahme nachfassen und einen Termin zur "
    "Bedarfsanalyse vereinbaren",
    "Υπενθύμιση: επικοινωνία με τον εργοδότη για την πρακτική άσκηση του μαθητή " * 2,
    "🎉 " * 40,
    "x" * 120,  # one long word cannot be folded: stays whole
    ("Please confirm the placement of Anne at Rheinwerk Tools GmbH " * 5).strip(),
    "=?utf-8?b?SGVsbG8=?= is not how I am written",
    "",
]
BODIES = [
    "Hello,\n\nplain text.\n",
    "Grüße aus Köln!\n-- \nSignature after the delimiter\n",
    "A line with = signs, tabs\tand trailing spaces   \nnext",
    ".\n..\n.leading dot\nFrom the start of a line\n",
    "x" * 300 + "\n" + "ü" * 200,
    "CRLF\r\nline\rends\n mixed",
    "",
]


def parse(message: WireMessage) -> EmailMessage:
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def build(**overrides: str) -> WireMessage:
    values = {
        "sender": SENDER,
        "sender_header": SENDER_HEADER,
        "to_email": "jana.novak@employer.test",
        "to_name": "Jana Novák",
        "subject": "Hello",
        "message_id": "<1.2.3@school.test>",
        "moment": MOMENT,
        "body_text": "Text\n",
        "body_html": "<p>HTML</p>\n",
    }
    values.update(overrides)
    return message_bytes(**values)  # type: ignore[arg-type]


def lines_of(message: WireMessage) -> list[bytes]:
    assert b"\n" not in message.data.replace(b"\r\n", b""), "bare LF or CR"
    assert b"\r" not in message.data.replace(b"\r\n", b""), "bare LF or CR"
    return message.data.split(b"\r\n")


def header_names(message: WireMessage) -> list[str]:
    head = message.data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if not line.startswith(" ")]


def same_text(sent: str, received: str) -> bool:
    """Bodies compare with line ends made LF (they travel as CRLF) and no final line end."""

    def normal(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")

    return normal(sent) == normal(received)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_names_and_subjects_read_back_exactly_on_short_lines(name, subject):
    message = build(to_name=name, subject=subject)

    parsed = parse(message)
    assert not parsed.defects
    assert str(parsed["Subject"]) == single_line(subject)
    (to,) = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == (single_line(name), "jana.novak@employer.test")
    assert not parsed["To"].defects and not parsed["Subject"].defects
    for line in lines_of(message):
        assert len(line) <= 998
        # Encoded words are at most 75 characters; only a single unbreakable word of plain
        # text may make a longer line.
        for word in re.findall(rb"=\?utf-8\?[qb]\?[^?]*\?=", line):
            assert len(word) <= 75, word
        if len(line) > 78:
            assert subject.startswith("x" * 120), line


@pytest.mark.parametrize("body", BODIES)
def test_bodies_read_back_exactly_in_short_lines_that_never_hold_the_boundary(body):
    html = f"<p>{body}</p>" if body else ""
    message = build(body_text=body, body_html=html)

    parsed = parse(message)
    assert not parsed.defects
    if html:
        assert parsed.get_content_type() == "multipart/alternative"
        plain = parsed.get_body(preferencelist=("plain",))
        rich = parsed.get_body(preferencelist=("html",))
        assert plain is not None and rich is not None
        assert same_text(body, plain.get_content())
        assert same_text(html, rich.get_content())
        assert rich.get_content_charset() == "utf-8"
    else:
        assert parsed.get_content_type() == "text/plain"
        assert same_text(body, parsed.get_content())
    assert parsed.get_content_charset() in {None, "utf-8"}
    lines = lines_of(message)
    assert all(len(line) <= 78 for line in lines)
    body_lines = message.data.split(b"\r\n\r\n", 1)[1].split(b"\r\n")
    assert sum(BOUNDARY.encode() in line for line in body_lines) == (3 if html else 0)


@pytest.mark.parametrize(
    "injected",
    [
        f"{line_break}Bcc: evil@example.test"
        for line_break in ("\r\n", "\n", "\r", "\x00", "\u2028", "\x85", "\x0b", "\x1c")
    ],
)
def test_a_line_break_or_control_character_never_adds_a_header(injected):
    message = build(
        to_name=f"Eve{injected}",
        subject=f"Hi{injected}",
        message_id=f"<1@school.test>{injected}",
        body_text=f"text{injected}",
    )

    assert header_names(message) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "Auto-Submitted",
        "MIME-Version",
        "Content-Type",
    ]
    parsed = parse(message)
    assert parsed["Bcc"] is None
    assert str(parsed["Subject"]) == single_line(f"Hi{injected}")


def test_the_headers_say_who_when_and_what():
    message = build()

    parsed = parse(message)
    assert str(parsed["From"]) == "Partnership CRM <crm@school.test>"
    assert parsed["Date"].datetime == MOMENT
    assert parsed["Message-ID"] == "<1.2.3@school.test>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["MIME-Version"] == "1.0"
    assert (message.sender, message.recipient, message.international) == (
        "crm@school.test",
        "jana.novak@employer.test",
        False,
    )
    # Readable where the email package would write it so: `q` words for Latin text.
    assert b"To: =?utf-8?q?Jana_Nov=C3=A1k?= <jana.novak@employer.test>" in message.data


@pytest.mark.parametrize(
    "address",
    [
        "not an address",
        "jana",
        "jana@",
        "@employer.test",
        "jana@employer.test\r\nBcc: evil@example.test",
        "jana@employer.test\nBcc: evil@example.test",
        "jana@employer.test, evil@example.test",
        "Jana <jana@employer.test>",
        "<jana@employer.test>",
        " jana@employer.test",
        "jana@employer.test\x00",
        "",
    ],
)
def test_anything_but_one_address_is_refused(address):
    with pytest.raises(AddressError):
        checked_address(address)
    with pytest.raises(AddressError):
        build(to_email=address)


def test_an_address_with_a_non_ascii_domain_needs_smtputf8():
    message = build(to_email="jana@müller.test")

    assert message.international
    # SMTPUTF8 headers are UTF-8 (RFC 6532)
    parsed = email.message_from_string(message.data.decode("utf-8"), policy=email.policy.default)
    (to,) = parsed["To"].addresses
    assert to.addr_spec == "jana@müller.test"


def test_a_non_ascii_local_part_is_refused_as_before():
    # The email package's address parser (which the deliverer always used) refuses it.
    with pytest.raises(AddressError):
        checked_address("jürgen@müller.test")


@pytest.mark.parametrize(
    ("mail_from", "header", "sender"),
    [
        ("crm@school.test", "crm@school.test", "crm@school.test"),
        (
            "Partnership CRM <crm@school.test>",
            "Partnership CRM <crm@school.test>",
            "crm@school.test",
        ),
        (
            "Berufskolleg Köln <crm@school.test>",
            "=?utf-8?q?Berufskolleg_K=C3=B6ln?= <crm@school.test>",
            "crm@school.test",
        ),
    ],
)
def test_the_sender_setting_is_read_once(mail_from, header, sender):
    assert sender_of(mail_from) == (header, sender)


@pytest.mark.parametrize(
    "mail_from",
    ["not an address", "crm", "a@school.test, b@school.test", "", "CRM <crm@>"],
)
def test_a_sender_setting_that_is_not_one_address_is_refused(mail_from):
    with pytest.raises(AddressError):
        sender_of(mail_from)
