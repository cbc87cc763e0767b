"""ensure_snapshot remembers committed snapshots only, so a rolled-back one is stored again."""

from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowSnapshot
from tests.workflow.support import PARTNERSHIP


def snapshots() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(WorkflowSnapshot)
        .where(
            WorkflowSnapshot.workflow_name == PARTNERSHIP.name,
            WorkflowSnapshot.version == PARTNERSHIP.version,
        )
    )


def test_a_session_inside_the_tests_transaction_never_remembers(ctx):
    workflow.ensure_snapshot(PARTNERSHIP)
    db.session.commit()  # a savepoint of the outer transaction, rolled back after the test
    assert snapshots() == 1
    assert workflow._snapshot_key(PARTNERSHIP) is None
    assert not db.session.info.get(workflow._PENDING_SNAPSHOTS)


def test_a_rollback_forgets_what_the_session_would_have_remembered(ctx):
    db.session.info[workflow._PENDING_SNAPSHOTS] = {("url", "partnership", 1, "x")}
    with db.session.begin_nested() as savepoint:
        savepoint.rollback()
    assert workflow._PENDING_SNAPSHOTS not in db.session.info
    assert ("url", "partnership", 1, "x") not in workflow._VERIFIED_SNAPSHOTS
