"""Delivery to a real SMTP server on loopback: sent, retried, given up, resent, never twice."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import logging
import smtplib

import pytest
import sqlalchemy as sa
import time_machine

from crm.db import utcnow
from crm.extensions import db
from crm.outbox import jobs
from crm.outbox import service as outbox
from crm.outbox.jobs import DeliveryRun, SmtpSettings, backoff, deliver_outbox
from crm.outbox.models import OutboxMessage, OutboxStatus
from tests.core.helpers import fresh
from tests.outbox.mailserver import LATER, REFUSED, MailServer


def queue(to_email: str = "jana.novak@employer.test", **overrides: object) -> OutboxMessage:
    values: dict = {"kind": "test_message", "to_email": to_email, "context": {}}
    values.update(overrides)
    message = outbox.queue_email(**values)  # type: ignore[arg-type]
    db.session.commit()
    return message


def minutes(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 60


def test_a_message_is_delivered_with_its_headers_and_both_parts(ctx, smtp):
    message = queue("j.mueller@employer.test", to_name="Jürgen Müller", language="de")

    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

    (received,) = smtp.received
    assert received.mail_from == "crm@school.test"
    assert received.rcpt_tos == ("j.mueller@employer.test",)
    mail = received.message
    assert str(mail["From"]) == "Partnership CRM <crm@school.test>"
    assert mail["To"].addresses[0].display_name == "Jürgen Müller"
    assert mail["To"].addresses[0].addr_spec == "j.mueller@employer.test"
    assert b"To: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <j.mueller@employer.test>" in received.raw
    assert mail["Subject"] == message.subject
    assert mail["Message-ID"] == message.message_id
    assert mail["Auto-Submitted"] == "auto-generated"
    assert abs(mail["Date"].datetime - utcnow()) < dt.timedelta(minutes=1)
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert text.get_content().rstrip("\n") == message.body_text.rstrip("\n")
    assert html.get_content().rstrip("\n") == message.body_html.rstrip("\n")
    assert "Mein Konto" in text.get_content()

    message = fresh(message)
    assert (message.status, message.attempts, message.claimed_until, message.last_error) == (
        OutboxStatus.SENT,
        1,
        None,
        "",
    )
    assert message.sent_at is not None
    # Sent is sent: later runs leave it alone.
    assert deliver_outbox(now=utcnow() + dt.timedelta(days=1)).claimed == 0
    assert len(smtp.received) == 1


def test_one_connection_carries_the_whole_batch(ctx, smtp):
    for n in range(5):
        queue(f"person{n}@employer.test")

    assert deliver_outbox().sent == 5

    assert len({received.peer for received in smtp.received}) == 1
    assert sorted(r.rcpt_tos[0] for r in smtp.received) == [
        f"person{n}@employer.test" for n in range(5)
    ]


def test_while_the_server_is_down_messages_wait_and_go_once_it_is_back(ctx, smtp):
    first, second = queue("a@employer.test"), queue("b@employer.test")
    smtp.stop()
    now = utcnow()

    assert deliver_outbox(now=now) == DeliveryRun(claimed=2, retrying=2)

    for message in (fresh(first), fresh(second)):
        assert (message.status, message.attempts, message.claimed_until) == (
            OutboxStatus.PENDING,
            1,
            None,
        )
        assert "Connection refused" in message.last_error
        waited = minutes(message.next_attempt_at - now)
        assert 2 <= waited <= 2.2 + 0.1
    smtp.start()
    # Not due again before the backoff has passed, even with the server back.
    assert deliver_outbox(now=now + dt.timedelta(minutes=1)).claimed == 0
    assert smtp.received == []

    with time_machine.travel(now + dt.timedelta(minutes=3), tick=True):
        assert deliver_outbox() == DeliveryRun(claimed=2, sent=2)

    assert sorted(r.rcpt_tos[0] for r in smtp.received) == ["a@employer.test", "b@employer.test"]
    for message in (fresh(first), fresh(second)):
        assert (message.status, message.attempts, message.last_error) == (OutboxStatus.SENT, 2, "")


def test_the_wait_between_attempts_doubles_up_to_six_hours_then_the_message_fails(
    ctx, smtp, app, monkeypatch
):
    monkeypatch.setitem(app.config, "CRM_OUTBOX_MAX_ATTEMPTS", 12)
    message = queue()
    smtp.stop()
    now = utcnow()
    waits = []
    for _attempt in range(11):
        run = deliver_outbox(now=now)
        assert run == DeliveryRun(claimed=1, retrying=1)
        message = fresh(message)
        waits.append(message.next_attempt_at - now)
        now = message.next_attempt_at

    expected = [2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]
    for wait, minimum in zip(waits, expected, strict=True):
        assert minimum <= minutes(wait) <= minimum * 1.1 + 0.1, (waits, expected)
    assert [backoff(n) for n in (1, 9, 500)] == [
        dt.timedelta(minutes=2),
        dt.timedelta(hours=6),
        dt.timedelta(hours=6),
    ]

    # The twelfth attempt is the last one allowed.
    assert deliver_outbox(now=now) == DeliveryRun(claimed=1, failed=1)
    message = fresh(message)
    assert (message.status, message.attempts) == (OutboxStatus.FAILED, 12)
    assert "Connection refused" in message.last_error
    smtp.start()
    assert deliver_outbox(now=now + dt.timedelta(days=30)).claimed == 0
    assert smtp.received == []


def test_a_refused_mailbox_fails_at_once_and_is_not_tried_again(ctx, smtp):
    smtp.refuse("gone@employer.test")
    gone = queue("gone@employer.test")
    queue("fine@employer.test")

    assert deliver_outbox() == DeliveryRun(claimed=2, sent=1, failed=1)

    gone = fresh(gone)
    assert (gone.status, gone.attempts, gone.claimed_until) == (OutboxStatus.FAILED, 1, None)
    assert gone.last_error == REFUSED
    assert [r.rcpt_tos for r in smtp.received] == [("fine@employer.test",)]
    assert deliver_outbox(now=utcnow() + dt.timedelta(days=1)).claimed == 0
    assert fresh(gone).attempts == 1


def test_a_mailbox_put_off_for_later_is_retried(ctx, smtp):
    smtp.refuse("busy@employer.test", LATER)
    message = queue("busy@employer.test")

    assert deliver_outbox() == DeliveryRun(claimed=1, retrying=1)

    message = fresh(message)
    assert (message.status, message.attempts, message.last_error) == (
        OutboxStatus.PENDING,
        1,
        LATER,
    )


def test_an_address_the_email_package_refuses_fails_without_network(ctx, smtp):
    message = queue("not an address")

    assert deliver_outbox() == DeliveryRun(claimed=1, failed=1)

    message = fresh(message)
    assert message.status == OutboxStatus.FAILED
    assert message.last_error.startswith("The address is not valid")
    assert smtp.received == []


def test_a_resend_to_a_corrected_address_is_delivered(ctx, smtp, manager):
    smtp.refuse("jana.novak@employer.tset")
    wrong = queue("jana.novak@employer.tset", to_name="Jana Novák")
    deliver_outbox()
    assert fresh(wrong).status == OutboxStatus.FAILED

    copy = outbox.resend(wrong, " Jana.Novak@employer.test ", acting=manager)
    db.session.commit()
    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

    (received,) = smtp.received
    assert received.rcpt_tos == ("Jana.Novak@employer.test",)
    assert received.message["Message-ID"] == copy.message_id != wrong.message_id
    assert received.message["Subject"] == wrong.subject
    wrong, copy = fresh(wrong), fresh(copy)
    assert (wrong.status, wrong.last_error) == (OutboxStatus.FAILED, REFUSED)
    assert (copy.status, copy.to_email, copy.to_name) == (
        OutboxStatus.SENT,
        "Jana.Novak@employer.test",
        "Jana Novák",
    )


@pytest.mark.parametrize("line_break", ["\r\n", "\n", "\r"])
def test_a_line_break_never_adds_a_header(ctx, smtp, line_break):
    injected = f"{line_break}Bcc: evil@example.test"
    queued = queue(to_name=f"Eve{injected}", context={"note": f"Hi{injected}"})
    # Rows written by other means are flattened again when the message is built.
    edited = queue("second@employer.test")
    edited.subject = f"Hello{injected}{line_break}X-Evil: 1"
    edited.to_name = f"Mallory{injected}"
    db.session.commit()

    assert deliver_outbox().sent == 2

    assert len(smtp.received) == 2
    for received in smtp.received:
        assert len(received.rcpt_tos) == 1
        assert "evil@example.test" not in received.rcpt_tos
        headers = received.raw.split(b"\r\n\r\n", 1)[0]
        assert not any(
            line.lower().startswith((b"bcc:", b"x-evil:")) for line in headers.split(b"\r\n")
        ), headers
        assert received.message["Bcc"] is None
    by_address = {r.rcpt_tos[0]: r.message for r in smtp.received}
    first = by_address[queued.to_email]
    assert first["To"].addresses[0].display_name == "Eve Bcc: evil@example.test"
    assert first["Subject"].endswith("Hi Bcc: evil@example.test")
    assert by_address["second@employer.test"]["Subject"] == (
        "Hello Bcc: evil@example.test X-Evil: 1"
    )


class Killed(BaseException):
    """The delivering process dies (as with kill -9)."""


def dies_at(count: int, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The deliverer dies as it starts its `count`-th message; the recipients it reached."""
    real_send = jobs.SmtpPostman.send
    reached: list[str] = []

    def send(self, message):
        if len(reached) + 1 == count:
            raise Killed
        real_send(self, message)
        reached.append(message.recipient)

    monkeypatch.setattr(jobs.SmtpPostman, "send", send)
    return reached


@pytest.mark.parametrize(("per_commit", "unrecorded"), [(1, 0), (2, 1), (10, 3)])
def test_a_batch_killed_half_way_is_finished_later_and_only_unrecorded_messages_go_twice(
    ctx, smtp, monkeypatch, per_commit, unrecorded
):
    """Killed as it starts the fourth of five messages, after committing every `per_commit`."""
    monkeypatch.setattr(jobs, "OUTCOMES_PER_COMMIT", per_commit)
    messages = [queue(f"person{n}@employer.test") for n in range(5)]
    real_send = jobs.SmtpPostman.send
    reached = dies_at(4, monkeypatch)
    now = utcnow()
    with pytest.raises(Killed):
        deliver_outbox(now=now)
    db.session.rollback()  # the process is gone with whatever it had not committed
    monkeypatch.setattr(jobs.SmtpPostman, "send", real_send)  # a new process
    assert reached == [f"person{n}@employer.test" for n in range(3)]

    recorded = 3 - unrecorded
    statuses = [fresh(m).status for m in messages]
    assert statuses == [OutboxStatus.SENT] * recorded + [OutboxStatus.PENDING] * (5 - recorded)
    # A restart within the claim leaves the rest to their (dead) holder ...
    assert deliver_outbox(now=now + dt.timedelta(minutes=1)).claimed == 0
    # ... and once the claim has run out, they are sent: those recorded as sent are not
    # sent again, those sent but not yet recorded once more, under the same Message-ID.
    assert deliver_outbox(now=now + dt.timedelta(minutes=6)) == DeliveryRun(
        claimed=5 - recorded, sent=5 - recorded
    )

    sent_ids = [r.message["Message-ID"] for r in smtp.received]
    for index, message in enumerate(messages):
        expected = 2 if recorded <= index < 3 else 1
        assert sent_ids.count(fresh(message).message_id) == expected, index
        assert fresh(message).status == OutboxStatus.SENT
    assert len(smtp.received) == 5 + unrecorded


def test_outcomes_wait_at_most_a_second_for_their_commit(ctx, smtp, monkeypatch):
    """Each message takes 0.6 s here: the outcomes of the first two are committed before
    the third is started (the oldest waited 1.2 s), so only the third goes twice."""

    class Clock:
        seconds = 0.0

        def monotonic(self) -> float:
            self.seconds += 0.6
            return self.seconds

    monkeypatch.setattr(jobs, "OUTCOMES_PER_COMMIT", 10)
    messages = [queue(f"person{n}@employer.test") for n in range(5)]
    monkeypatch.setattr(jobs, "time", Clock())
    dies_at(4, monkeypatch)
    with pytest.raises(Killed):
        deliver_outbox()
    db.session.rollback()

    statuses = [fresh(m).status for m in messages]
    assert statuses == [OutboxStatus.SENT] * 2 + [OutboxStatus.PENDING] * 3


def test_an_unexpected_error_still_records_what_was_sent(ctx, smtp, monkeypatch):
    messages = [queue(f"person{n}@employer.test") for n in range(4)]
    real_written = jobs._written
    calls = []

    def breaks_at_the_third(item):
        calls.append(item.id)
        if len(calls) == 3:
            raise RuntimeError("the database went away")
        return real_written(item)

    monkeypatch.setattr(jobs, "_written", breaks_at_the_third)

    with pytest.raises(RuntimeError):
        deliver_outbox()

    assert [fresh(m).status for m in messages] == [OutboxStatus.SENT] * 2 + [
        OutboxStatus.PENDING
    ] * 2
    assert len(smtp.received) == 2


def test_outcomes_are_committed_a_few_at_a_time(ctx, smtp, monkeypatch):
    """25 messages: three commits of outcomes (10, 10, 5), not 25."""
    monkeypatch.setattr(jobs, "OUTCOMES_PER_COMMIT", 10)
    for n in range(25):
        queue(f"person{n}@employer.test")
    commits = []
    real_commit = jobs._Outcomes.commit

    def counting(self):
        commits.append(len(self))
        real_commit(self)

    monkeypatch.setattr(jobs._Outcomes, "commit", counting)

    assert deliver_outbox() == DeliveryRun(claimed=25, sent=25)

    assert [n for n in commits if n] == [10, 10, 5]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
        )
        == 25
    )


def test_a_slow_batch_gives_back_what_it_cannot_send_before_its_claim_runs_out(
    ctx, smtp, monkeypatch
):
    """Each message takes 100 s here: after four minutes no new message is started."""

    class SlowClock:
        seconds = 0.0

        def monotonic(self) -> float:
            self.seconds += 100
            return self.seconds

    messages = [queue(f"person{n}@employer.test") for n in range(5)]
    monkeypatch.setattr(jobs, "time", SlowClock())
    now = utcnow()

    assert deliver_outbox(now=now) == DeliveryRun(claimed=5, sent=2, released=3)

    given_back = [fresh(m) for m in messages[2:]]
    assert all(
        (m.status, m.attempts, m.claimed_until) == (OutboxStatus.PENDING, 0, None)
        for m in given_back
    )
    # Due at once for the next run (no need to wait for the claim to run out).
    assert deliver_outbox(now=now) == DeliveryRun(claimed=3, sent=2, released=1)


def test_without_smtp_messages_go_to_the_development_mailbox_without_network(app, ctx, monkeypatch):
    assert app.config["CRM_SMTP_URL"] == ""

    def no_network(*args, **kwargs):
        raise AssertionError("the development mailbox must not open a connection")

    monkeypatch.setattr(smtplib, "SMTP", no_network)
    monkeypatch.setattr(smtplib, "SMTP_SSL", no_network)
    message = queue()
    message_id = message.message_id

    with app.app_context():  # as the scheduler runs it: no request
        assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

    message = fresh(message)
    assert (message.status, message.message_id, message.last_error) == (
        OutboxStatus.SENT,
        message_id,
        "",
    )
    assert message.sent_at is not None


def test_a_wrong_sender_setting_keeps_every_message_waiting(ctx, smtp, app, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_MAIL_FROM", "not an address")
    first, second = queue("a@employer.test"), queue("b@employer.test")

    assert deliver_outbox() == DeliveryRun(claimed=2, retrying=2)

    for message in (fresh(first), fresh(second)):
        assert (message.status, message.last_error) == (
            OutboxStatus.PENDING,
            "CRM_MAIL_FROM is not a valid address",
        )
    assert smtp.received == []


def test_the_log_names_message_ids_and_counts_not_addresses_or_links(ctx, smtp, caplog):
    smtp.refuse("gone@employer.test")
    queue("gone@employer.test")
    queue("fine@employer.test", to_name="Fine Person")

    with caplog.at_level(logging.DEBUG, logger="crm.outbox"):
        deliver_outbox()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "1 sent" in logged and "1 failed" in logged
    for secret in ("employer.test", "Fine Person", "http", "@"):
        assert secret not in logged


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.school.test", SmtpSettings("mail.school.test", 25)),
        ("smtp://mail.school.test:2525", SmtpSettings("mail.school.test", 2525)),
        (
            "smtp://crm%40school.test:p%40ss%3Aw0rd@mail.school.test?starttls=1",
            SmtpSettings(
                "mail.school.test",
                587,
                starttls=True,
                username="crm@school.test",
                password="p@ss:w0rd",
            ),
        ),
        (
            "smtps://u:p@mail.school.test",
            SmtpSettings("mail.school.test", 465, True, False, "u", "p"),
        ),
    ],
)
def test_the_smtp_url_is_read(url, expected):
    assert SmtpSettings.from_url(url) == expected


@pytest.mark.parametrize("url", ["http://mail.school.test", "smtp://", "mail.school.test"])
def test_an_unreadable_smtp_url_keeps_messages_waiting(ctx, app, monkeypatch, url):
    with pytest.raises(ValueError):
        SmtpSettings.from_url(url)
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", url)
    message = queue()

    assert deliver_outbox() == DeliveryRun(claimed=1, retrying=1)
    assert "CRM_SMTP_URL" in fresh(message).last_error


def test_a_server_that_is_not_there_in_time_is_a_temporary_failure(ctx, app, monkeypatch):
    """A listening socket that never answers: the timeout ends the wait."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setitem(
            app.config, "CRM_SMTP_URL", f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        )
        monkeypatch.setitem(app.config, "CRM_SMTP_TIMEOUT", 1)
        message = queue()
        assert deliver_outbox() == DeliveryRun(claimed=1, retrying=1)
    assert "timed out" in fresh(message).last_error


def test_the_server_gets_the_same_message_id_on_every_attempt(ctx, smtp):
    smtp.refuse("busy@employer.test", LATER)
    message = queue("busy@employer.test")
    deliver_outbox()
    del smtp.recorder.replies["busy@employer.test"]

    deliver_outbox(now=fresh(message).next_attempt_at)

    (received,) = smtp.received
    assert received.message["Message-ID"] == message.message_id


def test_a_server_closing_the_session_after_each_message_is_reconnected_to(
    ctx, smtp: MailServer, monkeypatch
):
    """The server closes the session after each message: the batch reconnects and goes on."""
    real_send = smtplib.SMTP.sendmail

    def closing_after_each(self, *args, **kwargs):
        result = real_send(self, *args, **kwargs)
        self.close()
        return result

    monkeypatch.setattr(smtplib.SMTP, "sendmail", closing_after_each)
    for n in range(3):
        queue(f"person{n}@employer.test")

    assert deliver_outbox() == DeliveryRun(claimed=3, sent=3)
    assert len({r.peer for r in smtp.received}) == 3


def test_an_address_with_a_non_ascii_domain_goes_to_a_server_that_offers_smtputf8(ctx, smtp):
    message = queue("jana@müller.test", to_name="Jana Novák")

    assert deliver_outbox() == DeliveryRun(claimed=1, sent=1)

    (received,) = smtp.received  # aiosmtpd offers SMTPUTF8 unless told otherwise
    assert received.rcpt_tos == ("jana@müller.test",)
    # SMTPUTF8 headers are UTF-8 (RFC 6532)
    mail = email.message_from_string(received.raw.decode("utf-8"), policy=email.policy.default)
    (to,) = mail["To"].addresses
    assert (to.display_name, to.addr_spec) == ("Jana Novák", "jana@müller.test")
    assert fresh(message).status == OutboxStatus.SENT


def test_an_address_with_a_non_ascii_domain_fails_for_good_where_smtputf8_is_missing(
    ctx, app, monkeypatch
):
    server = MailServer(enable_SMTPUTF8=False)
    server.start()
    try:
        monkeypatch.setitem(app.config, "CRM_SMTP_URL", server.url)
        message = queue("jana@müller.test")
        plain = queue("jana@mueller.test")

        assert deliver_outbox() == DeliveryRun(claimed=2, sent=1, failed=1)
    finally:
        server.stop()

    message = fresh(message)
    assert message.status == OutboxStatus.FAILED
    assert "SMTPUTF8" in message.last_error
    assert [r.rcpt_tos for r in server.received] == [("jana@mueller.test",)]
    assert fresh(plain).status == OutboxStatus.SENT
