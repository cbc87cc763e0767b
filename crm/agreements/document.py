"""What an agreement's document says: the values a version renders, the parties asked to
sign, and rendering a version to its PDF (the terms' fields and standard clauses are in
crm.agreements.terms; their names are also importable from here).

`document_values(agreement)` gathers everything the template prints as plain JSON values
(strings, numbers, booleans, lists, dicts), every string bounded and cleaned, so that a
version can store exactly what it rendered and `render_values(values)` renders it again to
the same bytes (while the templates are unchanged).

Terms (`Agreement.terms`) hold the editable clauses, keyed as in `TERM_FIELDS`; a clause that
is still the standard English text is printed in the agreement's language.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from babel import Locale
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from crm.agreements.models import Agreement, AgreementKind, SignerParty
from crm.agreements.terms import (
    DEFAULT_DURATION_MONTHS,
    MAX_DURATION_MONTHS,
    STANDARD_TERMS,
    TERM_FIELDS,
    TermField,
    babel_locale,
    default_terms,
    translated_terms,
)
from crm.auth.models import User
from crm.contacts.models import Contact, ContactRole
from crm.core.pdf import RenderedPdf, render_pdf
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Learner
from crm.organisations.models import Organisation

__all__ = [
    "ITEM_LIMIT",
    "LIST_LIMIT",
    "MAX_DURATION_MONTHS",
    "TERMS_LIMIT",
    "TERM_FIELDS",
    "TEXT_LIMIT",
    "Signatory",
    "TermField",
    "bounded",
    "bounded_list",
    "bounded_terms",
    "bounded_text",
    "default_terms",
    "document_title",
    "document_values",
    "is_minor",
    "render_values",
    "render_version",
    "signatories",
]

TEMPLATES = {
    AgreementKind.PLACEMENT: "pdf/placement_agreement.html",
    AgreementKind.PARTNERSHIP: "pdf/partnership_memorandum.html",
}

# Bounds on what reaches the template: a document stays a few pages whatever is typed.
NAME_LIMIT = 200  # names, titles, e-mail addresses, single-line values
ADDRESS_LIMIT = 500
ADDRESS_LINES = 6
TEXT_LIMIT = 4000  # long texts: role, learning objectives, scope, special conditions
TEXT_LINES = 40
ITEM_LIMIT = 1000  # one clause of a list
LIST_LIMIT = 20  # clauses per list, contacts
TERMS_LIMIT = 16000  # all the terms together (the standard ones are about 5,000)
ELLIPSIS = "…"
ADULT_AGE = 18


# --- bounding ---------------------------------------------------------------------------------

# C0/C1 controls (except newline and tab) and the bidirectional overrides and isolates, which
# could make a name display in another order than it was typed.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _INVISIBLE.sub("", text)


def _raw(value: Any, limit: int) -> tuple[str, bool]:
    """The value as text, pre-cut (whitespace may collapse, so generously) so that cleaning
    a huge value costs no more than a long one; and whether it was cut."""
    text = "" if value is None else str(value)
    cap = limit * 8 + 64
    return (text[:cap], True) if len(text) > cap else (text, False)


def _cut(text: str, limit: int, *, cut: bool = False) -> str:
    """At most `limit` characters, ending in "…" if anything was cut (here or before)."""
    if len(text) > limit:
        return text[: limit - 1].rstrip() + ELLIPSIS
    if cut and not text.endswith(ELLIPSIS):
        return _cut(f"{text.rstrip()} {ELLIPSIS}".lstrip(), limit)
    return text


def bounded(value: Any, limit: int = NAME_LIMIT) -> str:
    """One line of at most `limit` characters (whitespace collapsed; "…" marks a cut)."""
    raw, cut = _raw(value, limit)
    return _cut(" ".join(_clean(raw).split()), limit, cut=cut)


def bounded_text(value: Any, limit: int = TEXT_LIMIT, lines: int = TEXT_LINES) -> str:
    """A text of at most `limit` characters and `lines` lines ("…" marks a cut)."""
    raw, cut = _raw(value, limit)
    text = _BLANK_LINES.sub("\n\n", _clean(raw))
    kept = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    cut = cut or len(kept) > lines
    return _cut("\n".join(kept[:lines]).strip(), limit, cut=cut)


def bounded_list(items: Any, limit: int = LIST_LIMIT, item_limit: int = ITEM_LIMIT) -> list[str]:
    """Non-empty one-line items, at most `limit` of them ("…" after the last if cut)."""
    if isinstance(items, str):
        items = bounded_text(items, limit * item_limit, limit + 1).split("\n")
    if not isinstance(items, list | tuple):
        return []
    kept: list[str] = []
    for item in items:
        text = bounded(item, item_limit)
        if text:
            kept.append(text)
        if len(kept) > limit:
            break
    if len(kept) > limit:
        kept = kept[:limit]
        kept[-1] = _cut(kept[-1], item_limit, cut=True)
    return kept


def _months(value: Any) -> int:
    try:
        months = int(value)
    except (TypeError, ValueError):
        return DEFAULT_DURATION_MONTHS
    return min(max(months, 1), MAX_DURATION_MONTHS)


def bounded_terms(kind: AgreementKind, terms: dict[str, Any] | None) -> dict[str, Any]:
    """The agreement's terms as printed: every known field (standard text where missing),
    each bounded, and all of them together within `TERMS_LIMIT` characters (later fields
    are cut first); unknown keys dropped."""
    terms = terms or {}
    standard = STANDARD_TERMS[kind]
    printed: dict[str, Any] = {}
    budget = TERMS_LIMIT
    for field in TERM_FIELDS[kind]:
        value = terms.get(field.key, standard[field.key])
        if field.kind == "months":
            printed[field.key] = _months(value)
        elif field.kind == "list":
            items: list[str] = []
            wanted = bounded_list(value)
            for item in wanted:
                if budget < 4:
                    break
                item = _cut(item, budget - 2)  # room for the mark of a cut after it
                budget -= len(item)
                items.append(item)
            if len(items) < len(wanted):  # out of budget: mark the cut
                items = [*items[:-1], f"{items[-1]} {ELLIPSIS}"] if items else [ELLIPSIS]
                budget -= 2
            printed[field.key] = items
        else:
            text = bounded_text(value, min(TEXT_LIMIT, budget)) if budget >= 2 else ""
            budget -= len(text)
            printed[field.key] = text
    return printed


# --- the parties asked to sign ----------------------------------------------------------------


@dataclass(frozen=True)
class Signatory:
    """A party asked to sign, as on record now (the agreement service makes its signers from
    these; the document prints a signature block for each)."""

    party: SignerParty
    name: str
    email: str = ""
    role_title: str = ""
    contact_id: int | None = None
    learner_id: int | None = None


def _contacts(organisation_id: int, roles: tuple[ContactRole, ...]) -> list[Contact]:
    return list(
        db.session.scalars(
            sa.select(Contact)
            .where(
                Contact.organisation_id == organisation_id,
                Contact.role.in_(roles),
                Contact.archived_at.is_(None),
            )
            .order_by(Contact.id)
        )
    )


def _first(contacts: list[Contact], role: ContactRole, *, with_email: bool) -> Contact | None:
    return next(
        (c for c in contacts if c.role == role and (c.email or not with_email)),
        None,
    )


def _contact_signatory(contact: Contact | None) -> Signatory:
    if contact is None:
        return Signatory(SignerParty.EMPLOYER, "")
    return Signatory(
        SignerParty.EMPLOYER,
        contact.full_name,
        contact.email,
        contact.job_title,
        contact_id=contact.id,
    )


def is_minor(birth_date: dt.date | None, on: dt.date) -> bool:
    """Under 18 on the given day (unknown birth dates count as adult)."""
    if birth_date is None:
        return False
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return age < ADULT_AGE


def signatories(agreement: Agreement, *, today: dt.date | None = None) -> list[Signatory]:
    """Who signs, in order: the provider (in the app), the employer's signatory (the
    decision maker with an e-mail, else the placement's supervisor; for a memorandum, else
    the focal person), the learner and, for a learner under 18 at the start, a guardian."""
    return _subject(agreement, today or utcnow().date()).signatories


@dataclass(frozen=True)
class _Subject:
    values: dict[str, Any]
    signatories: list[Signatory]


def _subject(agreement: Agreement, today: dt.date) -> _Subject:
    if agreement.kind == AgreementKind.PLACEMENT:
        return _placement_subject(agreement, today)
    return _partnership_subject(agreement)


def _placement_subject(agreement: Agreement, today: dt.date) -> _Subject:
    from crm.placements.service import get_placement

    assert agreement.placement_id is not None
    placement = get_placement(agreement.placement_id)
    assert placement is not None, "the agreement's placement is missing"
    learner = db.session.execute(
        sa.select(
            Learner.id,
            Learner.first_name,
            Learner.last_name,
            Learner.email,
            Learner.birth_date,
            Learner.guardian_name,
            Learner.guardian_email,
        ).where(Learner.id == placement.learner_id)
    ).one()
    learner_name = f"{learner.first_name} {learner.last_name}".strip()
    organisation = placement.organisation or db.session.get(Organisation, agreement.organisation_id)
    assert organisation is not None
    supervisor = placement.supervisor
    minor = is_minor(learner.birth_date, placement.start_date or today)

    decision_maker = _first(
        _contacts(organisation.id, (ContactRole.DECISION_MAKER,)),
        ContactRole.DECISION_MAKER,
        with_email=True,
    )
    employer = _contact_signatory(decision_maker or supervisor)
    parties = [
        Signatory(SignerParty.PROVIDER, ""),
        employer,
        Signatory(SignerParty.LEARNER, learner_name, learner.email, learner_id=learner.id),
    ]
    if minor:
        parties.append(
            Signatory(
                SignerParty.GUARDIAN,
                learner.guardian_name,
                learner.guardian_email,
                learner_id=learner.id,
            )
        )

    values = {
        "organisation": _organisation_values(organisation),
        "learner": {
            "name": bounded(learner_name),
            "birth_date": learner.birth_date.isoformat() if learner.birth_date else "",
            "is_minor": minor,
            "guardian_name": bounded(learner.guardian_name) if minor else "",
        },
        "programme": {
            "name": bounded(placement.programme.name),
            "code": bounded(placement.programme.code, 30),
            "eqf_level": placement.programme.eqf_level,
            "year": bounded(placement.learner.cohort.name, 60),
        },
        "supervisor": _contact_values(supervisor) if supervisor else None,
        "placement": {
            "start_date": placement.start_date.isoformat() if placement.start_date else "",
            "end_date": placement.end_date.isoformat() if placement.end_date else "",
            "hours_target": int(placement.hours_target or 0),
            "workplace_address": bounded_text(
                placement.workplace_address or organisation.address, ADDRESS_LIMIT, ADDRESS_LINES
            ),
            "role_description": bounded_text(placement.role_description),
            "learning_objectives": bounded_text(placement.learning_objectives),
        },
    }
    return _Subject(values, parties)


def _partnership_subject(agreement: Agreement) -> _Subject:
    from crm.partnerships.models import Partnership

    assert agreement.partnership_id is not None
    partnership = db.session.get(Partnership, agreement.partnership_id)
    assert partnership is not None, "the agreement's partnership is missing"
    organisation = db.session.get(Organisation, partnership.organisation_id)
    assert organisation is not None
    contacts = _contacts(organisation.id, (ContactRole.DECISION_MAKER, ContactRole.FOCAL_PERSON))
    signatory = (
        _first(contacts, ContactRole.DECISION_MAKER, with_email=True)
        or _first(contacts, ContactRole.FOCAL_PERSON, with_email=True)
        or _first(contacts, ContactRole.DECISION_MAKER, with_email=False)
        or _first(contacts, ContactRole.FOCAL_PERSON, with_email=False)
    )
    values = {
        "organisation": _organisation_values(organisation),
        "partnership": {"title": bounded(partnership.title)},
        "contacts": [
            {
                **_contact_values(contact),
                "role": contact.role.value,
                "role_label": contact.role.label,
            }
            for contact in contacts[:LIST_LIMIT]
        ],
    }
    return _Subject(values, [Signatory(SignerParty.PROVIDER, ""), _contact_signatory(signatory)])


def _organisation_values(organisation: Organisation) -> dict[str, Any]:
    return {
        "legal_name": bounded(organisation.legal_name),
        "trading_name": bounded(
            organisation.trading_name
            if organisation.trading_name != organisation.legal_name
            else ""
        ),
        "registration_number": bounded(organisation.registration_number, 60),
        "address": bounded_text(organisation.address, ADDRESS_LIMIT, ADDRESS_LINES),
        "city": bounded(organisation.city, 120),
        "country": bounded(_country_name(organisation.country), 120),
    }


def _contact_values(contact: Contact) -> dict[str, Any]:
    return {
        "name": bounded(contact.full_name),
        "job_title": bounded(contact.job_title, 150),
        "email": bounded(contact.email, 254),
        "phone": bounded(contact.phone, 50),
    }


def _country_name(code: str) -> str:
    from flask_babel import get_locale

    locale = get_locale() or Locale.parse("en")
    return str(locale.territories.get((code or "").upper(), code or ""))


# --- the values of a version ------------------------------------------------------------------


def document_values(
    agreement: Agreement, *, number: int | None = None, issued_on: dt.date | None = None
) -> dict[str, Any]:
    """Everything version `number` (default: the next) prints, as bounded JSON values, in
    the agreement's language: the subject's data, the provider, the terms, the signatories."""
    today = issued_on or utcnow().date()
    kind = AgreementKind(agreement.kind)
    language = agreement.language or "en"
    with force_locale(babel_locale(language)):
        subject = _subject(agreement, today)
        officer = db.session.get(User, agreement.officer_id)
        provider_name = bounded(current_app.config.get("CRM_PROVIDER_NAME", ""))
        values: dict[str, Any] = {
            "kind": kind.value,
            "language": language,
            "agreement_id": agreement.id,
            "version": number if number is not None else agreement.current_number + 1,
            "issued_on": today.isoformat(),
            "valid_from": agreement.valid_from.isoformat() if agreement.valid_from else "",
            "expires_on": agreement.expires_on.isoformat() if agreement.expires_on else "",
            "provider": {
                "name": provider_name,
                "address": bounded_text(
                    current_app.config.get("CRM_PROVIDER_ADDRESS", ""),
                    ADDRESS_LIMIT,
                    ADDRESS_LINES,
                ),
            },
            "officer": {
                "name": bounded(officer.name) if officer else "",
                "email": bounded(officer.email, 254) if officer else "",
                "phone": bounded(officer.phone, 50) if officer else "",
            },
            **subject.values,
            "terms": translated_terms(bounded_terms(kind, agreement.terms)),
            "signatories": [
                {
                    "party": s.party.value,
                    "party_label": s.party.label,
                    "name": bounded(s.name),
                    "role_title": bounded(s.role_title, 150),
                }
                for s in subject.signatories
            ],
        }
        values["title"] = document_title(values)
    return values


def document_title(values: dict[str, Any]) -> str:
    """E.g. "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH" (current language)."""
    organisation = values["organisation"]["legal_name"]
    if values["kind"] == AgreementKind.PLACEMENT.value:
        return _(
            "Placement agreement — %(learner)s at %(organisation)s",
            learner=values["learner"]["name"],
            organisation=organisation,
        )
    return _(
        "Partnership memorandum — %(provider)s and %(organisation)s",
        provider=values["provider"]["name"],
        organisation=organisation,
    )


def render_values(values: dict[str, Any]) -> RenderedPdf:
    """Render stored version values to the PDF (the same values give the same bytes)."""
    kind = AgreementKind(values["kind"])
    language = values.get("language") or "en"
    with force_locale(babel_locale(language)):
        subject = _(
            "%(document)s, version %(number)s", document=kind.label, number=values["version"]
        )
    return render_pdf(
        TEMPLATES[kind],
        {"v": values},
        language=language,
        title=values["title"],
        author=values["provider"]["name"],
        subject=subject,
    )


def render_version(
    agreement: Agreement, number: int, *, issued_on: dt.date | None = None
) -> tuple[RenderedPdf, dict[str, Any]]:
    """Version `number` of the agreement: the PDF and the values it rendered (to store)."""
    values = document_values(agreement, number=number, issued_on=issued_on)
    return render_values(values), values
