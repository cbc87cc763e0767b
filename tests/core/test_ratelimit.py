"""Fixed-window rate limits counted in the database: one statement per hit, per key and
window, on SQLite and PostgreSQL alike; old windows are forgotten."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.core import ratelimit
from crm.core.ratelimit import Rate, parse_rate
from crm.extensions import db
from crm.links.models import RateLimitWindow

NOON = dt.datetime(2027, 3, 1, 12, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/minute", Rate(30, 60)),
        ("30 per minute", Rate(30, 60)),
        (" 5 / Second ", Rate(5, 1)),
        ("100/hour", Rate(100, 3600)),
        ("1 PER DAY", Rate(1, 86400)),
    ],
)
def test_a_rate_is_read_from_its_usual_spellings(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize(
    "text", ["", "30", "minute", "0/minute", "-1/minute", "30/fortnight", "30/minutes", "x/hour"]
)
def test_anything_else_is_refused_with_an_example(text):
    with pytest.raises(ValueError, match="30/minute"):
        parse_rate(text)


def windows() -> list[tuple[str, dt.datetime, int]]:
    db.session.expire_all()
    return [
        (row.key, row.window_start, row.hits)
        for row in db.session.scalars(
            sa.select(RateLimitWindow).order_by(RateLimitWindow.window_start)
        )
    ]


def test_hits_are_counted_per_key_up_to_the_limit(ctx):
    rate = Rate(2, 60)

    assert [ratelimit.hit("pages", "10.0.0.1", rate, NOON) for _ in range(4)] == [
        True,
        True,
        False,
        False,
    ]
    # Another address, another scope: their own counts.
    assert ratelimit.hit("pages", "10.0.0.2", rate, NOON)
    assert ratelimit.hit("login", "10.0.0.1", rate, NOON)

    assert sorted(hits for _key, _start, hits in windows()) == [1, 1, 4]


def test_each_hit_is_one_statement(ctx, count_statements):
    rate = Rate(5, 60)
    ratelimit.hit("pages", "10.0.0.1", rate, NOON)  # the row exists: the next ones update it

    with count_statements() as counter:
        ratelimit.hit("pages", "10.0.0.1", rate, NOON)
    with count_statements() as new_key:
        ratelimit.hit("pages", "10.0.0.9", rate, NOON)

    assert (counter.count, new_key.count) == (1, 1)
    assert "ON CONFLICT" in counter.statements[0].upper()


def test_the_next_window_starts_from_zero(ctx):
    rate = Rate(1, 60)
    assert ratelimit.hit("pages", "10.0.0.1", rate, NOON + dt.timedelta(seconds=5))
    assert not ratelimit.hit("pages", "10.0.0.1", rate, NOON + dt.timedelta(seconds=59))

    assert ratelimit.hit("pages", "10.0.0.1", rate, NOON + dt.timedelta(seconds=60))

    starts = [start for _key, start, _hits in windows()]
    assert starts == [NOON, NOON + dt.timedelta(minutes=1)]


def test_windows_are_aligned_and_retry_after_counts_to_the_next_one():
    rate = Rate(10, 3600)
    at = NOON + dt.timedelta(minutes=59, seconds=30)

    assert ratelimit.window_start(rate, at) == NOON
    assert ratelimit.retry_after(rate, at) == 30
    assert ratelimit.retry_after(rate, NOON) == 3600
    assert ratelimit.retry_after(Rate(1, 1), NOON + dt.timedelta(microseconds=999_999)) == 1


def test_no_address_is_stored_as_it_came(ctx):
    ratelimit.hit("pages", "203.0.113.77", Rate(5, 60), NOON)

    ((key, _start, _hits),) = windows()
    assert "203.0.113.77" not in key
    assert key.startswith("pages:") and len(key) <= 100


def test_forget_before_deletes_only_the_old_windows(ctx):
    rate = Rate(5, 60)
    for minutes in (0, 1, 30, 60):
        ratelimit.hit("pages", "10.0.0.1", rate, NOON + dt.timedelta(minutes=minutes))

    assert ratelimit.forget_before(NOON + dt.timedelta(minutes=30)) == 2

    starts = [start for _key, start, _hits in windows()]
    assert starts == [NOON + dt.timedelta(minutes=30), NOON + dt.timedelta(minutes=60)]
    assert ratelimit.forget_before(NOON) == 0
