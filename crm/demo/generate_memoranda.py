"""The memoranda of generated partnerships, planned from their histories and written batch by
batch with them (crm.demo.agreement_stories says which memorandum a history implies)."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from crm.agreements.document import Signatory
from crm.contacts.models import ContactRole
from crm.demo.agreement_rows import (
    AgreementCounts,
    AgreementPlanner,
    AgreementRows,
    AgreementWords,
    ProviderSigner,
    insert_agreements,
)
from crm.demo.agreement_stories import partnership_memorandum
from crm.demo.histories import History
from crm.demo.outcome_rows import employer_signatories
from crm.demo.placeholder_documents import Documents
from crm.demo.rows import OfficerRow
from crm.workflow.definitions import WorkflowDef

EXPIRING_DAYS = 90  # a signed memorandum "expires soon" within this many days


@dataclass(frozen=True)
class PartnershipSubject:
    """A generated partnership, as its memorandum needs to know it."""

    organisation_id: int
    owner: OfficerRow
    history: History


def plan_memoranda(
    planner: AgreementPlanner,
    partnerships: Sequence[PartnershipSubject],
    signatories: dict[int, tuple[Signatory, str]],
    languages: Collection[str],
) -> list[tuple[int, AgreementRows]]:
    """The memoranda of the partnerships that have one, with the partnership's position."""
    memoranda = []
    for position, subject in enumerate(partnerships):
        history = subject.history
        signatory, language = signatories.get(subject.organisation_id, (None, "en"))
        rows = partnership_memorandum(
            planner,
            steps=[(s.transition.name, s.occurred_at, s.comment) for s in history.steps],
            state=history.state,
            entered_at=history.entered_at,
            signed_on=history.fields.get("memorandum_signed_on"),
            organisation_id=subject.organisation_id,
            owner=subject.owner,
            signatory=signatory,
            language=language if language in languages else "en",
        )
        if rows is not None:
            memoranda.append((position, rows))
    return memoranda


@dataclass
class MemorandumCounts:
    """What `MemorandumWriter` wrote, and how many memoranda are signed, and expiring soon."""

    written: AgreementCounts = field(default_factory=AgreementCounts)
    signed: int = 0
    expiring: int = 0  # signed, expiring within EXPIRING_DAYS
    seconds: float = 0.0


class MemorandumWriter:
    """Plans and writes the memoranda of generated partnerships, batch by batch."""

    def __init__(
        self,
        workflow: WorkflowDef,
        rng: random.Random,
        now: dt.datetime,
        provider: ProviderSigner,
        documents: Documents,
        words: AgreementWords,
        languages: Collection[str],
    ):
        self.planner = AgreementPlanner(workflow, rng, now, provider, documents, words)
        self.languages = languages
        self.counts = MemorandumCounts()

    def write(
        self, partnership_ids: Sequence[int], partnerships: Sequence[PartnershipSubject]
    ) -> None:
        """Write the memoranda of a batch of partnerships (ids in the same order)."""
        started = time.monotonic()
        organisations = {p.organisation_id for p in partnerships}
        roles = (ContactRole.DECISION_MAKER, ContactRole.FOCAL_PERSON)
        signatories = employer_signatories(organisations, roles)
        planned = plan_memoranda(self.planner, partnerships, signatories, self.languages)
        soon = self.planner.today + dt.timedelta(days=EXPIRING_DAYS)
        for position, rows in planned:
            rows.agreement["partnership_id"] = partnership_ids[position]
            if rows.state == "signed":
                self.counts.signed += 1
                expires_on = rows.agreement["expires_on"]
                if expires_on is not None and expires_on <= soon:
                    self.counts.expiring += 1
        self.counts.written.add(insert_agreements([rows for _, rows in planned]))
        self.counts.seconds += time.monotonic() - started
