"""What each link purpose knows about its record: who receives it, the state in which it
decides, what the recipient is shown in the e-mail, and what makes an old link stale.

The placement purposes are here; the agreement's signing purpose adds its own spec.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.links.models import ActionLink, LinkPurpose
from crm.links.service import Recipient


@dataclass(frozen=True)
class PurposeSpec:
    """How one purpose reads its record."""

    purpose: LinkPurpose
    record_type: str
    open_states: frozenset[str]  # the link decides only while the record is in one of these
    load: Callable[[int], Any]
    recipient: Callable[[Any], Recipient | None]
    fingerprint: Callable[[Any], str]
    organisation_id: Callable[[Any], int | None]
    owner_id: Callable[[Any], int | None]
    email_context: Callable[[Any, ActionLink], dict[str, Any]]
    # What the officer is told when there is nobody to send the link to.
    no_recipient_subject: Callable[[], str]
    # The follow-up made for the officer when the link expires unanswered.
    expired_subject: Callable[[], str]
    # Where a record has several recipients, one per party (an agreement's signers): the
    # recipient of a party as on record now (fresh links); None where `recipient` is enough.
    party_recipient: Callable[[Any, str], Recipient | None] | None = None
    # Whether the recipient of a spent link is asked to decide again (a newer version of an
    # agreement to sign): such a link may bring a fresh one. None: a spent link never does.
    asked_again: Callable[[ActionLink], bool] | None = None

    def recipient_of(self, record: Any, party: str) -> Recipient | None:
        """Who a link of `party` goes to now (the record's one recipient without parties)."""
        if party and self.party_recipient is not None:
            return self.party_recipient(record, party)
        return self.recipient(record)


SPECS: dict[LinkPurpose, PurposeSpec] = {}


def spec(purpose: LinkPurpose) -> PurposeSpec:
    """The spec of a purpose."""
    return SPECS[purpose]


def register(spec_: PurposeSpec) -> None:
    """Add a purpose's spec (areas call this at import)."""
    SPECS[spec_.purpose] = spec_


def format_day(value: dt.datetime | dt.date | None, language: str) -> str:
    """A date in the recipient's language, for an e-mail whose bodies are written later."""
    if value is None:
        return ""
    with force_locale("en_GB" if language == "en" else language):
        return str(format_date(value, "long"))


def no_recipient_follow_up(spec_: PurposeSpec, record: Any, now: dt.datetime) -> None:
    """Tell the record's officer, through a follow-up due now, that no link could be sent."""
    owner_id = spec_.owner_id(record)
    if owner_id is None:
        return
    db.session.add(
        FollowUp(
            subject=spec_.no_recipient_subject()[:200],
            due_at=now,
            assignee_id=owner_id,
            record_type=spec_.record_type,
            record_id=record.id,
            organisation_id=spec_.organisation_id(record),
            created_by_rule=f"link.{spec_.purpose.value}",
        )
    )


def expired_follow_up(link: ActionLink, now: dt.datetime | None = None) -> FollowUp | None:
    """The officer's follow-up for a link that expired unanswered (None if none is due)."""
    spec_ = spec(link.purpose)
    record = spec_.load(link.record_id)
    if record is None or record.state not in spec_.open_states:
        return None
    owner_id = spec_.owner_id(record)
    if owner_id is None:
        return None
    follow_up = FollowUp(
        subject=spec_.expired_subject()[:200],
        due_at=now or utcnow(),
        assignee_id=owner_id,
        record_type=spec_.record_type,
        record_id=record.id,
        organisation_id=spec_.organisation_id(record),
        # A workflow follow-up of the record's workflow: the answer (confirm, decline...)
        # closes it like the others (close_follow_ups).
        created_by_rule=f"{record.workflow_name}.link_expired",
    )
    db.session.add(follow_up)
    return follow_up


# --- placements ------------------------------------------------------------------------------


def _placement(placement_id: int) -> Any:
    from crm.placements.service import get_placement

    return get_placement(placement_id)


def _supervisor(placement: Any) -> Recipient | None:
    supervisor = placement.supervisor
    if supervisor is None or supervisor.archived_at is not None or not supervisor.email:
        return None
    return Recipient(
        name=supervisor.full_name,
        email=supervisor.email,
        language=supervisor.preferred_language or "en",
        contact_id=supervisor.id,
    )


def _learner(placement: Any) -> Recipient | None:
    from crm.learners.models import Learner

    email = db.session.scalar(db.select(Learner.email).where(Learner.id == placement.learner_id))
    if not email:
        return None
    return Recipient(
        name=placement.learner.name, email=email, language="en", learner_id=placement.learner_id
    )


def placement_fingerprint(placement: Any) -> str:
    """What the employer is asked to confirm: if any of it changes, the old link is stale."""
    facts = [
        placement.organisation_id,
        placement.supervisor_id,
        placement.start_date.isoformat() if placement.start_date else None,
        placement.end_date.isoformat() if placement.end_date else None,
        placement.hours_target,
        _workplace(placement),
        placement.role_description,
        placement.learning_objectives,
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()


def _workplace(placement: Any) -> str:
    """The workplace address the employer is shown: the placement's, else the organisation's
    (filling the placement's in from the organisation then changes nothing they were asked)."""
    if placement.workplace_address.strip() or placement.organisation_id is None:
        return str(placement.workplace_address.strip())
    from crm.organisations.models import Organisation
    from crm.placements.service import organisation_address

    organisation = db.session.get(Organisation, placement.organisation_id)
    return organisation_address(organisation).strip() if organisation is not None else ""


def _no_fingerprint(placement: Any) -> str:
    return ""


def _placement_context(placement: Any, link: ActionLink) -> dict[str, Any]:
    """JSON values for the e-mail: formatted now, in the recipient's language."""
    organisation = placement.organisation
    return {
        "learner_first_name": placement.learner.first_name,
        "programme_name": placement.programme.name,
        "organisation_name": organisation.display_name if organisation else "",
        "start_date": format_day(placement.start_date, link.language),
        "end_date": format_day(placement.end_date, link.language),
        "officer_name": placement.officer.name,
        "officer_email": placement.officer.email,
        "officer_phone": placement.officer.phone,
    }


def _placement_spec(
    purpose: LinkPurpose,
    open_states: frozenset[str],
    recipient: Callable[[Any], Recipient | None],
    fingerprint: Callable[[Any], str],
    no_recipient: Callable[[], str],
    expired: Callable[[], str],
) -> PurposeSpec:
    return PurposeSpec(
        purpose=purpose,
        record_type="placement",
        open_states=open_states,
        load=_placement,
        recipient=recipient,
        fingerprint=fingerprint,
        organisation_id=lambda placement: placement.organisation_id,
        owner_id=lambda placement: placement.officer_id,
        email_context=_placement_context,
        no_recipient_subject=no_recipient,
        expired_subject=expired,
    )


register(
    _placement_spec(
        LinkPurpose.CONFIRM_PLACEMENT,
        frozenset({"awaiting_employer"}),
        _supervisor,
        placement_fingerprint,
        lambda: _("No confirmation link could be sent: the supervisor has no e-mail address"),
        lambda: _("The employer did not answer the confirmation link: call them"),
    )
)
register(
    _placement_spec(
        LinkPurpose.EVALUATE_PLACEMENT,
        frozenset({"completed"}),
        _supervisor,
        _no_fingerprint,
        lambda: _("No evaluation link could be sent: the supervisor has no e-mail address"),
        lambda: _("The employer did not answer the evaluation link: ask for the evaluation"),
    )
)
register(
    _placement_spec(
        LinkPurpose.LEARNER_FEEDBACK,
        # The learner may answer after the employer has (the placement is then evaluated).
        frozenset({"completed", "evaluated"}),
        _learner,
        _no_fingerprint,
        lambda: _("No feedback link could be sent: the learner has no e-mail address"),
        lambda: _("The learner did not give feedback on the placement"),
    )
)
