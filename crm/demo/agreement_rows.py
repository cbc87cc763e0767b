"""Agreements written as rows, for both data sets: a placement's agreement or a partnership's
memorandum, with one issued version, its signers and the agreement's workflow history.

The stories follow workflows/agreement.yaml as the app plays it: the agreement is created
and issued at once (the placement's `send_agreement`, or the officer issuing a memorandum),
the parties sign one after the other (the first signature moves it to partially signed, the
last one to signed), or one of them declines; a signed agreement expires the day after its
period ends (the scheduler's timer), and a manager terminates one whose subject ended early.
Each signature keeps its evidence (typed name, time, address, browser, the version's hash);
the provider signs in the app as a manager, the other parties by link.

The documents are not rendered: every version stores the same small placeholder PDF that
says so (crm.demo.placeholder_documents explains why), and that PDF's real SHA-256, which the
signers' evidence names; the version's `values` are marked `"placeholder": true`.

The terms: an agreement that may still change (a draft, or one out for signature or
declined) carries the whole standard terms, as the app creates it, so its terms form shows
them. A signed or finished one keeps only the terms that differ from the standard ones (a
memorandum's duration): nobody edits them any more, and printed they read the same, since
the document fills in the standard clause for every term missing; at scale this keeps half a
gigabyte of repeated clauses out of the database. What lists, health scores and the
dashboard read (states, dates, parties, signatures) is as the app writes it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from crm.agreements.document import Signatory
from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementSigner,
    AgreementVersion,
    SignerParty,
)
from crm.agreements.terms import STANDARD_TERMS
from crm.demo.answers import MOBILE_BROWSERS, NETWORKS
from crm.demo.placeholder_documents import Documents
from crm.demo.rows import OfficerRow, insert_returning_ids, insert_rows
from crm.workflow.definitions import WorkflowDef
from crm.workflow.models import WorkflowTransition

# Where agreements stand (the agreement workflow's states).
DRAFT, ISSUED, PARTLY, SIGNED, DECLINED = (
    "draft",
    "issued",
    "partially_signed",
    "signed",
    "declined",
)
EXPIRED, TERMINATED = "expired", "terminated"
OPEN_OUTCOMES = (ISSUED, PARTLY, DECLINED)
# The provider signs in the app from an office browser (RFC 5737 documentation range).
OFFICE_NETWORK = "192.0.2"
OFFICE_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
# The workflow's actor for a party signing by link (a guardian is on the learner's side).
PARTY_ACTORS = {
    SignerParty.EMPLOYER: "employer",
    SignerParty.LEARNER: "learner",
    SignerParty.GUARDIAN: "learner",
}
EXPIRY_MINUTES = (60, 150)  # the timer job's run after midnight (UTC), the day after expiry
# A signer's row before they answer.
_UNANSWERED: dict[str, Any] = {
    "version_id": 0,
    "user_id": None,
    "link_id": None,
    "signed_at": None,
    "typed_name": "",
    "ip": "",
    "user_agent": "",
    "signed_sha256": "",
    "declined_at": None,
    "decline_reason": "",
}


@dataclass(frozen=True)
class ProviderSigner:
    """The manager who signs for the education provider in the app."""

    user_id: int
    name: str


@dataclass
class AgreementRows:
    """An agreement's rows, linked by position until the ids are known: the caller sets
    `placement_id` or `partnership_id`, and the learner's id on the learner's and guardian's
    signers (`learner_id`), before writing."""

    agreement: dict[str, Any]
    version: dict[str, Any] | None
    signers: list[dict[str, Any]]
    transitions: list[dict[str, Any]]

    @property
    def state(self) -> str:
        return str(self.agreement["state"])


@dataclass(frozen=True)
class Ending:
    """A signed agreement ended early by a manager: when and why."""

    at: dt.datetime
    reason: str


@dataclass
class _Signature:
    """A party's answer: signed or declined, when."""

    party: Signatory
    at: dt.datetime
    declined: bool = False
    reason: str = ""


@dataclass
class AgreementWords:
    """What the app writes in the officer's language (English here), looked up once."""

    party_labels: dict[SignerParty, str] = field(default_factory=dict)
    signed: str = "%(party)s: %(name)s signed version %(number)s."


def english_words() -> AgreementWords:
    """The words as the app writes them for an English-speaking officer."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    with force_locale("en_GB"):
        return AgreementWords(
            {party: str(party.label) for party in SignerParty},
            _("%(party)s: %(name)s signed version %(number)s."),
        )


class AgreementPlanner:
    """Plans agreements on the agreement workflow from one seeded random source."""

    def __init__(
        self,
        workflow: WorkflowDef,
        rng: random.Random,
        now: dt.datetime,
        provider: ProviderSigner,
        documents: Documents,
        words: AgreementWords,
    ):
        self.workflow = workflow
        self.rng = rng
        self.now = now
        self.today = now.date()
        self.provider = provider
        self.documents = documents
        self.words = words
        # The columns of a transition row that depend on the transition alone.
        self.steps = {
            t.name: {
                "record_type": "agreement",
                "workflow_name": workflow.name,
                "workflow_version": workflow.version,
                "transition": t.name,
                "transition_label": t.label,
                "to_state": t.to,
            }
            for t in workflow.transitions
        }

    def between(self, earliest: dt.datetime, latest: dt.datetime) -> dt.datetime:
        """A moment strictly between the two (the later one if there is no room)."""
        span = (latest - earliest).total_seconds()
        if span <= 120:
            return latest
        return (earliest + dt.timedelta(seconds=self.rng.uniform(60, span - 60))).replace(
            microsecond=0
        )

    def _evidence(self, signature: _Signature) -> dict[str, Any]:
        """The signer row's evidence columns for a signature or a refusal."""
        party = signature.party
        if party.party == SignerParty.PROVIDER:
            address, browser = f"{OFFICE_NETWORK}.{self.rng.randint(10, 60)}", OFFICE_BROWSER
        else:
            address = f"{self.rng.choice(NETWORKS)}.{self.rng.randint(2, 254)}"
            browser = self.rng.choice(MOBILE_BROWSERS)
        if signature.declined:
            return {
                "declined_at": signature.at,
                "decline_reason": signature.reason,
                "ip": address,
                "user_agent": browser,
            }
        evidence: dict[str, Any] = {
            "signed_at": signature.at,
            "typed_name": party.name[:200],
            "ip": address,
            "user_agent": browser,
            "signed_sha256": self.documents.sha256,
        }
        if party.party == SignerParty.PROVIDER:
            evidence["user_id"] = self.provider.user_id
            evidence["name"] = self.provider.name[:200]
            evidence["typed_name"] = self.provider.name[:200]
        return evidence

    def _answers(
        self,
        parties: Sequence[Signatory],
        outcome: str,
        issued_at: dt.datetime,
        settled_at: dt.datetime | None,
        decline_reasons: Sequence[str],
    ) -> list[_Signature]:
        """Who answered and when: everyone by `settled_at` (signed), some (partly), or some
        and then one who declined."""
        rng = self.rng
        order = rng.sample(list(parties), len(parties))
        if outcome == SIGNED:
            assert settled_at is not None
            times = sorted(self.between(issued_at, settled_at) for _ in order[1:])
            return [
                _Signature(party, at) for party, at in zip(order, [*times, settled_at], strict=True)
            ]
        latest = settled_at or self.now - dt.timedelta(minutes=30)
        if outcome == PARTLY:
            count = rng.randint(1, len(order) - 1)
            times = sorted(self.between(issued_at, latest) for _ in range(count))
            return [_Signature(party, at) for party, at in zip(order, times, strict=False)]
        if outcome == DECLINED:
            links = [p for p in order if p.party != SignerParty.PROVIDER]
            refusing = next((p for p in links if p.party == SignerParty.EMPLOYER), links[0])
            if rng.random() < 0.3:
                refusing = rng.choice(links)
            declined_at = latest
            signed = [p for p in order if p is not refusing][: rng.randint(0, 1)]
            answers = [_Signature(p, self.between(issued_at, declined_at)) for p in signed]
            return [
                *answers,
                _Signature(refusing, declined_at, True, rng.choice(decline_reasons)),
            ]
        return []

    def plan(
        self,
        *,
        kind: AgreementKind,
        organisation_id: int,
        officer: OfficerRow,
        language: str,
        terms: dict[str, Any],
        issued_at: dt.datetime,
        valid_from: dt.date | None,
        expires_on: dt.date | None,
        parties: Sequence[Signatory],
        outcome: str,
        settled_at: dt.datetime | None = None,
        ending: Ending | None = None,
        decline_reasons: Sequence[str] = ("",),
    ) -> AgreementRows:
        """An agreement issued at `issued_at` by its officer and now `outcome` (DRAFT: never
        issued; SIGNED by `settled_at`, then expired or ended by `ending` if so; DECLINED at
        `settled_at` or shortly before now)."""
        rows = AgreementRows(
            agreement={
                "kind": kind,
                "placement_id": None,
                "partnership_id": None,
                "organisation_id": organisation_id,
                "officer_id": officer.id,
                "language": language,
                "terms": terms,
                "valid_from": valid_from,
                "expires_on": expires_on,
                "current_number": 0,
                "document_sha256": "",
                "decline_reason": "",
                "termination_reason": "",
                "workflow_name": self.workflow.name,
                "workflow_version": self.workflow.version,
                "state": DRAFT,
                "state_entered_at": issued_at,
                "checklist": {},
                "lock_version": 1,
                "created_at": issued_at,
                "updated_at": issued_at,
            },
            version=None,
            signers=[],
            transitions=[],
        )
        if outcome == DRAFT:
            rows.agreement["valid_from"] = rows.agreement["expires_on"] = None
            return rows
        documents = self.documents
        rows.agreement.update(current_number=1, document_sha256=documents.sha256)
        self._step(rows, "issue", issued_at, "user", officer.id, officer.name)
        answers = self._answers(parties, outcome, issued_at, settled_at, decline_reasons)
        answered = {id(a.party): a for a in answers}
        signers = []
        for party in parties:
            row = {
                **_UNANSWERED,
                "party": party.party,
                "name": party.name[:200],
                "email": party.email,
                "role_title": party.role_title[:150],
                "contact_id": party.contact_id,
                "learner_id": party.learner_id,
            }
            answer = answered.get(id(party))
            if answer is not None:
                row.update(self._evidence(answer))
            signers.append(row)
        rows.signers = signers
        for position, answer in enumerate(sorted(answers, key=lambda a: a.at)):
            self._answer_step(rows, answer, position, len(parties))
        sealed = outcome == SIGNED
        if sealed:
            assert settled_at is not None
            self._after_signing(rows, settled_at, ending, expires_on)
            standard = STANDARD_TERMS[kind]
            rows.agreement["terms"] = {
                key: value for key, value in terms.items() if value != standard.get(key)
            }
        rows.version = {
            "agreement_id": 0,
            "number": 1,
            "language": language,
            "values": {
                "placeholder": True,
                "kind": kind.value,
                "language": language,
                "version": 1,
                "issued_on": issued_at.date().isoformat(),
                "valid_from": valid_from.isoformat() if valid_from else "",
                "expires_on": expires_on.isoformat() if expires_on else "",
            },
            "pdf": documents.pdf,
            "sha256": documents.sha256,
            "pages": 1,
            "issued_at": issued_at,
            "issued_by_id": officer.id,
            "superseded_at": None,
            "sealed_pdf": documents.sealed_pdf if sealed else None,
            "sealed_sha256": documents.sealed_sha256 if sealed else "",
            "sealed_at": settled_at if sealed else None,
        }
        return rows

    def _answer_step(
        self, rows: AgreementRows, answer: _Signature, position: int, parties: int
    ) -> None:
        """The transition a signature or a refusal fired, if any."""
        party = answer.party
        if party.party == SignerParty.PROVIDER:
            actor, user_id, label = "user", self.provider.user_id, self.provider.name
        else:
            actor, user_id, label = PARTY_ACTORS[party.party], None, party.name
        if answer.declined:
            rows.agreement["decline_reason"] = answer.reason
            self._step(rows, "decline", answer.at, actor, user_id, label, answer.reason)
            return
        name = "sign_all" if position == parties - 1 else "sign_partly" if position == 0 else ""
        if name:
            comment = self.words.signed % {
                "party": self.words.party_labels.get(party.party, party.party.value),
                "name": label,
                "number": 1,
            }
            self._step(rows, name, answer.at, actor, user_id, label, comment)

    def _after_signing(
        self,
        rows: AgreementRows,
        signed_at: dt.datetime,
        ending: Ending | None,
        expires_on: dt.date | None,
    ) -> None:
        """Expired the day after its period (the timer; by now at the latest, as the timer
        job would find it due), or ended early by a manager."""
        expiry = None
        if expires_on is not None and expires_on < self.today:
            day = expires_on + dt.timedelta(days=1)
            minute = self.rng.randint(*EXPIRY_MINUTES)
            expiry = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) + dt.timedelta(
                minutes=minute
            )
            expiry = max(min(expiry, self.now - dt.timedelta(minutes=5)), signed_at)
            expiry += dt.timedelta(minutes=1) if expiry == signed_at else dt.timedelta()
        if ending is not None and ending.at > signed_at and (expiry is None or ending.at < expiry):
            rows.agreement["termination_reason"] = ending.reason
            provider = self.provider
            self._step(
                rows, "terminate", ending.at, "user", provider.user_id, provider.name, ending.reason
            )
        elif expiry is not None:
            self._step(rows, "expire", expiry, "system", None, "")

    def _step(
        self,
        rows: AgreementRows,
        name: str,
        at: dt.datetime,
        actor: str,
        user_id: int | None,
        label: str,
        comment: str = "",
    ) -> None:
        """Fire `name` at `at`: a transition row, and the agreement's state moves."""
        step = self.steps[name]
        agreement = rows.agreement
        rows.transitions.append(
            {
                **step,
                "record_id": 0,
                "organisation_id": agreement["organisation_id"],
                "from_state": agreement["state"],
                "actor_kind": actor,
                "actor_user_id": user_id,
                "actor_label": label[:200],
                "comment": comment,
                "occurred_at": at,
            }
        )
        agreement["state"] = step["to_state"]
        agreement["state_entered_at"] = agreement["updated_at"] = at


@dataclass
class AgreementCounts:
    """What `insert_agreements` wrote."""

    agreements: int = 0
    versions: int = 0
    signers: int = 0
    transitions: int = 0

    def add(self, other: AgreementCounts) -> None:
        self.agreements += other.agreements
        self.versions += other.versions
        self.signers += other.signers
        self.transitions += other.transitions


def insert_agreements(items: Sequence[AgreementRows]) -> AgreementCounts:
    """Write agreements with their versions, signers and transitions (subjects already set)."""
    if not items:
        return AgreementCounts()
    ids = insert_returning_ids(Agreement.__table__, [item.agreement for item in items])
    issued = []
    for agreement_id, item in zip(ids, items, strict=True):
        for row in item.transitions:
            row["record_id"] = agreement_id
        if item.version is not None:
            item.version["agreement_id"] = agreement_id
            issued.append(item)
    version_ids = insert_returning_ids(
        AgreementVersion.__table__, [item.version for item in issued if item.version]
    )
    signers = []
    for version_id, item in zip(version_ids, issued, strict=True):
        for row in item.signers:
            row["version_id"] = version_id
            signers.append(row)
    insert_rows(AgreementSigner.__table__, signers)
    transitions = [row for item in items for row in item.transitions]
    insert_rows(WorkflowTransition.__table__, transitions)
    return AgreementCounts(len(ids), len(version_ids), len(signers), len(transitions))
