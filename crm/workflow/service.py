"""Firing transitions: lock the record, re-check guards, change state, log, run effects.

Everything happens in the caller's transaction, inside a savepoint: if a guard fails, the
record changed meanwhile, or an effect fails, nothing of the transition is applied. Callers
(views, jobs, CLI commands) commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm.exc import StaleDataError

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import CRMSession, db
from crm.workflow import engine
from crm.workflow.definitions import WorkflowDef, WorkflowPack
from crm.workflow.models import WorkflowSnapshot, WorkflowTransition
from crm.workflow.registry import EFFECTS

# Stored untranslated (as every transition label is) and translated when shown.
MIGRATED_LABEL = "Moved to a new workflow version"
_l("Moved to a new workflow version")  # marks MIGRATED_LABEL for the catalogues


class WorkflowError(Exception):
    """A transition could not be fired; `reasons` are sentences fit to show the user."""

    def __init__(self, reasons: list[str]):
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class TransitionBlocked(WorkflowError):
    """A guard, the actor's permission or a missing comment stops the transition."""


class StaleRecord(WorkflowError):
    """Someone else changed the record since the user loaded it."""

    def __init__(self) -> None:
        super().__init__(
            [_("This record was changed by someone else meanwhile. Reload the page and try again.")]
        )


class DefinitionChanged(WorkflowError):
    """A workflow file changed without a new version number."""


class RecordAdapter(Protocol):
    """What the service needs to know about one record type (registered by its area)."""

    record_type: str
    model: Any

    def facts(self, record: Any, now: dt.datetime) -> engine.Facts: ...
    def organisation_id(self, record: Any) -> int | None: ...
    def owner_id(self, record: Any) -> int | None: ...
    def may_edit(self, user: User, record: Any) -> bool: ...
    def related(self, record: Any, relation: str) -> Any | None: ...


ADAPTERS: dict[str, RecordAdapter] = {}


def register_adapter(adapter: RecordAdapter) -> RecordAdapter:
    """Make a record type known to the service."""
    ADAPTERS[adapter.record_type] = adapter
    return adapter


def adapter_for(record: Any) -> RecordAdapter:
    """The adapter of a record's type."""
    for adapter in ADAPTERS.values():
        if isinstance(record, adapter.model):
            return adapter
    raise LookupError(f"no workflow adapter for {type(record).__name__}")


@dataclass(frozen=True)
class EffectContext:
    """What an effect may use: the record, who fired what, and when."""

    record: Any
    adapter: RecordAdapter
    definition: WorkflowDef
    transition: Any
    user: User | None
    now: dt.datetime
    comment: str
    from_state: str = ""


# --- definitions ----------------------------------------------------------------------------


def current_pack() -> WorkflowPack:
    """The workflow definitions the application loaded at start-up."""
    pack: WorkflowPack = current_app.extensions["crm_workflows"]
    return pack


_snapshot_cache: dict[tuple[str, int], WorkflowDef] = {}


def definition_for(record: Any) -> WorkflowDef:
    """The definition the record runs under: the current file, or a stored older version."""
    current = current_pack().definitions.get(record.workflow_name)
    if current is not None and current.version == record.workflow_version:
        return current
    return stored_definition(record.workflow_name, record.workflow_version)


def stored_definition(name: str, version: int) -> WorkflowDef:
    """An older version of a workflow, as stored when records first ran on it."""
    key = (name, version)
    if key not in _snapshot_cache:
        snapshot = db.session.scalar(
            sa.select(WorkflowSnapshot).where(
                WorkflowSnapshot.workflow_name == name, WorkflowSnapshot.version == version
            )
        )
        if snapshot is None:
            raise LookupError(f"workflow {name} version {version} is neither loaded nor stored")
        _snapshot_cache[key] = WorkflowDef.model_validate(snapshot.definition)
    return _snapshot_cache[key]


# Snapshots this process has seen committed, by (database URL, workflow, version,
# fingerprint): ensure_snapshot skips its read for them. A key is remembered only when the
# session that read or wrote the row commits for real, that is when it is bound to an Engine
# and owns its transaction. Sessions bound to a Connection (the tests' outer transaction,
# rolled back afterwards) never add to it, so a rolled-back snapshot is never taken as
# stored. Snapshots are never deleted and an edited definition has another fingerprint,
# hence another key, so a remembered key stays true for the life of the process (whoever
# deletes snapshot rows, as the browser tests' clean-up does, calls forget_verified_snapshots).
_VERIFIED_SNAPSHOTS: set[tuple[str, str, int, str]] = set()
_PENDING_SNAPSHOTS = "crm_workflow_snapshots_pending"


def forget_verified_snapshots() -> None:
    """Make ensure_snapshot read the snapshots again (after their rows were deleted)."""
    _VERIFIED_SNAPSHOTS.clear()


def _snapshot_key(definition: WorkflowDef) -> tuple[str, str, int, str] | None:
    bind = db.session.get_bind()
    if not isinstance(bind, sa.Engine):
        return None
    url = bind.url.render_as_string(hide_password=True)
    return (url, definition.name, definition.version, definition.fingerprint)


@sa.event.listens_for(CRMSession, "after_commit")
def _remember_snapshots(session: sa.orm.Session) -> None:
    _VERIFIED_SNAPSHOTS.update(session.info.pop(_PENDING_SNAPSHOTS, ()))


@sa.event.listens_for(CRMSession, "after_soft_rollback")
def _forget_pending_snapshots(session: sa.orm.Session, _transaction: Any) -> None:
    # Any rollback, a savepoint's too, may have undone the row: remember nothing then.
    session.info.pop(_PENDING_SNAPSHOTS, None)


def ensure_snapshot(definition: WorkflowDef) -> None:
    """Store the definition the first time records run on it; refuse silent edits."""
    key = _snapshot_key(definition)
    if key is not None and key in _VERIFIED_SNAPSHOTS:
        return
    query = sa.select(WorkflowSnapshot).where(
        WorkflowSnapshot.workflow_name == definition.name,
        WorkflowSnapshot.version == definition.version,
    )
    snapshot = db.session.scalar(query)
    if snapshot is None:
        # Two first records on a new version may be created at the same moment: the loser of
        # the unique key waits for the winner's commit, then reads the snapshot it stored.
        try:
            with db.session.begin_nested():
                db.session.add(
                    WorkflowSnapshot(
                        workflow_name=definition.name,
                        version=definition.version,
                        fingerprint=definition.fingerprint,
                        definition=definition.model_dump(mode="json", by_alias=True),
                    )
                )
        except sa.exc.IntegrityError:
            snapshot = db.session.scalar(query)
            if snapshot is None:
                raise
    if snapshot is not None and snapshot.fingerprint != definition.fingerprint:
        raise DefinitionChanged(
            [
                f"workflows/{definition.name}.yaml changed but is still version "
                f"{definition.version}; give it a new version number"
            ]
        )
    if key is not None:
        db.session.info.setdefault(_PENDING_SNAPSHOTS, set()).add(key)


def start(record: Any, definition: WorkflowDef, now: dt.datetime | None = None) -> None:
    """Put a new record on a workflow, in its initial state."""
    ensure_snapshot(definition)
    record.workflow_name = definition.name
    record.workflow_version = definition.version
    record.state = definition.initial
    record.state_entered_at = now or utcnow()
    record.checklist = {}


# --- reading --------------------------------------------------------------------------------


def actor_for(
    user: User | None, record: Any, adapter: RecordAdapter, party: str | None = None
) -> engine.Actor:
    """The engine's view of who is acting."""
    if user is not None:
        return engine.Actor(
            kind="user", role=user.role.value, may_edit=adapter.may_edit(user, record)
        )
    if party in ("employer", "learner", "system"):
        return engine.Actor(kind=party)  # type: ignore[arg-type]
    raise ValueError("a transition needs a user or a party")


def options_for(record: Any, user: User, now: dt.datetime | None = None) -> list[engine.Option]:
    """Transitions the user could fire on the record now, with their blockers."""
    adapter = adapter_for(record)
    definition = definition_for(record)
    facts = adapter.facts(record, now or utcnow())
    return engine.options(definition, facts, actor_for(user, record, adapter))


def history(record_type: str, record_id: int) -> list[WorkflowTransition]:
    """The record's transitions, newest first."""
    return list(
        db.session.scalars(
            sa.select(WorkflowTransition)
            .where(
                WorkflowTransition.record_type == record_type,
                WorkflowTransition.record_id == record_id,
            )
            .order_by(WorkflowTransition.occurred_at.desc(), WorkflowTransition.id.desc())
        )
    )


# --- writing --------------------------------------------------------------------------------


def fire(
    record: Any,
    transition_name: str,
    *,
    user: User | None = None,
    party: str | None = None,
    party_label: str = "",
    expected_version: int | None = None,
    comment: str = "",
    now: dt.datetime | None = None,
) -> WorkflowTransition:
    """Fire a transition on a record, atomically with its history row and its effects."""
    now = now or utcnow()
    adapter = adapter_for(record)
    definition = definition_for(record)
    try:
        transition = definition.transition(transition_name)
    except KeyError:
        raise TransitionBlocked([_("This action does not exist.")]) from None

    try:
        # Lock the row (PostgreSQL: FOR UPDATE; SQLite's write transaction already excludes
        # other writers) and read what others may have committed. Only the record's own
        # table: the refresh repeats the eager outer joins the record was loaded with, and
        # PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
        db.session.refresh(record, with_for_update={"of": adapter.model})
    except StaleDataError:
        raise StaleRecord() from None
    if expected_version is not None and record.lock_version != expected_version:
        raise StaleRecord()

    actor = actor_for(user, record, adapter, party)
    facts = adapter.facts(record, now)
    reasons = engine.blocked_reasons(definition, transition, facts, actor)
    comment = comment.strip()
    if transition.comment == "required" and not comment:
        reasons.append(_("Give a reason or comment for this step."))
    if reasons:
        raise TransitionBlocked(reasons)

    try:
        with db.session.begin_nested():
            entry = WorkflowTransition(
                record_type=adapter.record_type,
                record_id=record.id,
                organisation_id=adapter.organisation_id(record),
                workflow_name=definition.name,
                workflow_version=definition.version,
                transition=transition.name,
                transition_label=transition.label,
                from_state=record.state,
                to_state=transition.to,
                actor_kind=actor.kind,
                actor_user_id=user.id if user else None,
                actor_label=party_label or (user.name if user else ""),
                comment=comment if transition.comment != "none" else "",
                occurred_at=now,
            )
            db.session.add(entry)
            record.state = transition.to
            record.state_entered_at = now
            ensure_snapshot(definition)
            context = EffectContext(
                record, adapter, definition, transition, user, now, comment, entry.from_state
            )
            # An adapter may keep its record type's own fields in step with the move (e.g. a
            # cancelled placement releases its period), before the effects and in the same
            # savepoint. Optional: `entered_state(context)` on the adapter.
            entered_state = getattr(adapter, "entered_state", None)
            if entered_state is not None:
                entered_state(context)
            for call in transition.effects:
                spec = EFFECTS[call.name]
                spec.apply(spec.params.model_validate(call.params), context)
            db.session.flush()
    except StaleDataError:
        raise StaleRecord() from None
    return entry


def set_checklist_item(record: Any, state: str, key: str, ticked: bool, user: User) -> None:
    """Tick or untick a checklist item of the record's current state."""
    adapter = adapter_for(record)
    if not adapter.may_edit(user, record):
        raise TransitionBlocked([_("You are not allowed to do this.")])
    definition = definition_for(record)
    if state != record.state or key not in {i.key for i in definition.state(state).checklist}:
        raise TransitionBlocked([_("This checklist item does not belong to the current stage.")])
    items = set(record.checklist.get(state, []))
    items.add(key) if ticked else items.discard(key)
    record.checklist = {**record.checklist, state: sorted(items)}
    db.session.flush()


@dataclass
class BulkResult:
    """What happened to one record in a bulk move."""

    record: Any
    ok: bool
    reasons: list[str]


def fire_many(
    records: list[Any], transition_name: str, user: User, comment: str = ""
) -> list[BulkResult]:
    """Fire one transition on several records; each passes or fails on its own."""
    results = []
    for record in records:
        try:
            fire(record, transition_name, user=user, comment=comment)
        except WorkflowError as exc:
            results.append(BulkResult(record, False, exc.reasons))
        else:
            results.append(BulkResult(record, True, []))
    return results


@dataclass
class TimerRun:
    """Counts of one timer pass."""

    fired: int = 0
    skipped: int = 0


def fire_due_timers(now: dt.datetime | None = None, limit: int = 1000) -> TimerRun:
    """Fire every `system` transition whose timer has run out and whose guards hold.

    Due records are read `limit` at a time, walking the ids forward, so that records whose
    guards keep failing (and so stay due) cannot hide the ones after them.
    """
    now = now or utcnow()
    run = TimerRun()
    for definition in current_pack().definitions.values():
        adapter = ADAPTERS.get(definition.record)
        if adapter is None:
            continue
        for state, transition in engine.timer_transitions(definition):
            assert transition.timer is not None
            cutoff = now - dt.timedelta(days=transition.timer.after_days)
            model = adapter.model
            after_id = 0
            while True:
                due = db.session.scalars(
                    sa.select(model)
                    .where(
                        model.workflow_name == definition.name,
                        model.workflow_version == definition.version,
                        model.state == state,
                        model.state_entered_at <= cutoff,
                        model.id > after_id,
                    )
                    .order_by(model.id)
                    .limit(limit)
                ).all()
                if not due:
                    break
                after_id = due[-1].id
                for record in due:
                    try:
                        fire(record, transition.name, party="system", now=now)
                    except WorkflowError:
                        run.skipped += 1
                    else:
                        run.fired += 1
    return run


def migrate_records(name: str, mapping: dict[str, str], from_version: int | None = None) -> int:
    """Move records of older versions of a workflow onto the current one, mapping states."""
    target = current_pack().get(name)
    adapter = ADAPTERS[target.record]
    model = adapter.model
    query = sa.select(model.workflow_version).where(
        model.workflow_name == name, model.workflow_version != target.version
    )
    if from_version is not None:
        query = query.where(model.workflow_version == from_version)
    versions = sorted(set(db.session.scalars(query.distinct())))
    problems = []
    for version in versions:
        old = stored_definition(name, version)
        for state in old.states:
            if state not in mapping:
                problems.append(f"state {state!r} of version {version} is not mapped")
    for old_state, new_state in mapping.items():
        if new_state not in target.states:
            problems.append(
                f"{old_state!r} is mapped to {new_state!r}, "
                f"which version {target.version} does not have"
            )
    if problems:
        raise WorkflowError(problems)
    ensure_snapshot(target)
    now = utcnow()
    moved = 0
    for version in versions:
        records = db.session.scalars(
            sa.select(model).where(model.workflow_name == name, model.workflow_version == version)
        ).all()
        for record in records:
            old_state = record.state
            record.state = mapping[old_state]
            record.workflow_version = target.version
            if record.state != old_state:
                record.state_entered_at = now
            db.session.add(
                WorkflowTransition(
                    record_type=adapter.record_type,
                    record_id=record.id,
                    organisation_id=adapter.organisation_id(record),
                    workflow_name=name,
                    workflow_version=target.version,
                    transition="migrate",
                    transition_label=MIGRATED_LABEL,
                    from_state=old_state,
                    to_state=record.state,
                    actor_kind="system",
                    comment=f"version {version} → {target.version}",
                    occurred_at=now,
                )
            )
            moved += 1
    db.session.flush()
    return moved
