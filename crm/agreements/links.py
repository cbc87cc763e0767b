"""The signing link: what crm.links needs to know about an agreement to send, remind, expire
and answer a SIGN_AGREEMENT link.

An agreement has several signers, so the link service is always given the signer as the
recipient and the signer's party (crm.agreements.signing.invite); a link's fingerprint is the
SHA-256 of the version it asks to sign, so the link of a superseded version stops working
the moment a new version is issued. A signer who answered an earlier version is asked again
for the newer one (`asked_again`): their spent link says so and may bring a fresh link.
Imported by crm.agreements.signing and crm.portal.sign, which registers the spec at start-up.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementSigner,
    AgreementVersion,
    SignerParty,
)
from crm.auth.models import User
from crm.extensions import db
from crm.links import purposes
from crm.links.models import ActionLink, LinkPurpose
from crm.links.service import Recipient
from crm.organisations.models import Organisation

# The agreement states in which a signing link decides.
OPEN_STATES = frozenset({"issued", "partially_signed"})


def get_agreement(agreement_id: int) -> Agreement | None:
    """An agreement with its organisation and officer (what the pages and e-mails show)."""
    return db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.id == agreement_id)
        .options(
            joinedload(Agreement.organisation, innerjoin=True),
            joinedload(Agreement.officer, innerjoin=True),
        )
    )


def officer_of(agreement: Agreement) -> User:
    """The agreement's officer (from the session's identity map when already loaded: the
    agreement may have been read without its relationships)."""
    officer = db.session.get(User, agreement.officer_id)
    assert officer is not None
    return officer


def organisation_of(agreement: Agreement) -> Organisation:
    """The agreement's organisation (see `officer_of`)."""
    organisation = db.session.get(Organisation, agreement.organisation_id)
    assert organisation is not None
    return organisation


def current_version(agreement: Agreement) -> AgreementVersion | None:
    """The agreement's current issued version (None before the first issue)."""
    if not agreement.current_number:
        return None
    return db.session.scalar(
        sa.select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id,
            AgreementVersion.number == agreement.current_number,
        )
    )


def version_signed_by_link(link: ActionLink) -> AgreementVersion | None:
    """The version a signing link asks to sign: the one whose hash is its fingerprint."""
    return db.session.scalar(
        sa.select(AgreementVersion)
        .where(
            AgreementVersion.agreement_id == link.record_id,
            AgreementVersion.sha256 == link.fingerprint,
        )
        .order_by(AgreementVersion.number.desc())
        .limit(1)
    )


def learner_first_name(agreement: Agreement) -> str:
    """The learner's first name, for a placement agreement ("" for a memorandum)."""
    if agreement.placement_id is None:
        return ""
    from crm.learners.models import Learner
    from crm.placements.models import Placement

    name = db.session.scalar(
        sa.select(Learner.first_name)
        .join(Placement, Placement.learner_id == Learner.id)
        .where(Placement.id == agreement.placement_id)
    )
    return name or ""


def title(agreement: Agreement) -> str:
    """The agreement's name for people, in the current language (first name only)."""
    organisation = organisation_of(agreement).display_name
    if agreement.kind == AgreementKind.PLACEMENT:
        return _(
            "Placement agreement for %(learner)s at %(organisation)s",
            learner=learner_first_name(agreement),
            organisation=organisation,
        )
    return _("Partnership memorandum with %(organisation)s", organisation=organisation)


def signer_recipient(signer: AgreementSigner, language: str) -> Recipient:
    """Where a signer's link goes: the address on record now for a contact or a learner
    (it may have been corrected since the version was issued), else the one on the signer."""
    email = signer.email
    if signer.contact_id is not None:
        from crm.contacts.models import Contact

        email = (
            db.session.scalar(
                sa.select(Contact.email).where(
                    Contact.id == signer.contact_id, Contact.archived_at.is_(None)
                )
            )
            or ""
        )
    elif signer.learner_id is not None:
        from crm.learners.models import Learner

        column = Learner.guardian_email if signer.party == SignerParty.GUARDIAN else Learner.email
        email = db.session.scalar(sa.select(column).where(Learner.id == signer.learner_id)) or ""
    return Recipient(
        name=signer.name,
        email=(email or "").strip(),
        language=language,
        contact_id=signer.contact_id,
        learner_id=signer.learner_id,
    )


def _party_recipient(agreement: Agreement, party: str) -> Recipient | None:
    """The current version's signer of a party, as a link recipient (fresh links)."""
    version = current_version(agreement)
    if version is None:
        return None
    signer = db.session.scalar(
        sa.select(AgreementSigner).where(
            AgreementSigner.version_id == version.id, AgreementSigner.party == party
        )
    )
    if signer is None or signer.signed_at is not None or signer.declined_at is not None:
        return None
    return signer_recipient(signer, agreement.language)


def asked_again(link: ActionLink) -> AgreementSigner | None:
    """For a spent signing link: its recipient as a signer of the agreement's newer version,
    still to sign or decline it; None otherwise.

    That is, a newer version than the one the link answered is current, the agreement still
    waits for signatures, and the current version's signer of the link's party is the same
    person (the same contact or learner; a guardian, with no record of their own, by name or
    address). Someone else now signing for that party is not told about it.
    """
    if link.purpose != LinkPurpose.SIGN_AGREEMENT or link.spent_at is None:
        return None
    agreement = get_agreement(link.record_id)
    if agreement is None or agreement.state not in OPEN_STATES:
        return None
    version = current_version(agreement)
    if version is None or version.sha256 == link.fingerprint:
        return None
    signer = db.session.scalar(
        sa.select(AgreementSigner).where(
            AgreementSigner.version_id == version.id, AgreementSigner.party == link.party
        )
    )
    if signer is None or signer.signed_at is not None or signer.declined_at is not None:
        return None
    return signer if _same_person(link, signer) else None


def _same_person(link: ActionLink, signer: AgreementSigner) -> bool:
    if link.contact_id is not None or signer.contact_id is not None:
        return link.contact_id == signer.contact_id
    if link.learner_id != signer.learner_id:
        return False
    if signer.learner_id is not None and signer.party == SignerParty.LEARNER:
        return True
    return _same_text(link.recipient_name, signer.name) or _same_text(
        link.recipient_email, signer.email
    )


def _same_text(one: str, other: str) -> bool:
    return bool(one.strip()) and one.strip().casefold() == other.strip().casefold()


def link_sent_to(signer: AgreementSigner) -> bool:
    """Whether a signing link for the signer's version went out to their party."""
    version = db.session.get(AgreementVersion, signer.version_id)
    if version is None:
        return False
    return (
        db.session.scalar(
            sa.select(ActionLink.id)
            .where(
                ActionLink.purpose == LinkPurpose.SIGN_AGREEMENT,
                ActionLink.record_type == "agreement",
                ActionLink.record_id == version.agreement_id,
                ActionLink.party == signer.party.value,
                ActionLink.fingerprint == version.sha256,
            )
            .limit(1)
        )
        is not None
    )


def _email_context(agreement: Agreement, link: ActionLink) -> dict[str, Any]:
    """JSON values for the signing e-mail: the templates word them in the link's language."""
    officer = officer_of(agreement)
    return {
        "kind": agreement.kind.value,
        "party": link.party,
        "version_number": agreement.current_number,
        "learner_first_name": learner_first_name(agreement),
        "organisation_name": organisation_of(agreement).display_name,
        "officer_name": officer.name,
        "officer_email": officer.email,
        "officer_phone": officer.phone,
    }


def _no_recipient() -> str:
    return _("No signing link could be sent: a signer of the agreement has no e-mail address")


def _expired() -> str:
    return _("A signing link of the agreement expired unsigned: call the signer")


def _no_recipient_without_party(agreement: Agreement) -> Recipient | None:
    # Every signing link names its signer (crm.agreements.signing.invite); a link asked for
    # without one has nobody to go to.
    return None


purposes.register(
    purposes.PurposeSpec(
        purpose=LinkPurpose.SIGN_AGREEMENT,
        record_type="agreement",
        open_states=OPEN_STATES,
        load=get_agreement,
        recipient=_no_recipient_without_party,
        fingerprint=lambda agreement: agreement.document_sha256,
        organisation_id=lambda agreement: agreement.organisation_id,
        owner_id=lambda agreement: agreement.officer_id,
        email_context=_email_context,
        no_recipient_subject=_no_recipient,
        expired_subject=_expired,
        party_recipient=_party_recipient,
        asked_again=lambda link: asked_again(link) is not None,
    )
)
