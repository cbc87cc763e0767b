"""A link page decides only for the one open link its address names, and only by its form.

Tampered, expired, withdrawn, replayed, wrong-purpose and wrong-record links all get the same
plain page (410) and change nothing; opening a page (HEAD, GET) changes nothing; the pages
keep no cache, send no referrer, load nothing from elsewhere; no token reaches a log.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from werkzeug.serving import make_server

from crm.db import utcnow
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink, LinkEnd, LinkPurpose
from crm.outbox.jobs import deliver_outbox
from crm.placements.models import Placement
from tests.core.helpers import text
from tests.placements.support import history_of
from tests.portal.changes import (
    Snapshot,
    another_placement_sent,
    page_without_link,
    state_of,
    words,
)
from tests.portal.support import awaiting_employer, link_path

GONE = "This link no longer works"
CONFIRM = {
    "decision": "confirm",
    "first_name": "Sven",
    "last_name": "Supervisor",
    "email": "sven@kern.test",
    "phone": "+32 2 555 01 01",
}


@pytest.fixture(autouse=True)
def _settings(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 14)
    monkeypatch.setitem(app.config, "CRM_LINK_RATE_LIMIT", "1000/minute")
    monkeypatch.setitem(app.config, "CRM_SMTP_URL", "")


def assert_gone(response) -> None:
    """The one page for links that do not decide: 410, a fresh-link button, no address field."""
    assert response.status_code == 410, text(response)[:500]
    page = text(response)
    assert GONE in words(response)
    assert "Send me a fresh link" in page
    assert 'name="email"' not in page and 'type="email"' not in page


def other_token(token: str, at: int = -1) -> str:
    """The token with one character changed."""
    chars = list(token)
    chars[at] = "A" if chars[at] != "A" else "B"
    return "".join(chars)


# --- every link that does not decide: the same page, nothing changed -------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: other_token(t), id="last-character-changed"),
        pytest.param(lambda t: other_token(t, 0), id="first-character-changed"),
        pytest.param(lambda t: t[:-1], id="truncated"),
        pytest.param(lambda t: t + "A", id="one-character-more"),
        pytest.param(lambda t: "not-a-token", id="garbage"),
        pytest.param(lambda t: "A" * 43, id="well-formed-unknown"),
        pytest.param(lambda t: t.lower() if t.lower() != t else t.upper(), id="case-changed"),
    ],
)
def test_a_tampered_token_gets_the_plain_page_and_changes_nothing(sent, client, tamper):
    before = Snapshot.of(sent.placement)
    path = link_path(sent.link, tamper(sent.token))

    assert_gone(client.get(path))
    assert_gone(client.post_form(path, CONFIRM))

    assert Snapshot.of(sent.placement) == before
    assert state_of(sent.placement) == "awaiting_employer"


def test_the_valid_token_of_another_placements_link_decides_nothing_here(sent, officer, client):
    other = another_placement_sent(sent)
    before = Snapshot.of(sent.placement)

    # The other link's token under this placement's address, and this one's under the other's.
    assert_gone(client.post_form(link_path(sent.link, other.token), CONFIRM))
    assert_gone(client.post_form(link_path(other.link, sent.token), CONFIRM))

    assert Snapshot.of(sent.placement) == before
    assert (state_of(sent.placement), state_of(other.placement)) == (
        "awaiting_employer",
        "awaiting_employer",
    )


@pytest.mark.parametrize("slug", ["evaluate", "feedback", "sign", "nonsense"])
def test_a_confirmation_token_under_another_purpose_decides_nothing(sent, client, slug):
    before = Snapshot.of(sent.placement)
    path = f"/l/{slug}/{sent.placement.id}/{sent.token}"

    assert_gone(client.get(path))
    assert_gone(client.post_form(path, CONFIRM))

    assert Snapshot.of(sent.placement) == before


def test_another_links_token_of_the_same_record_decides_nothing_for_this_purpose(sent, client):
    feedback = links.issue(LinkPurpose.LEARNER_FEEDBACK, sent.placement)
    assert feedback is not None
    db.session.commit()
    before = Snapshot.of(sent.placement)

    assert_gone(client.post_form(link_path(sent.link, links.token_for(feedback)), CONFIRM))

    assert Snapshot.of(sent.placement) == before


def test_a_token_under_another_record_decides_nothing(sent, officer, client):
    other = another_placement_sent(sent)
    before = Snapshot.of(sent.placement)

    for record_id in (other.placement.id, sent.placement.id + 1000):
        path = f"/l/confirm/{record_id}/{sent.token}"
        assert_gone(client.get(path))
        assert_gone(client.post_form(path, CONFIRM))

    assert Snapshot.of(sent.placement) == before
    assert state_of(other.placement) == "awaiting_employer"


def test_an_expired_link_gets_the_plain_page_and_decides_nothing(sent, client):
    expires = sent.link.expires_at
    assert expires - sent.link.created_at == dt.timedelta(days=14)

    with time_machine.travel(expires - dt.timedelta(minutes=1), tick=False):
        assert client.get(sent.path).status_code == 200
    before = Snapshot.of(sent.placement)
    with time_machine.travel(expires + dt.timedelta(minutes=1), tick=False):
        assert_gone(client.get(sent.path))
        assert_gone(client.post_form(sent.path, CONFIRM))

    assert Snapshot.of(sent.placement) == before


def test_links_last_as_many_days_as_crm_link_days_says(app, officer, client, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_LINK_DAYS", 3)
    sent = awaiting_employer(officer)
    assert sent.link.expires_at - sent.link.created_at == dt.timedelta(days=3)

    with time_machine.travel(sent.link.created_at + dt.timedelta(days=3, minutes=-1), tick=False):
        assert client.get(sent.path).status_code == 200
    with time_machine.travel(sent.link.created_at + dt.timedelta(days=3, minutes=1), tick=False):
        assert_gone(client.post_form(sent.path, CONFIRM))
    assert state_of(sent.placement) == "awaiting_employer"


def test_a_withdrawn_link_gets_the_plain_page_and_decides_nothing(sent, officer, client):
    assert client.get(sent.path).status_code == 200
    links.revoke(sent.link, officer)
    db.session.commit()
    before = Snapshot.of(sent.placement)

    assert_gone(client.get(sent.path))
    assert_gone(client.post_form(sent.path, CONFIRM))

    assert Snapshot.of(sent.placement) == before


def test_a_link_whose_placement_changed_since_decides_nothing(sent, client):
    placement = db.session.get(Placement, sent.placement.id)
    placement.end_date = placement.end_date - dt.timedelta(days=7)
    db.session.commit()
    before = Snapshot.of(sent.placement)

    assert_gone(client.post_form(sent.path, CONFIRM))

    assert Snapshot.of(sent.placement) == before


def test_every_link_that_does_not_decide_gets_the_very_same_page(sent, officer, client):
    """Expired, withdrawn, replaced, unknown: a guesser cannot tell them apart."""
    links.revoke(sent.link, officer)
    replaced = another_placement_sent(sent)
    renewed = links.issue(LinkPurpose.CONFIRM_PLACEMENT, replaced.placement)
    assert renewed is not None
    renewed.expires_at = utcnow() - dt.timedelta(minutes=1)
    db.session.commit()
    assert db.session.get(ActionLink, replaced.link.id).end_reason == LinkEnd.SUPERSEDED

    pages = [
        client.get(sent.path),  # withdrawn
        client.get(replaced.path),
        client.get(link_path(renewed)),  # expired
        client.get(link_path(sent.link, other_token(sent.token))),
        client.get(f"/l/evaluate/{sent.placement.id}/{sent.token}"),
    ]

    assert [response.status_code for response in pages] == [410] * 5
    assert len({page_without_link(response) for response in pages}) == 1


# --- opening changes nothing; only the form's POST decides; once -----------------------------


def test_head_and_two_gets_change_nothing_then_the_post_decides(sent, client):
    before = Snapshot.of(sent.placement)

    assert client.head(sent.path).status_code == 200
    assert client.get(sent.path).status_code == 200
    assert client.get(sent.path, headers={"User-Agent": "Mail scanner 1.0"}).status_code == 200

    assert Snapshot.of(sent.placement) == before  # no transition, history, mail, link change
    response = client.post_form(sent.path, CONFIRM, headers={"User-Agent": "Phone browser"})
    assert response.status_code in (302, 303)
    assert state_of(sent.placement) == "confirmed"
    after = Snapshot.of(sent.placement)
    assert len(after.transitions) == len(before.transitions) + 1
    (link,) = [row for row in after.links if row["id"] == sent.link.id]
    assert link["spent_at"] is not None
    assert (link["decision"], link["decided_user_agent"]) == ("confirm", "Phone browser")


def test_a_replayed_decision_shows_the_answer_and_changes_nothing(sent, client, make_client):
    assert client.post_form(sent.path, CONFIRM).status_code in (302, 303)
    after_first = Snapshot.of(sent.placement)

    replayed = client.post_form(sent.path, {**CONFIRM, "first_name": "Mallory"})
    assert replayed.status_code == 200
    assert "This placement was confirmed on" in words(replayed)
    # Another browser (a forwarded e-mail), deciding otherwise: the same answer.
    stranger = make_client()
    declined = stranger.post_form(sent.path, {"decision": "decline", "reason": "other"})
    assert "This placement was confirmed on" in words(declined)
    assert "This placement was confirmed on" in words(stranger.get(sent.path))

    assert Snapshot.of(sent.placement) == after_first
    assert [t.to_state for t in history_of(sent.placement)][-1] == "confirmed"


def test_the_answered_page_gives_the_day_in_the_recipients_language_and_providers_zone(
    app, officer, client
):
    # 23:30 UTC on 28 February is 1 March in Brussels.
    with time_machine.travel(dt.datetime(2027, 2, 20, 9, 0, tzinfo=dt.UTC), tick=False):
        sent = awaiting_employer(officer)
        db.session.execute(
            sa.update(ActionLink).where(ActionLink.id == sent.link.id).values(language="de")
        )
        db.session.commit()
    with time_machine.travel(dt.datetime(2027, 2, 28, 23, 30, tzinfo=dt.UTC), tick=False):
        assert client.post_form(sent.path, CONFIRM).status_code in (302, 303)
        page = client.get(sent.path)

    assert app.config["CRM_DISPLAY_TIMEZONE"] == "Europe/Brussels"
    assert "1. März 2027" in words(page)
    assert '<html lang="de">' in text(page)


# --- headers, no outside requests, no referrer -----------------------------------------------


class _Addresses(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        for name, value in attrs:
            if name in {"src", "href", "action", "srcset", "poster", "data"} and value:
                self.found.append(value)


def assert_private_page(response) -> None:
    headers = response.headers
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "noindex" in headers["X-Robots-Tag"]
    parser = _Addresses()
    parser.feed(text(response))
    assert parser.scripts == 0
    outside = [
        address
        for address in parser.found
        if not (address.startswith("/") and not address.startswith("//"))
        and not address.startswith(("#", "mailto:", "tel:"))  # no request
        and not address.startswith("http://localhost/")
    ]
    assert not outside, outside
    assert '<meta name="referrer" content="no-referrer">' in text(response)


def test_every_link_page_is_private_and_loads_nothing_from_elsewhere(
    app, sent, client, monkeypatch
):
    opened = client.get(sent.path)
    gone = client.get(link_path(sent.link, other_token(sent.token)))
    fresh = client.post_form(f"{link_path(sent.link, other_token(sent.token))}/fresh")
    refused = client.post(sent.path, data=CONFIRM)  # no CSRF token
    client.post_form(sent.path, CONFIRM)
    answered = client.get(sent.path)
    monkeypatch.setitem(app.config, "CRM_LINK_RATE_LIMIT", "1/minute")
    limited = client.get(sent.path)

    statuses = [r.status_code for r in (opened, gone, fresh, refused, answered, limited)]
    assert statuses == [200, 410, 200, 400, 200, 429]
    for response in (opened, gone, fresh, refused, answered, limited):
        assert_private_page(response)


def test_the_public_stylesheet_loads_nothing_from_elsewhere():
    css = (Path(__file__).parents[2] / "crm" / "static" / "css" / "portal.css").read_text()
    assert "@import" not in css
    assert "http:" not in css and "https:" not in css and "url(//" not in css


def test_a_form_post_without_its_csrf_token_is_refused_in_the_public_layout(sent, client):
    before = Snapshot.of(sent.placement)

    response = client.post(sent.path, data=CONFIRM)

    assert response.status_code == 400
    assert "The form has expired" in words(response)
    assert "Go to the register" not in words(response)  # not the staff layout
    assert f'href="{sent.path}"' in text(response)  # back to the page, to post it again
    assert Snapshot.of(sent.placement) == before


def test_an_unexpected_error_on_a_link_page_is_shown_plainly_and_logged_without_the_token(
    app, sent, client, monkeypatch, caplog
):
    from flask import request

    from crm.portal import views

    def broken(link):
        raise RuntimeError(f"could not show {request.path}")

    monkeypatch.setitem(views.PAGES, LinkPurpose.CONFIRM_PLACEMENT, broken)
    monkeypatch.setitem(app.config, "CRM_RENDER_ERRORS_IN_TESTS", True)
    caplog.set_level(logging.ERROR)

    response = client.get(sent.path)

    assert response.status_code == 500
    assert "Something went wrong" in words(response)
    assert "Go to the register" not in words(response)
    assert_private_page(response)
    assert "could not show /l/confirm/" in caplog.text  # logged, with its traceback...
    assert sent.token not in caplog.text  # ...masked


def test_over_https_the_form_is_accepted_without_a_referrer(app, sent, client):
    """The pages send no referrer, so browsers post without one: Flask-WTF's HTTPS referrer
    check would refuse every decision in production."""
    assert app.config.get("WTF_CSRF_SSL_STRICT", True)

    response = client.post_form(sent.path, CONFIRM, base_url="https://localhost")

    assert response.status_code in (302, 303), text(response)[:300]
    assert state_of(sent.placement) == "confirmed"


# --- no token in any log ---------------------------------------------------------------------


def access_record(logger: str, message: str, args: object) -> logging.LogRecord:
    return logging.getLogger(logger).makeRecord(
        logger, logging.INFO, __file__, 1, message, args, None
    )


def test_access_lines_of_werkzeug_and_gunicorn_never_show_a_link_token(app, sent):
    token = sent.token
    werkzeug_line = access_record(
        "werkzeug",
        '%s - - [%s] "%s" %s %s',
        ("127.0.0.1", "06/Dec/2026 10:00:00", f"POST {sent.path}/fresh HTTP/1.1", 200, "-"),
    )
    # gunicorn's access log formats a dict of atoms.
    gunicorn_line = access_record(
        "gunicorn.access",
        '%(h)s "%(r)s" %(s)s "%(f)s"',
        {"h": "10.0.0.1", "r": f"GET {sent.path} HTTP/1.1", "s": "200", "f": "-"},
    )
    for record in (werkzeug_line, gunicorn_line):
        for log_filter in logging.getLogger(record.name).filters:
            log_filter.filter(record)
        message = record.getMessage()
        assert token not in message
        assert f"/l/confirm/{sent.placement.id}/[redacted]" in message
    assert werkzeug_line.getMessage().endswith('[redacted]/fresh HTTP/1.1" 200 -')


def test_any_log_record_quoting_a_link_is_masked_whatever_its_logger(app, sent, caplog):
    url = links.link_url(sent.link)
    caplog.set_level(logging.DEBUG)

    logging.getLogger("crm.outbox.jobs").warning("could not deliver %s", url)
    try:
        raise ValueError(f"bad address {url}")
    except ValueError:
        logging.getLogger("some.library").exception("failed")

    assert len(caplog.records) == 2
    assert sent.token not in caplog.text
    assert "[redacted]" in caplog.records[0].getMessage()
    assert "bad address" in caplog.text  # the traceback is kept, masked


@pytest.mark.committed
def test_the_development_servers_request_log_shows_no_token(app, empty_database, caplog):
    token = "Zk3" + "x" * 40
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO, logger="werkzeug")
    try:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                f"http://127.0.0.1:{server.port}/l/confirm/1/{token}", timeout=10
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    refused.value.close()
    assert refused.value.code == 410
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("GET /l/confirm/1/[redacted] HTTP/1.1" in line for line in lines), lines
    assert token not in caplog.text


def test_no_token_is_logged_from_issue_to_decision(app, officer, client, caplog):
    caplog.set_level(logging.DEBUG)
    sent = awaiting_employer(officer)  # issued, its e-mail queued
    assert deliver_outbox().sent >= 1  # written and "sent" to the development mailbox
    assert client.head(sent.path).status_code == 200
    assert client.get(sent.path).status_code == 200
    assert client.post_form(sent.path, CONFIRM).status_code in (302, 303)
    assert client.get(sent.path).status_code == 200
    assert deliver_outbox().sent >= 1  # the officer's e-mail

    assert caplog.records, "nothing was logged: the test proves nothing"
    for record in caplog.records:
        assert sent.token not in record.getMessage(), record.name
        assert sent.token not in (record.exc_text or "")
    assert sent.token not in caplog.text
