"""The link pages count every request per sender's address (CRM_LINK_RATE_LIMIT): past the
limit they answer 429 with Retry-After, decide nothing, and the next window opens again."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from flask import Flask

from crm.db import utcnow
from tests.core.helpers import text
from tests.portal.changes import Snapshot, state_of, words
from tests.portal.support import link_path

ELSEWHERE = {"REMOTE_ADDR": "198.51.100.23"}
CONFIRM = {
    "decision": "confirm",
    "first_name": "Sven",
    "last_name": "Supervisor",
    "email": "sven@kern.test",
    "phone": "",
}


@pytest.fixture
def limit(app: Flask, monkeypatch: pytest.MonkeyPatch):
    """`limit("3/minute")` sets the link pages' rate limit for the test."""

    def set_limit(rate: str) -> None:
        monkeypatch.setitem(app.config, "CRM_LINK_RATE_LIMIT", rate)

    set_limit("1000/minute")
    return set_limit


@pytest.fixture
def clock():
    """Time stands still ten seconds into the next minute: a test's requests share a window."""
    moment = utcnow().replace(second=10, microsecond=0) + dt.timedelta(minutes=1)
    with time_machine.travel(moment, tick=False) as traveller:
        yield traveller


def assert_limited(response, retry_after: int) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"] == str(retry_after)
    assert "Too many requests" in words(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_past_the_limit_an_address_gets_429_with_retry_after(sent, client, limit, clock):
    limit("3/minute")

    statuses = [client.get(sent.path).status_code for _ in range(3)]
    refused = client.get(sent.path)

    assert statuses == [200, 200, 200]
    assert_limited(refused, retry_after=50)
    assert sent.token not in text(refused)


def test_another_address_is_not_affected(sent, client, make_client, limit, clock):
    limit("2/minute")
    for _ in range(3):
        client.get(sent.path)
    assert client.get(sent.path).status_code == 429

    other = make_client()
    assert other.get(sent.path, environ_base=ELSEWHERE).status_code == 200
    # The same browser from another address too: it is the address that counts.
    assert client.get(sent.path, environ_base=ELSEWHERE).status_code == 200


def test_the_next_window_allows_again(sent, client, limit, clock):
    limit("2/minute")
    for _ in range(2):
        assert client.get(sent.path).status_code == 200
    assert client.get(sent.path).status_code == 429

    clock.shift(dt.timedelta(seconds=49))
    assert client.get(sent.path).status_code == 429  # refusals count: still this minute
    clock.shift(dt.timedelta(seconds=1))

    assert client.get(sent.path).status_code == 200


def test_a_refused_post_decides_nothing(sent, client, limit, clock):
    client.csrf()  # the session's token (from the login page, which is not counted)
    limit("1/minute")
    assert client.get(sent.path).status_code == 200
    before = Snapshot.of(sent.placement)

    assert_limited(client.post_form(sent.path, CONFIRM), retry_after=50)
    assert_limited(client.post_form(f"{sent.path}/fresh"), retry_after=50)

    assert Snapshot.of(sent.placement) == before
    assert state_of(sent.placement) == "awaiting_employer"


def test_posts_without_a_csrf_token_count_too(sent, client, limit, clock):
    limit("2/minute")

    assert client.post(sent.path, data=CONFIRM).status_code == 400
    assert client.post(f"{sent.path}/fresh").status_code == 400

    assert client.get(sent.path).status_code == 429


def test_guessing_tokens_uses_up_the_limit_of_the_address(sent, client, limit, clock):
    limit("5/minute")
    guesses = [client.get(link_path(sent.link, f"{n:043d}")).status_code for n in range(5)]

    assert guesses == [410] * 5
    assert client.get(sent.path).status_code == 429  # even the real link, from that address
    assert client.get(sent.path, environ_base=ELSEWHERE).status_code == 200


def test_the_limit_is_read_per_request(sent, client, limit, clock):
    limit("1/minute")
    client.get(sent.path)
    assert client.get(sent.path).status_code == 429

    limit("10/minute")

    assert client.get(sent.path).status_code == 200
