""" "Send me a fresh link": what the holder of a link that no longer works may get.

The request names a link by its token (crm.portal.views.fresh) and never carries an address:
whatever is sent goes to the address on record now, as the purpose's spec reads it from the
record (the current supervisor's e-mail, not the one the old link went to).

- Spent, or the record has moved on (no longer in a state where the purpose decides, or now
  at another organisation): nothing. Unless the recipient of the spent link is asked to decide
  again (a newer version of an agreement to sign): then as for an expired link.
- Withdrawn by the officer: no link; the officer gets a follow-up and decides.
- Expired, replaced, or ended because the record changed: the newest open link of the same
  record and purpose is sent again if it goes to the address on record; otherwise a new link
  is issued (ending any other) and the officer gets a follow-up saying so.

One request per link answers in FRESH_LINK_INTERVAL; the others do nothing. Nothing here logs
a token or an address.
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
from typing import Any

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink, LinkEnd

log = logging.getLogger(__name__)


class FreshOutcome(enum.StrEnum):
    """What a request for a fresh link did."""

    THROTTLED = "throttled"  # asked again too soon: nothing
    NOTHING = "nothing"  # spent, or the record has moved on
    REFERRED = "referred"  # withdrawn: the officer was asked to decide
    RESENT = "resent"  # the live link was sent again
    ISSUED = "issued"  # a new link was sent (or the officer told there is nobody to send to)


def request_fresh_link(link: ActionLink, now: dt.datetime | None = None) -> FreshOutcome:
    """Answer a recipient's request for a fresh link in place of `link` (flushes only).

    The caller holds the link's row lock (crm.links.service.find(lock=True)), so that two
    requests for one link are answered one after the other and the second is throttled.
    """
    now = now or utcnow()
    outcome = _answer(link, now)
    log.info("fresh link requested in place of action link %s: %s", link.id, outcome.value)
    return outcome


def _answer(link: ActionLink, now: dt.datetime) -> FreshOutcome:
    last = link.fresh_requested_at
    if last is not None and now - last < links.FRESH_LINK_INTERVAL:
        return FreshOutcome.THROTTLED
    link.fresh_requested_at = now
    spec = purposes.spec(link.purpose)
    if link.spent_at is not None and not (spec.asked_again and spec.asked_again(link)):
        return FreshOutcome.NOTHING
    record = spec.load(link.record_id)
    if (
        record is None
        or record.state not in spec.open_states
        # Matched elsewhere since: the old link's organisation is no longer asked anything.
        or spec.organisation_id(record) != link.organisation_id
    ):
        return FreshOutcome.NOTHING
    if link.end_reason == LinkEnd.REVOKED:
        _tell_officer(
            spec,
            record,
            now,
            lambda: _(
                "%(name)s asked for a new link in place of the withdrawn one",
                name=link.recipient_name,
            ),
        )
        return FreshOutcome.REFERRED
    recipient = spec.recipient_of(record, link.party)
    if link.party and recipient is None:
        return FreshOutcome.NOTHING  # that party (an agreement's signer) is no longer asked
    live = _newest_open_link(spec, record, now, link.party)
    if live is not None and recipient is not None and _same(live.recipient_email, recipient.email):
        live.last_sent_at = now
        links.send_email(live, record, reminder=False)
        return FreshOutcome.RESENT
    issued = links.issue(link.purpose, record, now=now, recipient=recipient, party=link.party)
    if issued is not None:  # otherwise `issue` told the officer there is nobody to send it to
        _tell_officer(
            spec,
            record,
            now,
            lambda: _(
                "%(name)s asked for a fresh link: a new one was sent to %(recipient)s",
                name=link.recipient_name,
                recipient=issued.recipient_name,
            ),
        )
    db.session.flush()
    return FreshOutcome.ISSUED


def _newest_open_link(
    spec: purposes.PurposeSpec, record: Any, now: dt.datetime, party: str = ""
) -> ActionLink | None:
    """The record's live link of the purpose (and party): unspent, unended, unexpired, not
    stale."""
    newest = db.session.scalar(
        sa.select(ActionLink)
        .where(
            ActionLink.record_type == spec.record_type,
            ActionLink.record_id == record.id,
            ActionLink.purpose == spec.purpose,
            ActionLink.party == party,
            ActionLink.spent_at.is_(None),
            ActionLink.ended_at.is_(None),
            ActionLink.expires_at > now,
        )
        .order_by(ActionLink.id.desc())
        .limit(1)
    )
    if newest is None or (newest.fingerprint and newest.fingerprint != spec.fingerprint(record)):
        return None
    return newest


def _same(address: str, other: str) -> bool:
    return address.strip().casefold() == other.strip().casefold()


def _tell_officer(spec: purposes.PurposeSpec, record: Any, now: dt.datetime, subject: Any) -> None:
    """A follow-up due now for the record's officer, worded in the officer's language.

    A follow-up of the record's workflow: the recipient's answer (or the record moving on)
    closes it, like the other link follow-ups (crm.links.purposes.expired_follow_up).
    """
    owner = db.session.get(User, spec.owner_id(record)) if spec.owner_id(record) else None
    if owner is None:
        return
    with force_locale("en_GB" if owner.locale == "en" else owner.locale):
        text = str(subject())
    db.session.add(
        FollowUp(
            subject=text[:200],
            due_at=now,
            assignee_id=owner.id,
            record_type=spec.record_type,
            record_id=record.id,
            organisation_id=spec.organisation_id(record),
            created_by_rule=f"{record.workflow_name}.link_fresh_requested",
        )
    )
