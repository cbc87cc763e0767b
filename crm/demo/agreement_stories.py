"""Which agreement a placement or a partnership has, told from its workflow history.

A placement's agreement is issued when the placement's `send_agreement` step fired and signed
by every party when its `agreement_signed` step fired (the system fires that step when the
last party signs). A placement still in agreement_out has its agreement out for signature:
nobody or some parties have signed, or one declined. A placement cancelled after it started
has its agreement terminated by a manager.

A partnership's memorandum is issued with its last `issue_memorandum` step and signed on the
day recorded in `memorandum_signed_on`, before the partnership was activated; it runs from
its issue for the duration of its terms (mostly two years), and expires when that is over.
A partnership still agreeing has it out for signature; one that went quiet or was closed
while agreeing saw it declined, and one closed while the memorandum ran saw it terminated. A
partnership whose needs are analysed sometimes has a draft already.

Both work on steps as (transition name, time, comment), from a planned history or from the
transition rows the demo's services wrote.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from crm.agreements.document import Signatory
from crm.agreements.models import AgreementKind, SignerParty
from crm.agreements.service import add_months
from crm.agreements.terms import default_terms
from crm.demo.agreement_rows import (
    DECLINED,
    DRAFT,
    ISSUED,
    PARTLY,
    SIGNED,
    AgreementPlanner,
    AgreementRows,
    Ending,
)
from crm.demo.rows import OfficerRow
from crm.demo.stories import AGREEMENT_DECLINE_REASONS, MEMORANDUM_DECLINE_REASONS

StepTuple = tuple[str, dt.datetime, str]  # transition name, when, comment
# Where an agreement out for signature stands, and how often.
OUT_FOR_SIGNATURE = {ISSUED: 45, PARTLY: 45, DECLINED: 10}
# A memorandum's duration in months, and how often.
DURATIONS = {24: 50, 12: 35, 36: 15}
DRAFT_SHARE = 0.35  # partnerships with their needs analysed that have a draft memorandum
TERMINATION_HOURS = (2, 72)  # a manager ends the agreement this long after its subject


def _last(steps: Sequence[StepTuple], name: str) -> int | None:
    """The position of the last `name` step."""
    found = None
    for position, step in enumerate(steps):
        if step[0] == name:
            found = position
    return found


def _out_for_signature(planner: AgreementPlanner) -> str:
    states, weights = list(OUT_FOR_SIGNATURE), list(OUT_FOR_SIGNATURE.values())
    return planner.rng.choices(states, weights=weights)[0]


def _ending(planner: AgreementPlanner, ended_at: dt.datetime, reason: str) -> Ending | None:
    """A manager ends the agreement a little after its subject ended (before now)."""
    at = ended_at + dt.timedelta(hours=planner.rng.uniform(*TERMINATION_HOURS))
    at = min(at, planner.now - dt.timedelta(minutes=10)).replace(microsecond=0)
    return Ending(at, reason) if at > ended_at else None


def placement_agreement(
    planner: AgreementPlanner,
    *,
    steps: Sequence[StepTuple],
    state: str,
    start: dt.date,
    end: dt.date,
    organisation_id: int,
    officer: OfficerRow,
    language: str,
    parties: Sequence[Signatory],
    terms: dict[str, Any] | None = None,
) -> AgreementRows | None:
    """The placement's agreement as its history tells it; None if none was ever sent."""
    sent = _last(steps, "send_agreement")
    if sent is None:
        return None
    issued_at = steps[sent][1]
    later = steps[sent + 1 :]
    signed = next((at for name, at, _ in later if name == "agreement_signed"), None)
    ending = None
    settled_at = signed
    if signed is not None:
        outcome = SIGNED
        cancelled = next(((at, c) for name, at, c in later if name == "cancel"), None)
        if cancelled is not None:
            ending = _ending(planner, *cancelled)
    else:
        outcome = _out_for_signature(planner)
        # It left agreement_out without being signed (never in the stories): answered before.
        settled_at = later[0][1] if later else None
    return planner.plan(
        kind=AgreementKind.PLACEMENT,
        organisation_id=organisation_id,
        officer=officer,
        language=language,
        terms=terms if terms is not None else default_terms(AgreementKind.PLACEMENT),
        issued_at=issued_at,
        valid_from=start,
        expires_on=end,
        parties=parties,
        outcome=outcome,
        settled_at=settled_at,
        ending=ending,
        decline_reasons=AGREEMENT_DECLINE_REASONS,
    )


def memorandum_issued_at(steps: Sequence[StepTuple]) -> dt.datetime | None:
    """When the partnership's memorandum was issued (its last `issue_memorandum` step)."""
    issued = _last(steps, "issue_memorandum")
    return steps[issued][1] if issued is not None else None


def partnership_memorandum(
    planner: AgreementPlanner,
    *,
    steps: Sequence[StepTuple],
    state: str,
    entered_at: dt.datetime,
    signed_on: dt.date | None,
    organisation_id: int,
    owner: OfficerRow,
    signatory: Signatory | None,
    language: str,
    duration_months: int | None = None,
) -> AgreementRows | None:
    """The partnership's memorandum as its history tells it; None if it has none.

    `signatory` signs for the employer (None: nobody with an e-mail address could be asked,
    so the memorandum was never issued through the app). `duration_months` overrides the
    drawn duration.
    """
    rng = planner.rng
    duration = duration_months or rng.choices(list(DURATIONS), weights=list(DURATIONS.values()))[0]
    terms = default_terms(AgreementKind.PARTNERSHIP)
    terms["duration_months"] = duration
    parties = [Signatory(SignerParty.PROVIDER, "")]
    if signatory is not None:
        parties.append(signatory)
    common: dict[str, Any] = {
        "kind": AgreementKind.PARTNERSHIP,
        "organisation_id": organisation_id,
        "officer": owner,
        "language": language,
        "terms": terms,
        "parties": parties,
        "decline_reasons": MEMORANDUM_DECLINE_REASONS,
    }
    issued = _last(steps, "issue_memorandum")
    if issued is None:
        if state != "needs_analysed" or rng.random() >= DRAFT_SHARE:
            return None
        drafted = planner.between(entered_at, planner.now - dt.timedelta(hours=1))
        return planner.plan(
            **common,
            issued_at=drafted,
            valid_from=None,
            expires_on=None,
            outcome=DRAFT,
        )
    if signatory is None:
        return None
    issued_at = steps[issued][1]
    valid_from = issued_at.date()
    expires_on = add_months(valid_from, duration)
    later = steps[issued + 1 :]
    activated = next((at for name, at, _ in later if name == "activate"), None)
    if activated is not None:
        settled_at = activated - dt.timedelta(minutes=rng.randint(5, 90))
        if signed_on is not None:
            on_the_day = dt.datetime.combine(signed_on, dt.time(10), dt.UTC)
            settled_at = min(settled_at, on_the_day + dt.timedelta(minutes=rng.randint(0, 360)))
        settled_at = max(settled_at, issued_at + dt.timedelta(minutes=30))
        closed = next(((at, c) for name, at, c in later if name == "close"), None)
        ending = _ending(planner, *closed) if closed is not None else None
        return planner.plan(
            **common,
            issued_at=issued_at,
            valid_from=valid_from,
            expires_on=expires_on,
            outcome=SIGNED,
            settled_at=settled_at,
            ending=ending,
        )
    answered: dt.datetime | None = None
    if not later:
        outcome = _out_for_signature(planner)
    else:  # it went quiet or was closed while agreeing: the employer declined to sign
        outcome = DECLINED
        answered = max(
            later[0][1] - dt.timedelta(days=rng.uniform(1, 10)),
            issued_at + dt.timedelta(hours=2),
        ).replace(microsecond=0)
    return planner.plan(
        **common,
        issued_at=issued_at,
        valid_from=valid_from,
        expires_on=expires_on,
        outcome=outcome,
        settled_at=answered,
    )
