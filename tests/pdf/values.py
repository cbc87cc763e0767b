"""Hand-built document values (as crm.agreements.document.document_values makes them), for
tests and the benchmark that need no database."""

from __future__ import annotations

import copy
from typing import Any

from crm.agreements.document import bounded_terms
from crm.agreements.models import AgreementKind
from crm.agreements.terms import STANDARD_TERMS


def placement_values(**changes: Any) -> dict[str, Any]:
    """A typical placement agreement: an adult learner, a supervisor, the standard terms."""
    values: dict[str, Any] = {
        "kind": "placement_agreement",
        "language": "en",
        "agreement_id": 17,
        "version": 2,
        "issued_on": "2026-12-06",
        "valid_from": "",
        "expires_on": "2027-05-28",
        "title": "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH",
        "provider": {
            "name": "Demo Vocational College",
            "address": "Schulstraße 1\n50667 Köln",
        },
        "officer": {"name": "Olga Officer", "email": "olga@college.test", "phone": "+49 221 555"},
        "organisation": {
            "legal_name": "Werkzeugbau Kern GmbH",
            "trading_name": "Kern Tools",
            "registration_number": "HRB 12345",
            "address": "Industriestraße 7",
            "city": "Köln",
            "country": "Germany",
        },
        "learner": {
            "name": "Lena Lernend",
            "birth_date": "2006-04-02",
            "is_minor": False,
            "guardian_name": "",
        },
        "programme": {
            "name": "Mechatronics technician",
            "code": "MECH-4",
            "eqf_level": 4,
            "year": "2026/27",
        },
        "supervisor": {
            "name": "Sven Supervisor",
            "job_title": "Workshop lead",
            "email": "sven@kern.test",
            "phone": "+49 221 777",
        },
        "placement": {
            "start_date": "2027-03-01",
            "end_date": "2027-05-28",
            "hours_target": 480,
            "workplace_address": "Werk 2, Industriestraße 9, Köln",
            "role_description": "Assembly and testing of pneumatic control units.",
            "learning_objectives": "Read circuit diagrams.\nAssemble and test control units.",
        },
        "terms": bounded_terms(
            AgreementKind.PLACEMENT, copy.deepcopy(STANDARD_TERMS[AgreementKind.PLACEMENT])
        ),
        "signatories": [
            {
                "party": "provider",
                "party_label": "Education provider",
                "name": "",
                "role_title": "",
            },
            {
                "party": "employer",
                "party_label": "Employer",
                "name": "Dana Decider",
                "role_title": "Managing director",
            },
            {
                "party": "learner",
                "party_label": "Learner",
                "name": "Lena Lernend",
                "role_title": "",
            },
        ],
    }
    for key, value in changes.items():
        values[key] = value
    return values


def memorandum_values(**changes: Any) -> dict[str, Any]:
    """A typical partnership memorandum with the standard terms."""
    values: dict[str, Any] = {
        "kind": "partnership_memorandum",
        "language": "en",
        "agreement_id": 23,
        "version": 1,
        "issued_on": "2026-12-06",
        "valid_from": "2026-12-06",
        "expires_on": "2028-12-06",
        "title": "Partnership memorandum — Demo Vocational College and Werkzeugbau Kern GmbH",
        "provider": {"name": "Demo Vocational College", "address": "Schulstraße 1\n50667 Köln"},
        "officer": {"name": "Olga Officer", "email": "olga@college.test", "phone": ""},
        "organisation": {
            "legal_name": "Werkzeugbau Kern GmbH",
            "trading_name": "",
            "registration_number": "",
            "address": "Industriestraße 7",
            "city": "Köln",
            "country": "Germany",
        },
        "partnership": {"title": "Apprenticeships in toolmaking"},
        "contacts": [
            {
                "name": "Frieda Fokus",
                "job_title": "HR officer",
                "email": "frieda@kern.test",
                "phone": "",
                "role": "focal_person",
                "role_label": "Focal person",
            }
        ],
        "terms": bounded_terms(
            AgreementKind.PARTNERSHIP, copy.deepcopy(STANDARD_TERMS[AgreementKind.PARTNERSHIP])
        ),
        "signatories": [
            {
                "party": "provider",
                "party_label": "Education provider",
                "name": "",
                "role_title": "",
            },
            {
                "party": "employer",
                "party_label": "Employer",
                "name": "Frieda Fokus",
                "role_title": "HR officer",
            },
        ],
    }
    values.update(changes)
    return values
