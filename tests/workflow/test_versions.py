"""Workflow versions: stored definitions, refused silent edits, old versions, migration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.auth.models import User
from crm.extensions import db
from crm.partnerships.models import Partnership
from crm.workflow import service
from crm.workflow.definitions import WorkflowDef, WorkflowPack
from crm.workflow.models import WorkflowSnapshot, WorkflowTransition
from crm.workflow.service import DefinitionChanged, fire
from tests.core.helpers import count_rows
from tests.workflow.support import (
    PARTNERSHIP,
    at,
    definition_from,
    edited,
    history_of,
    make_partnership,
    pack_text,
    pack_with,
    partnership_v2,
    state_in_database,
)

CHANGED = "workflows/partnership.yaml changed but is still version 1; give it a new version number"
# Version 2 calls the dormant stage "paused" and the first stage "Spotted".
RENAMES = (
    ("  dormant:\n    label: Dormant\n", "  paused:\n    label: Paused\n"),
    ("    to: dormant\n", "    to: paused\n"),
    ("    from: dormant\n", "    from: paused\n"),
    ("  identified:\n    label: Identified\n", "  identified:\n    label: Spotted\n"),
)
ALL_STATES = [
    "identified",
    "researched",
    "approached",
    "needs_analysed",
    "agreeing",
    "active",
    "under_review",
    "closed",
]


@pytest.fixture
def use_pack(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[[WorkflowDef], None]:
    """Load a changed definition into the running app for this test only."""

    def use(definition: WorkflowDef) -> None:
        pack: WorkflowPack = pack_with(definition)
        monkeypatch.setitem(app.extensions, "crm_workflows", pack)

    return use


def snapshots() -> list[WorkflowSnapshot]:
    return list(
        db.session.scalars(
            sa.select(WorkflowSnapshot).order_by(
                WorkflowSnapshot.workflow_name, WorkflowSnapshot.version
            )
        )
    )


def edited_v1() -> WorkflowDef:
    """The partnership workflow with a longer SLA, still calling itself version 1."""
    return definition_from(
        edited(
            pack_text("partnership"),
            (
                "    sla_days: 21\n    waiting_on: us\n  res",
                "    sla_days: 28\n    waiting_on: us\n  res",
            ),
        )
    )


def test_the_first_record_stores_the_definition(ctx, officer):
    assert snapshots() == []
    make_partnership(officer)
    make_partnership(officer)
    (snapshot,) = snapshots()
    assert (snapshot.workflow_name, snapshot.version, snapshot.fingerprint) == (
        "partnership",
        1,
        PARTNERSHIP.fingerprint,
    )
    assert snapshot.definition == PARTNERSHIP.model_dump(mode="json", by_alias=True)
    assert WorkflowDef.model_validate(snapshot.definition) == PARTNERSHIP
    assert WorkflowDef.model_validate(snapshot.definition).fingerprint == PARTNERSHIP.fingerprint


def test_a_changed_definition_with_the_same_version_is_refused(ctx, officer):
    service.ensure_snapshot(PARTNERSHIP)
    changed = edited_v1()
    assert changed.fingerprint != PARTNERSHIP.fingerprint
    with pytest.raises(DefinitionChanged) as refused:
        service.ensure_snapshot(changed)
    assert refused.value.reasons == [CHANGED]


def test_firing_under_a_silently_edited_definition_changes_nothing(ctx, officer, use_pack):
    partnership = make_partnership(officer, "active", entered_at=at(5))
    before = state_in_database(partnership)
    use_pack(edited_v1())
    with pytest.raises(DefinitionChanged) as refused:
        fire(partnership, "close", user=officer, comment="Gone.")
    assert refused.value.reasons == [CHANGED]
    db.session.commit()
    assert state_in_database(partnership) == before
    assert history_of(partnership) == []
    with pytest.raises(DefinitionChanged):
        make_partnership(officer)


def test_records_stay_on_their_version_when_a_new_one_is_loaded(ctx, officer, use_pack):
    old = make_partnership(officer, "dormant", entered_at=at(5))
    use_pack(partnership_v2(*RENAMES))

    assert service.definition_for(old).version == 1
    assert service.definition_for(old).state("identified").label == "Identified"
    assert [o.transition.name for o in service.options_for(old, officer)] == ["revive", "close"]

    new = make_partnership(officer)
    assert (new.workflow_version, new.state) == (2, "identified")
    assert service.definition_for(new).state("identified").label == "Spotted"
    assert [(s.workflow_name, s.version) for s in snapshots()] == [
        ("partnership", 1),
        ("partnership", 2),
    ]

    entry = fire(old, "close", user=officer, comment="Gone.")
    db.session.commit()
    assert (entry.workflow_version, entry.from_state, entry.to_state) == (1, "dormant", "closed")
    assert state_in_database(old)[0] == "closed"
    assert db.session.get(Partnership, old.id).workflow_version == 1


def test_timers_fire_for_records_on_the_current_version(ctx, officer, use_pack):
    old = make_partnership(officer, "active", entered_at=at(400))
    use_pack(partnership_v2(*RENAMES))
    new = make_partnership(officer, "active", entered_at=at(400))
    run = service.fire_due_timers()
    assert (run.fired, run.skipped) == (1, 0)
    assert state_in_database(new)[0] == "under_review"
    assert state_in_database(old)[0] == "active"  # waits for `crm workflows migrate`


# --- migrating records to the new version -----------------------------------------------------


def migrate(app: Flask, *mappings: str):
    args = ["crm", "workflows", "migrate", "partnership"]
    for mapping in mappings:
        args += ["--map", mapping]
    return app.test_cli_runner().invoke(args=args)


@pytest.fixture
def on_version_1(ctx, officer, use_pack) -> list[Partnership]:
    """Three partnerships on version 1; then version 2 is loaded."""
    records = [
        make_partnership(officer, "identified", entered_at=at(3)),
        make_partnership(officer, "dormant", entered_at=at(40)),
        make_partnership(officer, "closed", entered_at=at(70)),
    ]
    use_pack(partnership_v2(*RENAMES))
    return records


def test_migrate_moves_records_to_the_new_version(app, on_version_1):
    identified, dormant, closed = on_version_1
    entered = [state_in_database(p)[2] for p in on_version_1]
    result = migrate(app, *(f"{s}={s}" for s in ALL_STATES), "dormant=paused")
    assert result.exit_code == 0, result.output
    assert result.stdout == "moved 3 record(s) to the current version of partnership\n"

    db.session.expire_all()
    rows = [db.session.get(Partnership, p.id) for p in on_version_1]
    assert [(p.workflow_version, p.state) for p in rows] == [
        (2, "identified"),
        (2, "paused"),
        (2, "closed"),
    ]
    # The time in the stage restarts only where the stage changed.
    assert rows[0].state_entered_at == entered[0]
    assert rows[1].state_entered_at > entered[1] + dt.timedelta(days=39)
    assert rows[2].state_entered_at == entered[2]

    (moved,) = history_of(dormant)
    assert (
        moved.transition,
        moved.transition_label,
        moved.from_state,
        moved.to_state,
        moved.workflow_version,
        moved.actor_kind,
        moved.comment,
    ) == (
        "migrate",
        "Moved to a new workflow version",
        "dormant",
        "paused",
        2,
        "system",
        "version 1 → 2",
    )
    assert [h.to_state for h in history_of(identified)] == ["identified"]
    assert [h.to_state for h in history_of(closed)] == ["closed"]
    # Migrated records run on version 2 now.
    owner = db.session.get(User, rows[1].owner_id)
    assert service.definition_for(rows[1]).state("paused").label == "Paused"
    assert [o.transition.name for o in service.options_for(rows[1], owner)] == ["revive", "close"]


def test_migrate_refuses_when_a_state_is_not_mapped(app, on_version_1):
    result = migrate(app, *(f"{s}={s}" for s in ALL_STATES))
    assert result.exit_code == 1
    assert result.stderr == "state 'dormant' of version 1 is not mapped\n"
    assert result.stdout == ""
    assert [state_in_database(p)[0] for p in on_version_1] == ["identified", "dormant", "closed"]
    assert count_rows(Partnership, Partnership.workflow_version == 1) == 3
    assert count_rows(WorkflowTransition) == 0


def test_migrate_refuses_a_state_the_new_version_does_not_have(app, on_version_1):
    result = migrate(app, *(f"{s}={s}" for s in ALL_STATES), "dormant=sleeping")
    assert result.exit_code == 1
    assert result.stderr == "'dormant' is mapped to 'sleeping', which version 2 does not have\n"
    assert count_rows(Partnership, Partnership.workflow_version == 1) == 3


def test_migrate_refuses_a_malformed_mapping(app, on_version_1):
    result = migrate(app, "dormant")
    assert result.exit_code == 1
    assert result.stderr == "Error: write each mapping as OLD=NEW, not 'dormant'\n"
    assert count_rows(Partnership, Partnership.workflow_version == 1) == 3


def test_migrate_names_an_unknown_workflow(app, ctx):
    result = app.test_cli_runner().invoke(
        args=["crm", "workflows", "migrate", "invoice", "--map", "a=b"]
    )
    assert result.exit_code == 1
    assert result.stderr == "unknown workflow 'invoice'\n"


def test_migrate_with_nothing_to_move(app, ctx, officer):
    make_partnership(officer)
    result = migrate(app)
    assert result.exit_code == 0, result.output
    assert result.stdout == "moved 0 record(s) to the current version of partnership\n"
