"""Signing an agreement's current version: by e-mailed link (the employer's signatory, the
learner, a minor's guardian) or in the app (the provider, signed by a manager or an admin).

A signature records the signer's typed full name, the time (UTC), their address and browser,
and the SHA-256 of the version they were shown, which must be the current version's: a page
opened before a new version was issued cannot sign the new one. Signing by link spends the
link first (a conditional UPDATE: of two submissions of one link exactly one goes on; the
other changes nothing), then locks the agreement, so that two parties signing at the same
moment are counted one after the other. When every signer of the version has signed, the
agreement fires `sign_all` (its effects seal the version and move the placement or
partnership on); the first signature of several fires `sign_partly`. A party may decline with
a reason instead (`decline`). The officer is e-mailed each time. Never commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.agreements.links import (
    OPEN_STATES,
    current_version,
    get_agreement,
    officer_of,
    signer_recipient,
    title,
)
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion, SignerParty
from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.jobs import babel_locale, local_datetime, user_zone
from crm.followups.models import FollowUp, FollowUpStatus
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.outbox.service import absolute_url, queue_email
from crm.workflow import service as workflow

# The longest typed name and decline reason kept.
MAX_NAME = 200
MAX_REASON = 2000
SIGN, DECLINE = "sign", "decline"
# How a signature was given, as the evidence page names it.
BY_LINK, IN_APP = "link", "in the app"


class SigningError(Exception):
    """A signature or refusal that cannot be taken; `field` names the form field concerned."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Evidence:
    """Who sent a signature, as the server saw it, and when (UTC)."""

    ip: str
    user_agent: str
    at: dt.datetime


# --- reading ---------------------------------------------------------------------------------


def signers_of(version_id: int, *, fresh: bool = False) -> list[AgreementSigner]:
    """A version's signers in the order they were asked (`fresh`: as committed now)."""
    query = (
        sa.select(AgreementSigner)
        .where(AgreementSigner.version_id == version_id)
        .order_by(AgreementSigner.id)
    )
    if fresh:
        query = query.execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def signer_of_party(version: AgreementVersion, party: str) -> AgreementSigner | None:
    """The signer of one party of a version."""
    return db.session.scalar(
        sa.select(AgreementSigner)
        .where(AgreementSigner.version_id == version.id, AgreementSigner.party == party)
        .execution_options(populate_existing=True)
    )


def signer_link(signer: AgreementSigner) -> ActionLink | None:
    """The newest signing link sent to a signer of its version (fresh links included)."""
    version = db.session.get(AgreementVersion, signer.version_id)
    if version is None or signer.party == SignerParty.PROVIDER:
        return None
    return db.session.scalar(
        sa.select(ActionLink)
        .where(
            ActionLink.purpose == LinkPurpose.SIGN_AGREEMENT,
            ActionLink.record_type == "agreement",
            ActionLink.record_id == version.agreement_id,
            ActionLink.party == signer.party.value,
            ActionLink.fingerprint == version.sha256,
        )
        .order_by(ActionLink.id.desc())
        .limit(1)
    )


def may_sign_for_provider(user: User) -> bool:
    """Managers and admins sign for the provider in the app."""
    return user.sees_everything


# --- asking ----------------------------------------------------------------------------------


def invite(
    signer: AgreementSigner, *, acting: User | None, now: dt.datetime | None = None
) -> ActionLink | None:
    """Send a signer of the current version their signing link (a new one replaces theirs).

    None when they have no e-mail address: the officer then gets a follow-up saying so.
    SigningError if the signer cannot sign any more (signed, declined, superseded version).
    """
    if signer.party == SignerParty.PROVIDER:
        raise ValueError("the provider signs in the app, not by link")
    version = db.session.get(AgreementVersion, signer.version_id)
    assert version is not None
    agreement = get_agreement(version.agreement_id)
    assert agreement is not None
    _check_open(agreement, version, signer)
    link = links.issue(
        LinkPurpose.SIGN_AGREEMENT,
        agreement,
        acting=acting,
        now=now,
        recipient=signer_recipient(signer, agreement.language),
        party=signer.party.value,
    )
    signer.link_id = link.id if link is not None else None
    db.session.flush()
    return link


# --- signing ---------------------------------------------------------------------------------


def sign_by_link(
    link: ActionLink,
    typed_name: str,
    consent: bool,
    evidence: Evidence,
    *,
    document_sha256: str,
) -> AgreementSigner | None:
    """The link's signer signs the version it was shown; None if another submission of the
    link won. `document_sha256` is the hash the page showed.

    SigningError for a signature that cannot be taken (and WorkflowError if the agreement's
    step is blocked); the caller then rolls back.
    """
    if link.purpose != LinkPurpose.SIGN_AGREEMENT:
        raise ValueError(f"{link!r} does not sign an agreement")
    agreement, version, signer = _link_signer(link)
    name = _checked(agreement, version, signer, typed_name, consent, document_sha256)
    data = {"typed_name": name, "document_sha256": version.sha256}
    if not links.spend(
        link, SIGN, ip=evidence.ip, user_agent=evidence.user_agent, data=data, now=evidence.at
    ):
        return None
    agreement, version, signer = _locked(agreement, link.party, link)
    _checked(agreement, version, signer, typed_name, consent, document_sha256)
    if not _record(signer, name, evidence, version, link_id=link.id):
        raise SigningError(_("This version has already been signed."))
    _after_signing(agreement, version, signer, evidence.at, user=None)
    return signer


def sign_in_app(
    signer: AgreementSigner,
    user: User,
    typed_name: str,
    consent: bool,
    evidence: Evidence,
    *,
    document_sha256: str,
) -> AgreementSigner:
    """A manager or an admin signs the current version for the provider.

    `document_sha256` is the hash the agreement page showed. SigningError (or WorkflowError)
    when it cannot be taken; the caller then rolls back.
    """
    if signer.party != SignerParty.PROVIDER:
        raise SigningError(_("Only the provider's signature is given in the app."))
    if not may_sign_for_provider(user):
        raise SigningError(_("Only managers and administrators may sign for the provider."))
    version = db.session.get(AgreementVersion, signer.version_id)
    assert version is not None
    agreement = get_agreement(version.agreement_id)
    assert agreement is not None
    agreement, current, locked_signer = _locked(agreement, SignerParty.PROVIDER.value)
    if current.id != version.id:
        raise SigningError(_superseded_message(), "document_sha256")
    name = _checked(agreement, current, locked_signer, typed_name, consent, document_sha256)
    # Two managers signing at the same moment: the conditional UPDATE lets one through.
    if not _record(locked_signer, name, evidence, current, user=user):
        raise SigningError(_("The provider has already signed this version."))
    _after_signing(agreement, current, locked_signer, evidence.at, user=user)
    return locked_signer


def decline_by_link(link: ActionLink, reason: str, evidence: Evidence) -> AgreementSigner | None:
    """The link's signer declines to sign, with a reason; None if another submission of the
    link won. SigningError / WorkflowError as for `sign_by_link`."""
    if link.purpose != LinkPurpose.SIGN_AGREEMENT:
        raise ValueError(f"{link!r} does not sign an agreement")
    reason = reason.strip()
    if not reason:
        raise SigningError(_("Tell us why you decline to sign."), "reason")
    if len(reason) > MAX_REASON:
        raise SigningError(
            _("Keep the reason under %(count)s characters.", count=MAX_REASON), "reason"
        )
    agreement, version, signer = _link_signer(link)
    _check_open(agreement, version, signer)
    if not links.spend(
        link,
        DECLINE,
        ip=evidence.ip,
        user_agent=evidence.user_agent,
        data={"reason": reason, "document_sha256": version.sha256},
        now=evidence.at,
    ):
        return None
    agreement, version, signer = _locked(agreement, link.party, link)
    _check_open(agreement, version, signer)
    declined = db.session.execute(
        sa.update(AgreementSigner)
        .where(
            AgreementSigner.id == signer.id,
            AgreementSigner.signed_at.is_(None),
            AgreementSigner.declined_at.is_(None),
        )
        .values(
            declined_at=evidence.at,
            decline_reason=reason,
            ip=evidence.ip[:45],
            user_agent=evidence.user_agent[:500],
            link_id=link.id,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(declined, "rowcount", 0) != 1:
        raise SigningError(_("This version has already been answered."))
    db.session.refresh(signer)
    workflow.fire(
        agreement,
        "decline",
        party=_party_kind(signer),
        party_label=signer.name[:200],
        # The signer's own words: the agreement keeps them as the reason (its adapter).
        comment=reason,
        now=evidence.at,
    )
    _tidy_up(agreement, version, evidence.at)
    _tell_officer(agreement, version, signer, DECLINE, evidence.at, user=None)
    return signer


# --- the steps -------------------------------------------------------------------------------


def _link_signer(link: ActionLink) -> tuple[Agreement, AgreementVersion, AgreementSigner]:
    """The link's agreement, its current version and the link's signer of that version."""
    agreement = get_agreement(link.record_id)
    if agreement is None:
        raise SigningError(_("This agreement no longer exists."))
    version = current_version(agreement)
    if version is None or version.sha256 != link.fingerprint:
        raise SigningError(_superseded_message())
    signer = signer_of_party(version, link.party)
    if signer is None:
        raise SigningError(_("You are not asked to sign this version."))
    return agreement, version, signer


def _locked(
    agreement: Agreement, party: str, link: ActionLink | None = None
) -> tuple[Agreement, AgreementVersion, AgreementSigner]:
    """Lock the agreement's row (others signing wait their turn), then read its current
    version and the party's signer as committed now (the link's version, if given)."""
    db.session.refresh(agreement, with_for_update={"of": Agreement})
    version = current_version(agreement)
    if version is None:
        raise SigningError(_("This agreement has not been issued."))
    db.session.refresh(version)
    if link is not None and version.sha256 != link.fingerprint:
        raise SigningError(_superseded_message())
    signer = signer_of_party(version, party)
    if signer is None:
        raise SigningError(_("You are not asked to sign this version."))
    return agreement, version, signer


def _superseded_message() -> str:
    return _("A newer version of this agreement has been issued. Read the new version and sign it.")


def _check_open(agreement: Agreement, version: AgreementVersion, signer: AgreementSigner) -> None:
    """Refuse a signer who cannot sign or decline any more."""
    if agreement.state not in OPEN_STATES:
        raise SigningError(_("This agreement can no longer be signed."))
    if (
        version.number != agreement.current_number
        or version.superseded_at is not None
        or signer.version_id != version.id
    ):
        raise SigningError(_superseded_message())
    if signer.signed_at is not None:
        raise SigningError(_("This version has already been signed by %(name)s.", name=signer.name))
    if signer.declined_at is not None:
        raise SigningError(_("%(name)s has declined to sign this version.", name=signer.name))


def typed_name_of(typed_name: str) -> str:
    """The typed full name as kept: spaces collapsed."""
    return " ".join((typed_name or "").split())


def _checked(
    agreement: Agreement,
    version: AgreementVersion,
    signer: AgreementSigner,
    typed_name: str,
    consent: bool,
    shown_sha256: str,
) -> str:
    """The typed name as kept, once everything a signature needs is there."""
    _check_open(agreement, version, signer)
    if (shown_sha256 or "").strip().lower() != version.sha256:
        raise SigningError(
            _(
                "The agreement changed after the page was opened. "
                "Read the current version and sign again."
            ),
            "document_sha256",
        )
    name = typed_name_of(typed_name)
    if not name:
        raise SigningError(_("Type your full name to sign."), "typed_name")
    if len(name) > MAX_NAME:
        raise SigningError(
            _("Keep the name under %(count)s characters.", count=MAX_NAME), "typed_name"
        )
    if not consent:
        raise SigningError(
            _("Tick the box to confirm that you have read the agreement and sign it."), "consent"
        )
    return name


def _record(
    signer: AgreementSigner,
    typed_name: str,
    evidence: Evidence,
    version: AgreementVersion,
    *,
    link_id: int | None = None,
    user: User | None = None,
) -> bool:
    """Write the signature's evidence, once (a conditional UPDATE); False if already signed."""
    values: dict[str, object] = {
        "signed_at": evidence.at,
        "typed_name": typed_name[:MAX_NAME],
        "ip": (evidence.ip or "")[:45],
        "user_agent": (evidence.user_agent or "")[:500],
        "signed_sha256": version.sha256,
    }
    if link_id is not None:
        values["link_id"] = link_id
    if user is not None:
        values["user_id"] = user.id
        if not signer.name:
            values["name"] = user.name[:200]
    result = db.session.execute(
        sa.update(AgreementSigner)
        .where(
            AgreementSigner.id == signer.id,
            AgreementSigner.signed_at.is_(None),
            AgreementSigner.declined_at.is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    db.session.refresh(signer)
    return True


def _party_kind(signer: AgreementSigner) -> str:
    """The workflow's actor for a party signing by link (a guardian is on the learner's side)."""
    return "employer" if signer.party == SignerParty.EMPLOYER else "learner"


def _after_signing(
    agreement: Agreement,
    version: AgreementVersion,
    signer: AgreementSigner,
    now: dt.datetime,
    *,
    user: User | None,
) -> None:
    """Move the agreement on (every party signed, or the first of several), tell the officer."""
    signers = signers_of(version.id, fresh=True)
    complete = all(each.signed_at is not None for each in signers)
    step = "sign_all" if complete else "sign_partly" if agreement.state == "issued" else ""
    if step:
        with force_locale(babel_locale(officer_of(agreement).locale)):
            comment = _(
                "%(party)s: %(name)s signed version %(number)s.",
                party=signer.party.label,
                name=signer.name,
                number=version.number,
            )
        if user is not None:
            workflow.fire(agreement, step, user=user, comment=comment, now=now)
        else:
            workflow.fire(
                agreement,
                step,
                party=_party_kind(signer),
                party_label=signer.name[:200],
                comment=comment,
                now=now,
            )
    _tidy_up(agreement, version, now)
    _tell_officer(agreement, version, signer, SIGN, now, user=user, signers=signers)


def _tidy_up(agreement: Agreement, version: AgreementVersion, now: dt.datetime) -> None:
    """End links that no longer decide, and close the officer's link follow-ups once nobody
    is left waiting on an expired link."""
    links.close_links_left_behind("agreement", agreement.id, agreement.state, now)
    if agreement.state in OPEN_STATES and _waiting_on_expired_link(version, now):
        return
    db.session.execute(
        sa.update(FollowUp)
        .where(
            FollowUp.record_type == "agreement",
            FollowUp.record_id == agreement.id,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.created_by_rule.in_(
                [
                    f"{agreement.workflow_name}.link_expired",
                    f"{agreement.workflow_name}.link_fresh_requested",
                ]
            ),
        )
        .values(status=FollowUpStatus.DONE, completed_at=now)
        .execution_options(synchronize_session=False)
    )


def _waiting_on_expired_link(version: AgreementVersion, now: dt.datetime) -> bool:
    """Whether a signer of the version still to answer has no link that works now."""
    waiting = [
        signer
        for signer in signers_of(version.id)
        if signer.party != SignerParty.PROVIDER
        and signer.signed_at is None
        and signer.declined_at is None
    ]
    if not waiting:
        return False
    open_parties = set(
        db.session.scalars(
            sa.select(ActionLink.party).where(
                ActionLink.purpose == LinkPurpose.SIGN_AGREEMENT,
                ActionLink.record_type == "agreement",
                ActionLink.record_id == version.agreement_id,
                ActionLink.fingerprint == version.sha256,
                ActionLink.spent_at.is_(None),
                ActionLink.ended_at.is_(None),
                ActionLink.expires_at > now,
            )
        )
    )
    return any(signer.party.value not in open_parties for signer in waiting)


# --- telling the officer ---------------------------------------------------------------------


def _tell_officer(
    agreement: Agreement,
    version: AgreementVersion,
    signer: AgreementSigner,
    decision: str,
    at: dt.datetime,
    *,
    user: User | None,
    signers: list[AgreementSigner] | None = None,
) -> None:
    """Queue the officer's e-mail: who signed (or declined) and what is still awaited."""
    officer = officer_of(agreement)
    if not officer.is_active_account or (user is not None and user.id == officer.id):
        return
    signers = signers if signers is not None else signers_of(version.id)
    with force_locale(babel_locale(officer.locale)):
        context = {
            "decision": decision,
            "signer_name": signer.name,
            "party_label": str(signer.party.label),
            "typed_name": signer.typed_name,
            "signed_by": user.name if user is not None else "",
            "reason": signer.decline_reason if decision == DECLINE else "",
            "agreement_title": title(agreement),
            "version_number": version.number,
            "when": local_datetime(at, user_zone(officer.timezone)),
            "complete": bool(signers) and all(each.signed_at is not None for each in signers),
            "waiting_for": [
                f"{each.name} ({each.party.label})" if each.name else str(each.party.label)
                for each in signers
                if each.signed_at is None and each.declined_at is None
            ],
            "url": _agreement_url(agreement),
        }
    queue_email(
        kind="agreement_signed_by",
        to_email=officer.email,
        to_name=officer.name,
        language=officer.locale,
        context=context,
        record_type="agreement",
        record_id=agreement.id,
        organisation_id=agreement.organisation_id,
        user_id=officer.id,
    )


def _agreement_url(agreement: Agreement) -> str:
    """The agreement's page, for the officer's e-mail."""
    return absolute_url("agreements.show", agreement_id=agreement.id)


def now_evidence(ip: str, user_agent: str) -> Evidence:
    """Evidence stamped with the current time (UTC)."""
    return Evidence(ip=ip, user_agent=user_agent, at=utcnow())
