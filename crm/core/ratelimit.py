"""Fixed-window rate limits counted in the database, so that every web worker counts together.

One statement per check: an INSERT ... ON CONFLICT DO UPDATE ... RETURNING the new count
(PostgreSQL and SQLite 3.35+). Keys are hashed with the secret key (HMAC): no address is
stored as it came, nor in a form found again by hashing every address. Old windows are
deleted by the clean-up job (crm.core.jobs).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from crm.db import utcnow
from crm.extensions import db

_RATE = re.compile(r"^\s*(\d+)\s*(?:/|per)\s*(second|minute|hour|day)\s*$", re.IGNORECASE)
_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class Rate:
    """At most `limit` hits per `seconds`."""

    limit: int
    seconds: int


def parse_rate(text: str) -> Rate:
    """ "30/minute" or "30 per minute" → Rate(30, 60); ValueError otherwise."""
    match = _RATE.match(text or "")
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"a rate looks like '30/minute', not {text!r}")
    return Rate(int(match.group(1)), _SECONDS[match.group(2).lower()])


def window_start(rate: Rate, now: dt.datetime) -> dt.datetime:
    """The start of the fixed window `now` falls in (windows are aligned on the epoch)."""
    epoch = int(now.timestamp())
    return dt.datetime.fromtimestamp(epoch - epoch % rate.seconds, dt.UTC)


def retry_after(rate: Rate, now: dt.datetime | None = None) -> int:
    """Whole seconds until the next window opens (for a 429's Retry-After), at least 1."""
    now = now or utcnow()
    ends = window_start(rate, now) + dt.timedelta(seconds=rate.seconds)
    return max(1, math.ceil((ends - now).total_seconds()))


def hit(scope: str, key: str, rate: Rate, now: dt.datetime | None = None) -> bool:
    """Count a hit for `key` in `scope`; False once the window's limit is exceeded.

    Runs in the caller's transaction; the caller commits (a refused request commits too, so
    that its hit counts).
    """
    from crm.links.models import RateLimitWindow

    start = window_start(rate, now or utcnow())
    # Keyed with the secret: a plain hash of an IPv4 address is reversed by trying them all.
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"{scope}:{key}".encode(), hashlib.sha256).hexdigest()
    table = RateLimitWindow.__table__
    insert = (
        postgresql.insert(table)
        if db.session.get_bind().dialect.name == "postgresql"
        else sqlite.insert(table)
    )
    statement = (
        insert.values(key=f"{scope[:30]}:{digest}", window_start=start, hits=1)
        .on_conflict_do_update(
            index_elements=[table.c.key, table.c.window_start],
            set_={"hits": table.c.hits + 1},
        )
        .returning(table.c.hits)
    )
    hits = db.session.execute(statement).scalar_one()
    return int(hits) <= rate.limit


def forget_before(moment: dt.datetime) -> int:
    """Delete windows that started before `moment`; how many (the clean-up job)."""
    from crm.links.models import RateLimitWindow

    result = db.session.execute(
        sa.delete(RateLimitWindow).where(RateLimitWindow.window_start < moment)
    )
    return int(getattr(result, "rowcount", 0) or 0)
