"""The terms of an agreement: the editable parts of its document (`TERM_FIELDS`), the
standard clauses a new agreement starts with, and their translation.

The standard clauses are stored in English, the source language; a document prints a clause
that is still the standard text in its own language (`translated_terms`), and one the officer
edited exactly as typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.agreements.models import AgreementKind


def N_(text: str) -> str:
    """Mark a standard clause for translation; it is translated when a document prints it."""
    return text


TermKind = Literal["list", "text", "months"]


@dataclass(frozen=True)
class TermField:
    """One editable part of an agreement's terms: a list of clauses (one per line in a form),
    a text, or a number of months."""

    key: str
    kind: TermKind
    label: Any  # lazy string
    help: Any = ""


TERM_FIELDS: dict[AgreementKind, tuple[TermField, ...]] = {
    AgreementKind.PLACEMENT: (
        TermField(
            "provider_duties",
            "list",
            _l("The provider's duties (pedagogical support)"),
            _l("One duty per line."),
        ),
        TermField("employer_duties", "list", _l("The employer's duties"), _l("One duty per line.")),
        TermField("health_and_safety", "list", _l("Health and safety at work")),
        TermField("insurance", "list", _l("Insurance")),
        TermField("learner_duties", "list", _l("The learner's duties")),
        TermField(
            "quality_criteria",
            "list",
            _l("Quality criteria that apply"),
            _l("Criteria of the European Framework for Quality and Effective Apprenticeships."),
        ),
        TermField("general_provisions", "list", _l("General provisions")),
        TermField("special_conditions", "text", _l("Special conditions")),
    ),
    AgreementKind.PARTNERSHIP: (
        TermField("scope", "text", _l("Scope of cooperation")),
        TermField("engagement_types", "list", _l("Types of engagement"), _l("One per line.")),
        TermField("duration_months", "months", _l("Duration in months")),
        TermField("renewal", "text", _l("Renewal")),
        TermField("provider_commitments", "list", _l("The provider's commitments")),
        TermField("employer_commitments", "list", _l("The organisation's commitments")),
        TermField(
            "quality_criteria",
            "list",
            _l("Quality criteria that apply"),
            _l("Criteria of the European Framework for Quality and Effective Apprenticeships."),
        ),
        TermField("general_provisions", "list", _l("General provisions")),
    ),
}

DEFAULT_DURATION_MONTHS = 24
MAX_DURATION_MONTHS = 120

# The standard clauses, in English (the source language); N_ marks them for translation.
STANDARD_TERMS: dict[AgreementKind, dict[str, Any]] = {
    AgreementKind.PLACEMENT: {
        "provider_duties": [
            N_(
                "Appoint a placement officer as the learner's tutor, who keeps in touch with "
                "the workplace supervisor throughout the placement."
            ),
            N_(
                "Prepare the learner for the placement, including the rules of the workplace "
                "and the basics of health and safety at work."
            ),
            N_(
                "Agree the learning objectives with the employer and the learner, and review "
                "progress with them at least once during the placement."
            ),
            N_(
                "Visit or call the workplace during the placement, and be reachable for the "
                "learner and the supervisor when a problem arises."
            ),
            N_(
                "Assess what the learner has learnt, taking the employer's evaluation into "
                "account, and recognise it as part of the learner's programme."
            ),
        ],
        "employer_duties": [
            N_("Name a workplace supervisor with the time and competence to guide the learner."),
            N_(
                "Give the learner tasks that serve the agreed learning objectives, and no work "
                "that is unsuitable for a learner."
            ),
            N_(
                "Keep to the agreed period and hours and to the rules on working time, rest "
                "and young workers."
            ),
            N_("Tell the provider at once of any absence, accident, incident or problem."),
            N_("Evaluate the learner's work at the end of the placement with the provider."),
        ],
        "health_and_safety": [
            N_(
                "Assess the risks of the learner's tasks and workplace before the placement "
                "starts, with particular care for learners under 18."
            ),
            N_(
                "Give the learner a safety induction on the first day: the risks, emergency "
                "procedures, first aid and whom to ask."
            ),
            N_(
                "Provide the protective equipment the tasks require, free of charge, and make "
                "sure it is used."
            ),
            N_(
                "Not let the learner do work that is forbidden or restricted at their age, nor "
                "work alone with dangerous equipment."
            ),
            N_("Report any accident involving the learner to the provider at once."),
        ],
        "insurance": [
            N_(
                "The learner is insured against accidents at work and on the way to and from "
                "work as national rules for learners provide; the provider confirms this cover."
            ),
            N_(
                "The employer's liability insurance covers damage the learner may cause while "
                "doing the tasks given."
            ),
        ],
        "learner_duties": [
            N_(
                "Attend punctually for the agreed hours, and tell the supervisor and the "
                "provider of any absence in advance, or at once if it is sudden."
            ),
            N_(
                "Follow the supervisor's instructions and the rules of the workplace, above "
                "all on health and safety."
            ),
            N_(
                "Keep the employer's business information confidential, during and after the "
                "placement."
            ),
            N_("Keep the placement record the provider asks for and take part in the reviews."),
        ],
        "quality_criteria": [
            N_(
                "Written agreement: this agreement sets out the rights and duties of the "
                "learner, the employer and the provider."
            ),
            N_(
                "Learning outcomes: the placement serves learning objectives agreed with the "
                "learner, as part of a recognised qualification."
            ),
            N_(
                "Pedagogical support: a workplace supervisor and the provider's tutor guide the "
                "learner and work together."
            ),
            N_(
                "Workplace component: the learner learns by doing real tasks at the workplace, "
                "not only by watching."
            ),
            N_(
                "Pay or compensation: the learner is paid or compensated where national rules "
                "or collective agreements provide for it."
            ),
            N_(
                "Social protection: the learner has the insurance and social protection the "
                "law provides, including insurance against accidents."
            ),
            N_(
                "Work, health and safety conditions: the workplace meets the rules on health "
                "and safety at work."
            ),
        ],
        "general_provisions": [
            N_(
                "The placement is part of the learner's education. It creates no contract of "
                "employment unless the parties sign one separately."
            ),
            N_(
                "Any party may end the placement early by telling the others in writing; for "
                "a serious reason, such as a risk to the learner's safety, at once."
            ),
            N_(
                "Changes to this agreement are made by issuing a new version, which every "
                "party signs again."
            ),
            N_(
                "The parties use personal data only for the placement and as data protection "
                "law requires."
            ),
        ],
        "special_conditions": "",
    },
    AgreementKind.PARTNERSHIP: {
        "scope": N_(
            "The parties cooperate to give the provider's learners good learning at work, "
            "and to keep the provider's programmes in line with the skills the organisation "
            "needs."
        ),
        "engagement_types": [
            N_("Work placements for learners"),
            N_("Apprenticeships"),
            N_("Company visits and guest talks"),
            N_("Advice on programmes and learning outcomes"),
            N_("Placements and training for teachers and trainers"),
        ],
        "duration_months": DEFAULT_DURATION_MONTHS,
        "renewal": N_(
            "The memorandum renews for the same period unless a party tells the other in "
            "writing, at least three months before it ends, that it does not wish to renew."
        ),
        "provider_commitments": [
            N_(
                "Name a contact person for the organisation and answer its requests within "
                "five working days."
            ),
            N_("Prepare learners before each placement and support them and their supervisors."),
            N_("Offer the organisation's supervisors guidance and training for their role."),
            N_("Share the results of placements and evaluations with the organisation yearly."),
        ],
        "employer_commitments": [
            N_("Name a focal person for the partnership and a workplace supervisor per learner."),
            N_(
                "Offer placements in line with its capacity, each agreed in its own placement "
                "agreement."
            ),
            N_("Provide a safe workplace and learning tasks that match the agreed objectives."),
            N_("Take part in a yearly review of the partnership."),
        ],
        "quality_criteria": [
            N_(
                "Support for companies: the provider supports the organisation and its "
                "supervisors, above all if it is a small business."
            ),
            N_(
                "Involvement of employers: the organisation is consulted on the content of "
                "programmes and placements."
            ),
            N_(
                "Career guidance: placements help learners choose their careers, and the "
                "organisation helps to inform them."
            ),
            N_(
                "Quality assurance: the partnership is reviewed every year, and learners' "
                "progress after their placements is followed up."
            ),
        ],
        "general_provisions": [
            N_(
                "This memorandum records the parties' intention to cooperate. Each placement "
                "is agreed in its own placement agreement."
            ),
            N_("The memorandum creates no financial obligation and no exclusive relationship."),
            N_(
                "Either party may end the memorandum by telling the other in writing; "
                "placements already agreed continue."
            ),
            N_(
                "Changes to this memorandum are made by issuing a new version, which both "
                "parties sign again."
            ),
            N_(
                "The parties use personal data only for the partnership and as data "
                "protection law requires."
            ),
        ],
    },
}

STANDARD_TEXTS = frozenset(
    text
    for terms in STANDARD_TERMS.values()
    for value in terms.values()
    for text in (value if isinstance(value, list) else [value])
    if isinstance(text, str) and text
)


def default_terms(kind: AgreementKind | str, *, language: str | None = None) -> dict[str, Any]:
    """The editable terms a new agreement starts with: the standard clauses for its kind.

    Without `language` the clauses are the English source texts, which every document prints
    in its own language (so the agreement's language may still change); with `language` they
    are translated now (an officer editing them sees their own language).
    """
    kind = AgreementKind(kind)
    terms = {
        key: list(value) if isinstance(value, list) else value
        for key, value in STANDARD_TERMS[kind].items()
    }
    if language is None:
        return terms
    with force_locale(babel_locale(language)):
        return translated_terms(terms)


def translated_terms(terms: dict[str, Any]) -> dict[str, Any]:
    """Standard clauses in the current language; anything edited stays as typed."""

    def one(text: Any) -> Any:
        return _(text) if isinstance(text, str) and text in STANDARD_TEXTS else text

    return {
        key: [one(item) for item in value] if isinstance(value, list) else one(value)
        for key, value in terms.items()
    }


def babel_locale(language: str) -> str:
    """The locale a document in `language` is written in (English: British conventions)."""
    return "en_GB" if language == "en" else language
