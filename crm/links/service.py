"""Issuing, finding, spending and ending action links.

A link is one purpose, one record, one recipient. Its token is 256 bits derived from a random
nonce and the app's secret key (HMAC-SHA-256), so that:

- the token itself is stored nowhere: the database keeps its SHA-256 hash (to find the link)
  and the nonce (useless without the secret key);
- the invitation and its reminders carry the same link, written into the e-mail only when the
  deliverer sends it; the outbox never keeps a body that holds a token
  (crm.outbox.service.LINK_VALUE);
- a token that was tampered with matches no hash and is simply unknown.

What a purpose needs to know about its record (who receives the link, which state it decides
in, what the recipient sees) lives in crm.links.purposes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.links.models import ActionLink, LinkEnd, LinkPurpose

# A token is 43 URL-safe base64 characters (256 bits); anything else is unknown at once.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")
# Reminders go out this many days after the link was first sent (the purpose may differ).
REMINDER_DAYS = (3, 7)
# "Send me a fresh link" answers at most once per link in this time.
FRESH_LINK_INTERVAL = dt.timedelta(minutes=30)


class LinkStatus:
    """What a link returned by its recipient can still do (see `status`)."""

    OPEN = "open"  # decides
    SPENT = "spent"  # already decided: show what and when
    EXPIRED = "expired"
    ENDED = "ended"  # revoked, superseded, changed or closed
    UNKNOWN = "unknown"  # no such token (tampered), or the wrong purpose or record


@dataclass(frozen=True)
class Recipient:
    """Who a link goes to, as on record when it is issued."""

    name: str
    email: str
    language: str
    contact_id: int | None = None
    learner_id: int | None = None


# --- tokens ----------------------------------------------------------------------------------


def token_for(link: ActionLink) -> str:
    """The link's token, derived from its nonce and the secret key (never stored)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"action-link:{link.nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    """The SHA-256 of a token: what the database keeps."""
    return hashlib.sha256(token.encode()).hexdigest()


def link_path_values(link: ActionLink) -> dict[str, Any]:
    """The values of the link page's address (crm.portal.views)."""
    return {"purpose": link.purpose.slug, "record_id": link.record_id, "token": token_for(link)}


def link_url(link: ActionLink) -> str:
    """The absolute address of the link's page, for the e-mail."""
    from crm.outbox.service import absolute_url

    return absolute_url("portal.link", **link_path_values(link))


def find(token: str, *, lock: bool = False) -> ActionLink | None:
    """The link a token belongs to, or None (malformed, tampered, unknown).

    `lock=True` takes the row lock (PostgreSQL `FOR UPDATE`; SQLite's write transaction is
    already exclusive) so that two submissions of one link are decided one after the other.
    """
    if not _TOKEN.match(token or ""):
        return None
    query = sa.select(ActionLink).where(ActionLink.token_hash == hash_token(token))
    if lock:
        query = query.with_for_update()
    link = db.session.scalar(query)
    # The hash matched; compare the derived token too (constant time), so that a link whose
    # nonce or secret key changed stops working rather than answering to an old token.
    if link is None or not hmac.compare_digest(token_for(link), token):
        return None
    return link


def status(
    link: ActionLink | None, purpose: LinkPurpose, record_id: int, now: dt.datetime | None = None
) -> str:
    """What the link can do now, for the purpose and record its address names."""
    from crm.links import purposes

    if link is None or link.purpose != purpose or link.record_id != record_id:
        return LinkStatus.UNKNOWN
    if link.spent_at is not None:
        return LinkStatus.SPENT
    if link.ended_at is not None:
        return LinkStatus.ENDED
    if link.expires_at <= (now or utcnow()):
        return LinkStatus.EXPIRED
    spec = purposes.spec(link.purpose)
    record = spec.load(link.record_id)
    if record is None or record.state not in spec.open_states:
        return LinkStatus.ENDED
    if link.fingerprint and spec.fingerprint(record) != link.fingerprint:
        return LinkStatus.ENDED
    return LinkStatus.OPEN


# --- issuing ---------------------------------------------------------------------------------


def link_days() -> int:
    """How long a new link is valid (CRM_LINK_DAYS, 14 by default)."""
    return int(current_app.config.get("CRM_LINK_DAYS", 14))


def issue(
    purpose: LinkPurpose,
    record: Any,
    *,
    acting: User | None = None,
    now: dt.datetime | None = None,
    recipient: Recipient | None = None,
    party: str = "",
) -> ActionLink | None:
    """Issue a link for the record's recipient and queue the e-mail that carries it.

    Earlier open links of the same purpose, record and party are superseded: one link is
    live. A purpose with several recipients per record (an agreement's signers) names each
    one's `party` and passes the `recipient`; otherwise the purpose's spec finds it.
    Returns None when there is no recipient with an e-mail address; the officer gets a
    follow-up saying so instead.
    """
    from crm.links import purposes

    now = now or utcnow()
    spec = purposes.spec(purpose)
    # The same record, with what the e-mail shows loaded (the caller's copy may lack it).
    record = spec.load(record.id)
    end_open_links(
        spec.record_type, record.id, LinkEnd.SUPERSEDED, purpose=purpose, party=party, now=now
    )
    recipient = recipient or spec.recipient(record)
    if recipient is None or not recipient.email:
        purposes.no_recipient_follow_up(spec, record, now)
        return None
    nonce = secrets.token_hex(32)
    link = ActionLink(
        nonce=nonce,
        token_hash="",
        purpose=purpose,
        record_type=spec.record_type,
        record_id=record.id,
        organisation_id=spec.organisation_id(record),
        contact_id=recipient.contact_id,
        learner_id=recipient.learner_id,
        party=party,
        recipient_name=recipient.name[:200],
        recipient_email=recipient.email,
        language=recipient.language,
        fingerprint=spec.fingerprint(record),
        created_at=now,
        created_by_id=acting.id if acting else None,
        expires_at=now + dt.timedelta(days=link_days()),
        last_sent_at=now,
    )
    link.token_hash = hash_token(token_for(link))
    db.session.add(link)
    db.session.flush()
    send_email(link, record, reminder=False)
    return link


def send_email(link: ActionLink, record: Any, *, reminder: bool) -> None:
    """Queue the e-mail carrying the link (the invitation or a reminder) to its recipient.

    The bodies are written at delivery (the token is derived then, never stored).
    """
    from crm.links import purposes
    from crm.outbox.service import LINK_VALUE, queue_email

    spec = purposes.spec(link.purpose)
    context = spec.email_context(record, link)
    queue_email(
        kind=f"link_{link.purpose.value}",
        to_email=link.recipient_email,
        to_name=link.recipient_name,
        language=link.language,
        context={
            **context,
            "reminder": reminder,
            "expires_on": purposes.format_day(link.expires_at, link.language),
            LINK_VALUE: link.id,
        },
        record_type=link.record_type,
        record_id=link.record_id,
        organisation_id=link.organisation_id,
        defer_bodies=True,
    )


def end_open_links(
    record_type: str,
    record_id: int,
    reason: LinkEnd,
    *,
    purpose: LinkPurpose | None = None,
    party: str | None = None,
    acting: User | None = None,
    now: dt.datetime | None = None,
) -> int:
    """End the record's unspent, unended links (of one purpose and party, or all); how many."""
    query = sa.update(ActionLink).where(
        ActionLink.record_type == record_type,
        ActionLink.record_id == record_id,
        ActionLink.spent_at.is_(None),
        ActionLink.ended_at.is_(None),
    )
    if purpose is not None:
        query = query.where(ActionLink.purpose == purpose)
    if party is not None:
        query = query.where(ActionLink.party == party)
    result = db.session.execute(
        query.values(
            ended_at=now or utcnow(),
            end_reason=reason,
            ended_by_id=acting.id if acting else None,
        ).execution_options(synchronize_session="fetch")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def close_links_left_behind(
    record_type: str, record_id: int, new_state: str, now: dt.datetime
) -> None:
    """End the record's open links whose purpose decides only in states it has now left."""
    from crm.links import purposes

    left = [
        spec.purpose
        for spec in purposes.SPECS.values()
        if spec.record_type == record_type and new_state not in spec.open_states
    ]
    if left:
        db.session.execute(
            sa.update(ActionLink)
            .where(
                ActionLink.record_type == record_type,
                ActionLink.record_id == record_id,
                ActionLink.purpose.in_(left),
                ActionLink.spent_at.is_(None),
                ActionLink.ended_at.is_(None),
            )
            .values(ended_at=now, end_reason=LinkEnd.CLOSED)
            .execution_options(synchronize_session="fetch")
        )


def revoke(link: ActionLink, acting: User, now: dt.datetime | None = None) -> None:
    """An officer takes a link back: it no longer decides anything."""
    if link.spent_at is not None or link.ended_at is not None:
        raise ValueError(_("This link has already been answered or withdrawn."))
    link.ended_at = now or utcnow()
    link.end_reason = LinkEnd.REVOKED
    link.ended_by_id = acting.id
    db.session.flush()


# --- deciding --------------------------------------------------------------------------------


def spend(
    link: ActionLink,
    decision: str,
    *,
    ip: str,
    user_agent: str,
    data: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Record the decision the link carries, once: False if another submission won.

    A conditional UPDATE: of two submissions of one link, however close, exactly one
    changes the row; the other sees it spent and must change nothing else.
    """
    now = now or utcnow()
    result = db.session.execute(
        sa.update(ActionLink)
        .where(
            ActionLink.id == link.id,
            ActionLink.spent_at.is_(None),
            ActionLink.ended_at.is_(None),
        )
        .values(
            spent_at=now,
            decision=decision[:40],
            decision_data=data,
            decided_ip=(ip or "")[:45],
            decided_user_agent=(user_agent or "")[:500],
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    db.session.refresh(link)
    return True


# --- reading ---------------------------------------------------------------------------------


def links_of(record_type: str, record_id: int) -> list[ActionLink]:
    """The record's links, newest first (the officer's panel)."""
    return list(
        db.session.scalars(
            sa.select(ActionLink)
            .where(ActionLink.record_type == record_type, ActionLink.record_id == record_id)
            .order_by(ActionLink.created_at.desc(), ActionLink.id.desc())
        )
    )


def get_link(link_id: int) -> ActionLink | None:
    """A link by id (staff pages and e-mail rendering)."""
    return db.session.get(ActionLink, link_id)


# --- the officer's side (the placement page's links panel; changed records) ------------------


class LinkState:
    """What became of a link, as the officer's panel shows it (see `link_state`)."""

    OPEN = "open"
    ANSWERED = "answered"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # revoked by an officer
    REPLACED = "replaced"  # superseded by a newer link
    CLOSED = "closed"  # the record moved on without the recipient's answer
    CHANGED = "changed"  # the record changed after it was sent


_STATE_OF_END = {
    LinkEnd.REVOKED: LinkState.WITHDRAWN,
    LinkEnd.SUPERSEDED: LinkState.REPLACED,
    LinkEnd.CLOSED: LinkState.CLOSED,
    LinkEnd.CHANGED: LinkState.CHANGED,
}


def link_state(link: ActionLink, record: Any, now: dt.datetime | None = None) -> str:
    """What became of a link, for staff; `record` is the link's record, already loaded."""
    from crm.links import purposes

    if link.spent_at is not None:
        return LinkState.ANSWERED
    if link.ended_at is not None:
        return _STATE_OF_END.get(link.end_reason or LinkEnd.CLOSED, LinkState.CLOSED)
    if link.expires_at <= (now or utcnow()):
        return LinkState.EXPIRED
    spec = purposes.spec(link.purpose)
    if record is None or record.state not in spec.open_states:
        return LinkState.CLOSED
    if link.fingerprint and spec.fingerprint(record) != link.fingerprint:
        return LinkState.CHANGED
    return LinkState.OPEN


def purposes_to_send(record_type: str, record: Any, links: list[ActionLink]) -> list[LinkPurpose]:
    """The purposes an officer may send a new link for now: those that decide in the record's
    state and whose question was not answered yet (`links`: the record's links)."""
    from crm.links import purposes

    answered = {link.purpose for link in links if link.spent_at is not None}
    return [
        spec.purpose
        for spec in purposes.SPECS.values()
        if spec.record_type == record_type
        and record.state in spec.open_states
        and spec.purpose not in answered
    ]


def send_new_link(
    purpose: LinkPurpose, record: Any, acting: User, now: dt.datetime | None = None
) -> ActionLink | None:
    """An officer sends the recipient a new link, which replaces the open one (if any).

    ValueError (with a message for the officer) when the purpose does not decide in the
    record's state, was answered already, or its recipient has no e-mail address.
    """
    from crm.links import purposes

    spec = purposes.spec(purpose)
    # One sender at a time per record (PostgreSQL; SQLite's write transaction already is):
    # of two officers sending at once, the second supersedes the first's link.
    model = type(record)
    state = db.session.scalar(sa.select(model.state).where(model.id == record.id).with_for_update())
    if state not in spec.open_states:
        raise ValueError(_("A link for this cannot be sent at this stage."))
    answered = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ActionLink)
        .where(
            ActionLink.record_type == spec.record_type,
            ActionLink.record_id == record.id,
            ActionLink.purpose == purpose,
            ActionLink.spent_at.is_not(None),
        )
    )
    if answered:
        raise ValueError(_("This has already been answered: no new link is needed."))
    recipient = spec.recipient(spec.load(record.id))
    if recipient is None or not recipient.email:
        # Checked before `issue`, which would end the open link first: the link already
        # sent stays as it is, and the officer knows to correct the address.
        raise ValueError(spec.no_recipient_subject())
    return issue(purpose, record, acting=acting, now=now)


def withdraw(link: ActionLink, acting: User, now: dt.datetime | None = None) -> None:
    """`revoke` with the link's row locked and read afresh: an answer arriving at the same
    moment is either in (ValueError: already answered) or finds the link withdrawn."""
    db.session.refresh(link, with_for_update=True)
    revoke(link, acting, now)


@dataclass(frozen=True)
class Reissued:
    """A link ended because its record changed, and the link sent in its place (None when
    nobody could be sent one: the officer has a follow-up instead)."""

    purpose: LinkPurpose
    link: ActionLink | None


def reissue_if_changed(
    record: Any, acting: User | None = None, now: dt.datetime | None = None
) -> list[Reissued]:
    """End the record's open links whose question changed (CHANGED) and send new ones.

    Call it after the record's changes are set: a link asks its recipient about what its
    fingerprint covers (for a placement: dates, supervisor, hours, address, role, objectives);
    once any of that changed, the old link no longer decides, and the (possibly new)
    recipient gets a link that shows what is now asked.
    """
    from crm.links import purposes

    record_type = _record_type(record)
    specs = [
        spec
        for spec in purposes.SPECS.values()
        if spec.record_type == record_type and record.state in spec.open_states
    ]
    if not specs:
        return []
    open_links = list(
        db.session.execute(
            sa.select(ActionLink.purpose, ActionLink.fingerprint).where(
                ActionLink.record_type == record_type,
                ActionLink.record_id == record.id,
                ActionLink.purpose.in_([spec.purpose for spec in specs]),
                ActionLink.spent_at.is_(None),
                ActionLink.ended_at.is_(None),
                ActionLink.fingerprint != "",
            )
        )
    )
    stale = {
        purpose
        for purpose, fingerprint in open_links
        if purposes.spec(purpose).fingerprint(record) != fingerprint
    }
    if not stale:
        return []
    now = now or utcnow()
    db.session.flush()
    # Relationships already loaded (the old supervisor) are not refreshed by a flush of the
    # new keys: read the record afresh before the new link is addressed.
    db.session.expire(record)
    reissued = []
    for purpose in sorted(stale):
        spec = purposes.spec(purpose)
        end_open_links(
            spec.record_type, record.id, LinkEnd.CHANGED, purpose=purpose, acting=acting, now=now
        )
        reissued.append(Reissued(purpose, issue(purpose, record, acting=acting, now=now)))
    return reissued


def _record_type(record: Any) -> str:
    from crm.workflow.service import adapter_for

    return adapter_for(record).record_type
