"""The record types workflows run on, with the fields and relations guards may use."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from crm.workflow.registry import RecordType, register_record_type

PARTNERSHIP = register_record_type(
    RecordType(
        name="partnership",
        fields={
            "needs_summary": _l("skill needs and engagement interests"),
            "memorandum_signed_on": _l("the date the memorandum was signed"),
            "review_notes": _l("review notes"),
            "closed_reason": _l("the reason for closing"),
        },
    )
)

PLACEMENT = register_record_type(
    RecordType(
        name="placement",
        fields={
            "supervisor_id": _l("a workplace supervisor"),
            "supervisor_email": _l("the workplace supervisor's e-mail address"),
            "start_date": _l("the start date"),
            "end_date": _l("the end date"),
            "hours_target": _l("the hours target"),
            "hours_logged": _l("the hours logged"),
            "role_description": _l("the role description"),
            "learning_objectives": _l("the learning objectives"),
            "guardian_consent_on": _l("the guardian's consent"),
            "decline_reason": _l("the reason for declining"),
            "hours_shortfall_reason": _l("the reason the hours target was not met"),
            "programme_starts_on": _l("the start of the programme year"),
            "programme_ends_on": _l("the end of the programme year"),
            "learner_birth_date": _l("the learner's date of birth"),
        },
        relations={"partnership": "partnership", "agreement": "agreement"},
    )
)

AGREEMENT = register_record_type(
    RecordType(
        name="agreement",
        fields={
            "document_sha256": _l("the issued document"),
            "expires_on": _l("the expiry date"),
            "termination_reason": _l("the reason for terminating"),
        },
        relations={"placement": "placement", "partnership": "partnership"},
    )
)
