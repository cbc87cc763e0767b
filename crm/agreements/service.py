"""Agreements: prepared from a placement or a partnership, issued as immutable versions,
signed by every party.

Issuing renders version N+1 (crm.agreements.document), stores its PDF and SHA-256, supersedes
version N (its open signing links end; its signatures no longer count), and asks the parties
of the new version to sign: the employer's signatory, the learner and, for a minor, a guardian
by action link (crm.agreements.signing); the provider in the app. A version's PDF and hash
never change afterwards (crm.agreements.immutable refuses it).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

import crm.agreements.immutable  # noqa: F401  (a version's PDF and hash never change)
from crm.activities.timeline import TimelineEntry
from crm.agreements import document
from crm.agreements.adapter import ADAPTER, definition
from crm.agreements.document import Signatory
from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementSigner,
    AgreementVersion,
    SignerParty,
)
from crm.auth.models import User
from crm.contacts.models import Contact, ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Learner
from crm.links.models import LinkEnd, LinkPurpose
from crm.links.service import end_open_links
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow

# States in which the officer may still change the terms (a change after issue needs a new
# version); and in which an agreement is "open", i.e. not yet signed or finished.
EDITABLE_STATES = frozenset({"draft", "issued", "partially_signed", "declined"})
OPEN_STATES = EDITABLE_STATES
# Finished agreements: never superseded again.
FINISHED_STATES = frozenset({"expired", "superseded", "terminated"})
# The partnership stages in which its memorandum is prepared.
MEMORANDUM_STAGES = frozenset({"needs_analysed", "agreeing"})


class AgreementError(workflow.TransitionBlocked):
    """A rule about agreements was broken; `reasons` are sentences fit to show the user.

    A TransitionBlocked, so that an issue fired from a workflow panel shows them like a guard's.
    """

    def __init__(self, *reasons: str) -> None:
        super().__init__(list(reasons))


# --- permissions ------------------------------------------------------------------------------


def may_edit(user: User, agreement: Agreement) -> bool:
    """The agreement's officer, managers and admins change, issue and move it."""
    return ADAPTER.may_edit(user, agreement)


def may_sign_for_provider(user: User) -> bool:
    """Managers and admins sign for the education provider in the app."""
    return user.sees_everything


# --- reading ----------------------------------------------------------------------------------


# Every agreement this service reads comes with its organisation and officer (inner joins:
# both keys are NOT NULL, and `workflow.fire` refreshes the row FOR UPDATE with the options it
# was loaded with), so that whoever handles it next finds them loaded.
_AGREEMENT_LOADS = (
    joinedload(Agreement.organisation, innerjoin=True),
    joinedload(Agreement.officer, innerjoin=True),
)


def get_agreement(agreement_id: int) -> Agreement | None:
    """An agreement with its organisation and officer."""
    return db.session.scalar(
        sa.select(Agreement).where(Agreement.id == agreement_id).options(*_AGREEMENT_LOADS)
    )


def versions_of(agreement: Agreement) -> list[AgreementVersion]:
    """The agreement's versions, newest first, without their PDFs (the list shows them)."""
    return list(
        db.session.scalars(
            sa.select(AgreementVersion)
            .where(AgreementVersion.agreement_id == agreement.id)
            .options(
                sa.orm.defer(AgreementVersion.pdf, raiseload=True),
                sa.orm.defer(AgreementVersion.sealed_pdf, raiseload=True),
                sa.orm.defer(AgreementVersion.values, raiseload=True),
            )
            .order_by(AgreementVersion.number.desc())
        )
    )


def get_version(agreement: Agreement, number: int) -> AgreementVersion | None:
    """Version `number` of the agreement, PDFs included (downloads)."""
    return db.session.scalar(
        sa.select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id, AgreementVersion.number == number
        )
    )


def current_version(agreement: Agreement) -> AgreementVersion | None:
    """The version the parties sign now (None before the first issue)."""
    if not agreement.current_number:
        return None
    return get_version(agreement, agreement.current_number)


def signers_of(version: AgreementVersion) -> list[AgreementSigner]:
    """The signers of a version, in the order they were asked."""
    return list(
        db.session.scalars(
            sa.select(AgreementSigner)
            .where(AgreementSigner.version_id == version.id)
            .order_by(AgreementSigner.id)
        )
    )


def agreements_of_placement(placement_id: int) -> list[Agreement]:
    """A placement's agreements, newest first (the placement page's panel)."""
    return list(
        db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.placement_id == placement_id)
            .options(*_AGREEMENT_LOADS)
            .order_by(Agreement.id.desc())
        )
    )


def agreements_of_partnership(partnership_id: int) -> list[Agreement]:
    """A partnership's memoranda, newest first (the partnership page's panel)."""
    return list(
        db.session.scalars(
            sa.select(Agreement)
            .where(Agreement.partnership_id == partnership_id)
            .options(*_AGREEMENT_LOADS)
            .order_by(Agreement.id.desc())
        )
    )


def local_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date where the provider is (CRM_DISPLAY_TIMEZONE)."""
    zone = ZoneInfo(current_app.config["CRM_DISPLAY_TIMEZONE"])
    return (now or utcnow()).astimezone(zone).date()


# --- creating ---------------------------------------------------------------------------------


def _offered_language(language: str | None) -> str:
    """`language` if the app offers documents in it, else English."""
    languages = current_app.config["CRM_LANGUAGES"]
    return language if language is not None and language in languages else "en"


def _new_agreement(
    kind: AgreementKind,
    *,
    organisation_id: int,
    officer_id: int,
    language: str,
    now: dt.datetime,
    placement_id: int | None = None,
    partnership_id: int | None = None,
) -> Agreement:
    agreement = Agreement(
        kind=kind,
        placement_id=placement_id,
        partnership_id=partnership_id,
        organisation_id=organisation_id,
        officer_id=officer_id,
        language=language,
        terms=document.default_terms(kind),
        current_number=0,
        document_sha256="",
    )
    workflow.start(agreement, definition(), now)
    db.session.add(agreement)
    db.session.flush()
    return agreement


def create_for_placement(
    placement: Placement, acting: User | None, now: dt.datetime | None = None
) -> Agreement:
    """A draft placement agreement, in the supervisor's language if the app offers it."""
    if placement.organisation_id is None:
        raise AgreementError(_("The placement has no organisation yet: match it first."))
    language = None
    if placement.supervisor_id is not None:
        language = db.session.scalar(
            sa.select(Contact.preferred_language).where(Contact.id == placement.supervisor_id)
        )
    return _new_agreement(
        AgreementKind.PLACEMENT,
        placement_id=placement.id,
        organisation_id=placement.organisation_id,
        officer_id=placement.officer_id,
        language=_offered_language(language),
        now=now or utcnow(),
    )


def create_for_partnership(
    partnership: Partnership, acting: User | None, now: dt.datetime | None = None
) -> Agreement:
    """A draft partnership memorandum, in the employer signatory's language if offered."""
    signatory = _memorandum_signatory(partnership.organisation_id)
    return _new_agreement(
        AgreementKind.PARTNERSHIP,
        partnership_id=partnership.id,
        organisation_id=partnership.organisation_id,
        officer_id=partnership.owner_id,
        language=_offered_language(signatory.preferred_language if signatory else None),
        now=now or utcnow(),
    )


def prepare_memorandum(
    partnership: Partnership, acting: User, now: dt.datetime | None = None
) -> tuple[Agreement, bool]:
    """The partnership's open memorandum, or a new draft one; whether it was created.

    PermissionError if `acting` may not change the partnership.
    """
    from crm.partnerships.service import ADAPTER as PARTNERSHIPS

    if not PARTNERSHIPS.may_edit(acting, partnership):
        raise PermissionError
    for agreement in agreements_of_partnership(partnership.id):
        if agreement.state in OPEN_STATES:
            return agreement, False
    if partnership.state not in MEMORANDUM_STAGES:
        raise AgreementError(
            _("The memorandum is prepared once the needs are analysed, before it is agreed.")
        )
    return create_for_partnership(partnership, acting, now), True


@dataclass(frozen=True)
class TermsValues:
    """What the terms form hands over: the document's language and its editable terms."""

    language: str
    terms: dict[str, Any]


def update_terms(agreement: Agreement, values: TermsValues, acting: User) -> bool:
    """Change the agreement's language and terms; True if a new version must be issued for
    the change to reach the parties (the agreement was issued already)."""
    if not may_edit(acting, agreement):
        raise PermissionError
    if agreement.state not in EDITABLE_STATES:
        raise AgreementError(_("The terms of a signed or finished agreement cannot change."))
    if values.language not in current_app.config["CRM_LANGUAGES"]:
        raise AgreementError(_("Choose one of the languages offered."))
    known = document.default_terms(agreement.kind)
    agreement.terms = {
        key: values.terms.get(key, (agreement.terms or {}).get(key, default))
        for key, default in known.items()
    }
    agreement.language = values.language
    db.session.flush()
    return agreement.current_number > 0


# --- signatories ------------------------------------------------------------------------------


def _memorandum_signatory(organisation_id: int) -> Contact | None:
    """The employer's likely signatory of a memorandum (its language is the document's)."""
    for role in (ContactRole.DECISION_MAKER, ContactRole.FOCAL_PERSON):
        found = db.session.scalar(
            sa.select(Contact)
            .where(
                Contact.organisation_id == organisation_id,
                Contact.role == role,
                Contact.archived_at.is_(None),
                Contact.email != "",
            )
            .order_by(Contact.id)
            .limit(1)
        )
        if found is not None:
            return found
    return None


def signatories(agreement: Agreement, now: dt.datetime | None = None) -> list[Signatory]:
    """Every party who must sign the agreement's next version (crm.agreements.document
    chooses them), once each can be asked.

    AgreementError listing what is missing: a party nobody can sign for, or without the
    e-mail address their signing link goes to.
    """
    parties = document.signatories(agreement, today=local_today(now))
    missing = []
    for party in parties:
        if party.party == SignerParty.PROVIDER:
            continue
        if not party.name.strip() or not party.email:
            missing.append(_missing_message(agreement, party))
    if missing:
        raise AgreementError(*missing)
    return parties


def _missing_message(agreement: Agreement, party: Signatory) -> str:
    if party.party == SignerParty.EMPLOYER:
        if agreement.kind == AgreementKind.PARTNERSHIP:
            return _(
                "Record a decision maker or focal person of the organisation with an e-mail "
                "address: they sign the memorandum by link."
            )
        if party.name.strip():
            return _(
                "Record the e-mail address of %(name)s, who signs for the employer by link.",
                name=party.name,
            )
        return _(
            "Record a decision maker or the workplace supervisor with an e-mail address: they "
            "sign the agreement for the employer by link."
        )
    if party.party == SignerParty.GUARDIAN:
        return _(
            "The learner is under 18 at the start: record the guardian's name and e-mail "
            "address, so that they can sign."
        )
    return _("Record the learner's e-mail address: %(name)s signs by link.", name=party.name)


# --- issuing ----------------------------------------------------------------------------------


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus a number of calendar months (31 January + 1 month = 28/29 February)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _period(agreement: Agreement, now: dt.datetime) -> tuple[dt.date | None, dt.date | None]:
    """(valid from, expires on): a placement's dates; a memorandum runs from its issue for
    the duration its terms give."""
    if agreement.kind == AgreementKind.PLACEMENT:
        placement = db.session.get(Placement, agreement.placement_id)
        assert placement is not None
        return placement.start_date, placement.end_date
    start = local_today(now)
    return start, add_months(start, duration_months(agreement))


def duration_months(agreement: Agreement) -> int:
    """The memorandum's duration in months, as its document prints it."""
    terms = document.bounded_terms(AgreementKind(agreement.kind), agreement.terms)
    return int(terms["duration_months"])


def issue_version(
    agreement: Agreement, *, acting: User | None, now: dt.datetime | None = None
) -> None:
    """Render version N+1, supersede N, create the signers and send their links."""
    from crm.agreements import signing

    now = now or utcnow()
    parties = signatories(agreement, now)  # before rendering: a missing party stops the issue
    previous = current_version(agreement)
    number = agreement.current_number + 1
    # The period prints on the document: set it first.
    agreement.valid_from, agreement.expires_on = _period(agreement, now)
    rendered, values = document.render_version(agreement, number, issued_on=local_today(now))
    if previous is not None:
        previous.superseded_at = now
        end_open_links(
            "agreement",
            agreement.id,
            LinkEnd.SUPERSEDED,
            purpose=LinkPurpose.SIGN_AGREEMENT,
            acting=acting,
            now=now,
        )
    version = AgreementVersion(
        agreement_id=agreement.id,
        number=number,
        language=agreement.language,
        values=values,
        pdf=rendered.data,
        sha256=rendered.sha256,
        pages=rendered.pages,
        issued_at=now,
        issued_by_id=acting.id if acting else None,
    )
    db.session.add(version)
    agreement.current_number = number
    agreement.document_sha256 = rendered.sha256
    agreement.decline_reason = ""
    db.session.flush()
    signers = [
        AgreementSigner(
            version_id=version.id,
            party=party.party,
            name=party.name[:200],
            email=party.email,
            role_title=party.role_title[:150],
            contact_id=party.contact_id,
            learner_id=party.learner_id,
        )
        for party in parties
    ]
    db.session.add_all(signers)
    db.session.flush()
    for signer in signers:
        if signer.party != SignerParty.PROVIDER:
            signing.invite(signer, acting=acting, now=now)


def _fire(agreement: Agreement, name: str, acting: User | None, now: dt.datetime) -> None:
    if acting is not None:
        workflow.fire(agreement, name, user=acting, now=now)
    else:
        workflow.fire(agreement, name, party="system", now=now)


def issue(agreement: Agreement, acting: User, now: dt.datetime | None = None) -> None:
    """The officer issues a draft agreement for signature (its first version)."""
    _fire(agreement, "issue", acting, now or utcnow())


def issue_for_placement(placement: object, *, acting: User | None, now: dt.datetime) -> None:
    """Prepare the placement's agreement from its data and issue it.

    An open draft is reused; older agreements of the placement still open or signed (sent
    before the placement was postponed, say) are superseded, so that one agreement is live.
    """
    assert isinstance(placement, Placement)
    draft = None
    for agreement in agreements_of_placement(placement.id):
        if agreement.state == "draft" and draft is None:
            draft = agreement
        elif agreement.state not in FINISHED_STATES and agreement.state != "draft":
            workflow.fire(
                agreement,
                "supersede",
                party="system",
                comment=_("Replaced by a new agreement for the placement."),
                now=now,
            )
            end_open_links("agreement", agreement.id, LinkEnd.CLOSED, acting=acting, now=now)
    if draft is None:
        draft = create_for_placement(placement, acting, now)
    else:
        draft.officer_id = placement.officer_id
    _fire(draft, "issue", acting, now)


def outdated(agreement: Agreement, version: AgreementVersion) -> bool:
    """Whether the current version no longer says what a new one would: the placement's or
    partnership's details, the parties or the terms changed since it was issued."""
    if version.number != agreement.current_number or agreement.state not in OPEN_STATES:
        return False
    issued_on = dt.date.fromisoformat(str(version.values.get("issued_on")))
    now = document.document_values(agreement, number=version.number, issued_on=issued_on)
    if agreement.kind == AgreementKind.PLACEMENT:
        # The period printed comes from the placement's dates, which the values hold too.
        now["valid_from"], now["expires_on"] = (
            version.values.get("valid_from"),
            version.values.get("expires_on"),
        )
    return bool(json.loads(json.dumps(now)) != version.values)


# --- the subject moves on -----------------------------------------------------------------------


def advance_subject(agreement: Agreement, *, now: dt.datetime | None = None) -> None:
    """Move the placement or partnership on now that the agreement is signed."""
    now = now or utcnow()
    if agreement.placement_id is not None:
        from crm.placements.service import get_placement

        placement = get_placement(agreement.placement_id)
        if placement is not None and placement.state == "agreement_out":
            workflow.fire(placement, "agreement_signed", party="system", now=now)
        return
    from crm.partnerships.service import get_partnership

    assert agreement.partnership_id is not None
    partnership = get_partnership(agreement.partnership_id)
    if partnership is None:
        return
    partnership.memorandum_signed_on = local_today(now)
    db.session.flush()
    if partnership.state == "agreeing":
        workflow.fire(partnership, "activate", party="system", now=now)


# --- what the agreement page shows ------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What an agreement is about, for its page: a title and the record's page."""

    title: str
    endpoint: str  # the record's page and its argument
    argument: str
    record_id: int
    learner_name: str = ""


def subject_of(agreement: Agreement) -> Subject:
    """The placement (learner at organisation) or the partnership of an agreement."""
    organisation = agreement.organisation.display_name
    if agreement.placement_id is not None:
        first, last = db.session.execute(
            sa.select(Learner.first_name, Learner.last_name)
            .join(Placement, Placement.learner_id == Learner.id)
            .where(Placement.id == agreement.placement_id)
        ).one()
        learner = f"{first} {last}".strip()
        return Subject(
            _("Placement of %(name)s at %(organisation)s", name=learner, organisation=organisation),
            "placements.show",
            "placement_id",
            agreement.placement_id,
            learner,
        )
    assert agreement.partnership_id is not None
    return Subject(
        _("Partnership with %(name)s", name=organisation),
        "partnerships.show",
        "partnership_id",
        agreement.partnership_id,
    )


@dataclass(frozen=True)
class SignerStatus:
    """A signer of the current version as the page shows them: signed, declined or awaited,
    and what became of their signing link."""

    signer: AgreementSigner
    link_state: str  # crm.links.service.LinkState ("" for the provider or without a link)

    @property
    def status(self) -> str:
        if self.signer.signed_at is not None:
            return "signed"
        if self.signer.declined_at is not None:
            return "declined"
        return "awaited"


def signer_status(signer: AgreementSigner, agreement: Agreement, now: dt.datetime) -> SignerStatus:
    """A signer with the state of their newest signing link."""
    from crm.agreements.signing import signer_link
    from crm.links.service import link_state

    link = signer_link(signer) if signer.party != SignerParty.PROVIDER else None
    return SignerStatus(signer, link_state(link, agreement, now) if link is not None else "")


def history(agreement: Agreement) -> list[TimelineEntry]:
    """The agreement's workflow history, newest first, as timeline entries."""
    return [
        TimelineEntry(t.occurred_at, transition=t)
        for t in workflow.history("agreement", agreement.id)
    ]


FILE_PREFIXES = {
    AgreementKind.PLACEMENT: "placement-agreement",
    AgreementKind.PARTNERSHIP: "partnership-memorandum",
}


def file_name(agreement: Agreement, version: AgreementVersion, *, sealed: bool = False) -> str:
    """The download's file name, ASCII only: e.g. placement-agreement-12-v2-signed.pdf."""
    suffix = "-signed" if sealed else ""
    prefix = FILE_PREFIXES[AgreementKind(agreement.kind)]
    return f"{prefix}-{agreement.id}-v{version.number}{suffix}.pdf"
