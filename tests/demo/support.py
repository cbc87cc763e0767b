"""Checks shared by the tests of the demo's and the generator's agreements."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections import defaultdict

import sqlalchemy as sa

from crm.agreements.adapter import definition as agreement_definition
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion
from crm.extensions import db
from crm.workflow.models import WorkflowTransition

# Agreements every party signed (some then ended).
SIGNED_BY_ALL = frozenset({"signed", "expired", "terminated"})


def histories(record_type: str) -> dict[int, list[WorkflowTransition]]:
    """The transition rows of every record of the type, oldest first."""
    rows = db.session.scalars(
        sa.select(WorkflowTransition)
        .where(WorkflowTransition.record_type == record_type)
        .order_by(WorkflowTransition.occurred_at, WorkflowTransition.id)
    )
    found: dict[int, list[WorkflowTransition]] = defaultdict(list)
    for row in rows:
        found[row.record_id].append(row)
    return found


def fired_at(rows: list[WorkflowTransition], name: str) -> dt.datetime | None:
    """When the last `name` step of a history happened (None: never)."""
    times = [row.occurred_at for row in rows if row.transition == name]
    return times[-1] if times else None


def signers_by_version() -> dict[int, list[AgreementSigner]]:
    """Every version's signers."""
    signers: dict[int, list[AgreementSigner]] = defaultdict(list)
    for signer in db.session.scalars(sa.select(AgreementSigner).order_by(AgreementSigner.id)):
        signers[signer.version_id].append(signer)
    return signers


def assert_agreements_as_the_app_leaves_them() -> None:
    """Every agreement's history walks the agreement workflow to its state; its version and
    signers say the same: all signed (and sealed) once signed, some or none while out for
    signature, one refusal when declined."""
    wf = agreement_definition()
    agreements = {a.id: a for a in db.session.scalars(sa.select(Agreement))}
    versions = {v.agreement_id: v for v in db.session.scalars(sa.select(AgreementVersion))}
    signers = signers_by_version()
    found = histories("agreement")

    assert set(found) == {a.id for a in agreements.values() if a.state != "draft"}
    for agreement in agreements.values():
        rows = found.get(agreement.id, [])
        if agreement.state == "draft":
            assert agreement.id not in versions and agreement.current_number == 0
            continue
        assert rows[0].from_state == wf.initial and rows[0].transition == "issue"
        assert rows[0].actor_user_id == agreement.officer_id
        for row, after in itertools.pairwise(rows):
            assert row.to_state == after.from_state and row.occurred_at < after.occurred_at
        for row in rows:
            transition = wf.transition(row.transition)
            assert row.from_state in wf.from_states_of(transition)
            assert row.to_state == transition.to
            assert row.organisation_id == agreement.organisation_id
            assert row.actor_kind in transition.by or row.actor_kind == "user"
            if transition.comment == "required":
                assert row.comment.strip()
        assert agreement.state == rows[-1].to_state
        assert agreement.state_entered_at == rows[-1].occurred_at
        version = versions[agreement.id]
        own = signers[version.id]
        assert (agreement.current_number, version.number) == (1, 1)
        assert version.issued_at == rows[0].occurred_at
        assert agreement.document_sha256 == version.sha256
        assert version.sha256 == hashlib.sha256(version.pdf).hexdigest()
        signed = [s for s in own if s.signed_at is not None]
        declined = [s for s in own if s.declined_at is not None]
        for signer in signed:
            assert signer.signed_sha256 == version.sha256 and signer.typed_name and signer.ip
            assert version.issued_at < signer.signed_at
        if agreement.state in SIGNED_BY_ALL:
            assert len(signed) == len(own) and not declined
            assert max(s.signed_at for s in own) == fired_at(rows, "sign_all")
            assert version.sealed_pdf is not None
            assert version.sealed_pdf.startswith(version.pdf)
            assert version.sealed_sha256 == hashlib.sha256(version.sealed_pdf).hexdigest()
        else:
            assert version.sealed_pdf is None and len(signed) < len(own)
        if agreement.state == "partially_signed":
            assert signed and not declined
        if agreement.state == "declined":
            assert len(declined) == 1 and declined[0].decline_reason == agreement.decline_reason
        if agreement.state == "terminated":
            assert agreement.termination_reason == rows[-1].comment
