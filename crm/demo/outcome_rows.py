"""Looking up what the outcomes of generated placements need, and writing them as rows.

`outcome_context` reads once per run what planning needs of the database (the programmes'
skills, the employers' signatories); `insert_outcomes` writes a batch's evaluations with
their ratings, and its agreements (crm.demo.agreement_rows), once the placements' and
learners' ids are known.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from crm.agreements.adapter import definition as agreement_definition
from crm.agreements.document import Signatory
from crm.agreements.models import SignerParty
from crm.contacts.models import Contact, ContactRole
from crm.demo.agreement_rows import (
    AgreementCounts,
    ProviderSigner,
    english_words,
    insert_agreements,
)
from crm.demo.generate_outcomes import OutcomeContext, PlacementOutcomes
from crm.demo.placeholder_documents import placeholder_documents
from crm.demo.rows import insert_returning_ids, insert_rows
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.learners.models import ProgrammeOutcome
from crm.organisations.models import CapacityPeriod
from crm.workflow.service import ensure_snapshot


def employer_signatories(
    organisation_ids: Collection[int], roles: Sequence[ContactRole]
) -> dict[int, tuple[Signatory, str]]:
    """Each organisation's first contact with an e-mail address in the first of `roles` it
    has (as the agreement's document chooses its signatory), with their language."""
    if not organisation_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            Contact.organisation_id,
            Contact.id,
            Contact.role,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.job_title,
            Contact.preferred_language,
        )
        .where(
            Contact.organisation_id.between(min(organisation_ids), max(organisation_ids)),
            Contact.role.in_(roles),
            Contact.email != "",
            Contact.archived_at.is_(None),
        )
        .order_by(Contact.organisation_id, Contact.id)
    )
    found: dict[int, tuple[int, tuple[Signatory, str]]] = {}
    rank = {role: n for n, role in enumerate(roles)}
    for row in rows:
        if row.organisation_id not in organisation_ids:
            continue
        signatory = Signatory(
            SignerParty.EMPLOYER,
            f"{row.first_name} {row.last_name}".strip(),
            row.email,
            row.job_title,
            contact_id=row.id,
        )
        best = found.get(row.organisation_id)
        if best is None or rank[row.role] < best[0]:
            found[row.organisation_id] = (rank[row.role], (signatory, row.preferred_language))
    return {organisation_id: item for organisation_id, (_, item) in found.items()}


def outcome_context(
    *,
    now: dt.datetime,
    seed: int,
    programme_ids: dict[str, int],
    pledges: dict[int, tuple[int, CapacityPeriod]],
    supervisors: dict[int, tuple[Signatory, str]],
    provider: ProviderSigner,
    documents_source: str,
) -> OutcomeContext:
    """What planning the outcomes of placements hosted by the employers of `pledges` needs."""
    skills: dict[int, list[int]] = defaultdict(list)
    for programme_id, outcome_id in db.session.execute(
        sa.select(ProgrammeOutcome.programme_id, ProgrammeOutcome.id)
        .where(
            ProgrammeOutcome.programme_id.in_(programme_ids.values()),
            ~ProgrammeOutcome.retired,
        )
        .order_by(ProgrammeOutcome.programme_id, ProgrammeOutcome.position)
    ):
        skills[programme_id].append(outcome_id)
    decision_makers = employer_signatories(set(pledges), (ContactRole.DECISION_MAKER,))
    workflow = agreement_definition()
    ensure_snapshot(workflow)
    return OutcomeContext(
        now=now,
        seed=seed,
        programme_ids=programme_ids,
        outcome_ids={code: tuple(skills[p_id]) for code, p_id in programme_ids.items()},
        pledges=pledges,
        decision_makers={key: signatory for key, (signatory, _) in decision_makers.items()},
        supervisors=supervisors,
        languages=frozenset(current_app.config["CRM_LANGUAGES"]),
        provider=provider,
        workflow=workflow,
        documents=placeholder_documents(documents_source),
        words=english_words(),
    )


@dataclass
class OutcomeCounts:
    """What `insert_outcomes` wrote."""

    evaluations: int = 0  # employers' evaluations
    ratings: int = 0
    feedback: int = 0  # learners' feedback
    agreements: AgreementCounts = field(default_factory=AgreementCounts)


def insert_outcomes(
    planned: Sequence[tuple[int, int, PlacementOutcomes]],
    learner_ids: Sequence[int],
    placement_ids: Sequence[int],
) -> OutcomeCounts:
    """Write evaluations with their ratings, and agreements; `planned` holds each
    placement's outcomes with the positions of the placement and its learner."""
    counts = OutcomeCounts()
    evaluations, agreements = [], []
    for placement, learner, outcomes in planned:
        for row, _ratings in outcomes.evaluations:
            row["placement_id"] = placement_ids[placement]
            evaluations.append(row)
        if outcomes.agreement is not None:
            outcomes.agreement.agreement["placement_id"] = placement_ids[placement]
            for signer in outcomes.agreement.signers:
                if signer["party"] in (SignerParty.LEARNER, SignerParty.GUARDIAN):
                    signer["learner_id"] = learner_ids[learner]
            agreements.append(outcomes.agreement)
    evaluation_ids = iter(insert_returning_ids(Evaluation.__table__, evaluations))
    ratings = []
    for _placement, _learner, outcomes in planned:
        for row, own in outcomes.evaluations:
            evaluation_id = next(evaluation_ids)
            ratings += [
                {"evaluation_id": evaluation_id, "outcome_id": skill, "rating": rating}
                for skill, rating in own
            ]
            if row["kind"] == EvaluationKind.EMPLOYER:
                counts.evaluations += 1
            else:
                counts.feedback += 1
    insert_rows(EvaluationRating.__table__, ratings)
    counts.ratings = len(ratings)
    counts.agreements = insert_agreements(agreements)
    return counts
