"""Builders for workflow tests: partnerships in any stage, pack variants, rows to assert on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from crm.auth.models import User
from crm.config import PROJECT_ROOT
from crm.db import utcnow
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.partnerships.service import start_partnership
from crm.workflow.definitions import WorkflowDef, WorkflowPack, load_pack, parse_text
from crm.workflow.models import WorkflowTransition
from tests.factories import make_organisation

PACK_DIR = PROJECT_ROOT / "workflows"
PACK = load_pack(PACK_DIR)
PARTNERSHIP = PACK.get("partnership")
PLACEMENT = PACK.get("placement")
AGREEMENT = PACK.get("agreement")


# --- definitions ---------------------------------------------------------------------------


def pack_text(name: str) -> str:
    """The YAML of one file of the default pack."""
    return (PACK_DIR / f"{name}.yaml").read_text(encoding="utf-8")


def edited(text: str, *replacements: tuple[str, str]) -> str:
    """`text` with each (old, new) replaced; every `old` must occur exactly once."""
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times, not once"
        text = text.replace(old, new)
    return text


def definition_from(text: str, name: str = "partnership") -> WorkflowDef:
    """A definition from YAML text that must be valid."""
    definition, problems = parse_text(text, f"workflows/{name}.yaml", expected_name=name)
    assert definition is not None, [str(p) for p in problems]
    return definition


def pack_with(definition: WorkflowDef) -> WorkflowPack:
    """The default pack with one definition replaced."""
    return WorkflowPack({**PACK.definitions, definition.name: definition})


def partnership_v2(*replacements: tuple[str, str]) -> WorkflowDef:
    """The partnership workflow as version 2, with some edits."""
    return definition_from(
        edited(pack_text("partnership"), ("version: 1", "version: 2"), *replacements)
    )


# --- records -------------------------------------------------------------------------------


def make_partnership(
    owner: User,
    state: str | None = None,
    entered_at: dt.datetime | None = None,
    organisation: Organisation | None = None,
    **fields: Any,
) -> Partnership:
    """A partnership owned by `owner`, started properly, then put in `state` if given."""
    organisation = organisation or make_organisation(owner)
    partnership = start_partnership(organisation, owner)
    if state is not None:
        partnership.state = state
    if entered_at is not None or state is not None:
        partnership.state_entered_at = entered_at or utcnow()
    for name, value in fields.items():
        setattr(partnership, name, value)
    db.session.commit()
    return partnership


def tick_all(partnership: Partnership) -> None:
    """Tick every checklist item of the partnership's current stage."""
    items = [item.key for item in PARTNERSHIP.state(partnership.state).checklist]
    partnership.checklist = {**partnership.checklist, partnership.state: items}
    db.session.commit()


def history_of(partnership: Partnership) -> list[WorkflowTransition]:
    """The partnership's transitions, oldest first."""
    return list(
        db.session.scalars(
            sa.select(WorkflowTransition)
            .where(
                WorkflowTransition.record_type == "partnership",
                WorkflowTransition.record_id == partnership.id,
            )
            .order_by(WorkflowTransition.id)
        )
    )


def follow_ups_of(partnership: Partnership) -> list[FollowUp]:
    """The partnership's follow-ups, oldest first."""
    return list(
        db.session.scalars(
            sa.select(FollowUp)
            .where(FollowUp.record_type == "partnership", FollowUp.record_id == partnership.id)
            .order_by(FollowUp.id)
        )
    )


def state_in_database(partnership: Partnership) -> tuple[str, int, dt.datetime]:
    """(state, lock_version, state_entered_at) as committed rows have them, not the session."""
    row = db.session.execute(
        sa.select(Partnership.state, Partnership.lock_version, Partnership.state_entered_at).where(
            Partnership.id == partnership.id
        )
    ).one()
    return row.state, row.lock_version, row.state_entered_at


# Whole-database helpers live in tests/database.py (shared with other committed tests).
from tests.database import delete_every_row, rows_per_table  # noqa: E402, F401


def at(days_ago: float, now: dt.datetime | None = None) -> dt.datetime:
    """A moment `days_ago` days before `now` (default: the current time)."""
    return (now or utcnow()) - dt.timedelta(days=days_ago)
