"""Rows for programmes, learners and placements, written with Core inserts by both data sets.

A planned placement (`crm.demo.placements.PlacementHistory`) becomes its placement row, one
workflow transition row per step and the follow-ups its effects wrote, exactly as the app
would have stored them: derived columns come from the services' own functions.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.db import UTCDateTime
from crm.demo.placements import PlacementHistory
from crm.demo.programmes import ProgrammePlan, ProgrammeYear
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.learners.models import Cohort, Programme, ProgrammeOutcome
from crm.learners.service import learner_search_text, sort_key
from crm.placements.models import RELEASED_STATES
from crm.workflow.definitions import WorkflowDef
from crm.workflow.models import WorkflowTransition

ROWS_PER_INSERT = 10_000


def chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    """The rows in slices of at most ROWS_PER_INSERT."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        yield rows[start : start + ROWS_PER_INSERT]


def reserve_ids(table: sa.Table, count: int) -> list[int]:
    """`count` new ids for the table's rows, in increasing order.

    PostgreSQL: taken from the table's sequence, so the app's own inserts never collide with
    them. SQLite: the next ones after the largest (the generators write alone, in one
    transaction per batch, and the tables have no AUTOINCREMENT counter to keep).
    """
    if count <= 0:
        return []
    if db.session.get_bind().dialect.name == "postgresql":
        sequence = db.session.scalar(
            sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
        ids = db.session.scalars(
            sa.text("SELECT nextval(CAST(:sequence AS regclass)) FROM generate_series(1, :n)"),
            {"sequence": sequence, "n": count},
        )
        return sorted(ids)
    largest = db.session.scalar(sa.select(sa.func.max(table.c.id))) or 0
    return list(range(largest + 1, largest + count + 1))


def insert_returning_ids(table: sa.Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows with ids of their own (set in the dicts) and return those ids in order.

    Faster than INSERT ... RETURNING in the rows' order, which SQLite runs row by row.
    """
    ids = reserve_ids(table, len(rows))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    insert_rows(table, rows)
    return ids


def insert_rows(table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows in slices (one executemany each); every row has the same keys."""
    if not rows:
        return
    dialect = db.session.get_bind().dialect
    compiled = sa.insert(table).compile(dialect=dialect, column_keys=list(rows[0]))
    if set(compiled.params) != set(rows[0]):  # columns with defaults the rows leave out
        for chunk in chunks(rows):
            db.session.execute(sa.insert(table), chunk)
        return
    if dialect.name == "postgresql":
        _copy_rows(table, rows)
        return
    names = list(compiled.positiontup or ())
    if dialect.name != "sqlite":
        for chunk in chunks(rows):
            db.session.execute(sa.insert(table), chunk)
        return
    # SQLite: straight to the driver with the columns' own bind processors. SQLAlchemy's
    # executemany spends more time building each row's parameters than SQLite inserting it.
    processors = [
        (index, process)
        for index, name in enumerate(names)
        if (process := _sqlite_processor(table.c[name], dialect))
    ]
    values_of = operator.itemgetter(*names)
    statement = str(compiled)
    connection = db.session.connection()
    for chunk in chunks(rows):
        values = []
        for row in chunk:
            value = list(values_of(row))
            for index, process in processors:
                if value[index] is not None:
                    value[index] = process(value[index])
            values.append(tuple(value))
        connection.exec_driver_sql(statement, values)


def _copy_rows(table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """PostgreSQL: COPY the rows in, in the session's transaction (constraints still apply).

    Several times faster than multi-row INSERTs; psycopg sends dates, times and numbers as
    they are, the JSON and enum columns get their text here.
    """
    names = list(rows[0])
    converters = [
        (index, converter)
        for index, name in enumerate(names)
        if (converter := _copy_converter(table.c[name]))
    ]
    values_of = operator.itemgetter(*names)
    quote = db.session.get_bind().dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(name) for name in names)}) FROM STDIN"
    driver = db.session.connection().connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            value = list(values_of(row))
            for index, converter in converters:
                if value[index] is not None:
                    value[index] = converter(value[index])
            copy.write_row(value)


def _copy_converter(column: sa.Column[Any]) -> Any:
    """How COPY gets a value of the column (None: psycopg adapts it as it is)."""
    if isinstance(column.type, sa.JSON):
        return json.dumps
    if isinstance(column.type, sa.Enum):
        return lambda value: value.value if isinstance(value, enum.Enum) else value
    return None


def _sqlite_text_time(value: dt.datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (the UTC column's processors, faster)."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d.%06d" % (  # noqa: UP031 - the fastest way here
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
        value.microsecond,
    )


def _sqlite_processor(column: sa.Column[Any], dialect: sa.Dialect) -> Any:
    """How a value of the column is bound on SQLite (None: as it is)."""
    if isinstance(column.type, UTCDateTime):
        return _sqlite_text_time
    if isinstance(column.type, sa.Date) and not isinstance(column.type, sa.DateTime):
        return dt.date.isoformat
    return column.type.dialect_impl(dialect).bind_processor(dialect)


# --- programmes and their years ---------------------------------------------------------------


def ensure_programmes(
    plans: Sequence[ProgrammePlan], years: Sequence[ProgrammeYear], created_at: dt.datetime
) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Ids of the programmes (by code) and their cohorts (by code and year), adding those
    missing: a programme whose code is already taken is reused as it is."""
    codes = [p.code for p in plans]
    query = sa.select(Programme.code, Programme.id).where(Programme.code.in_(codes))
    existing: dict[str, int] = dict(db.session.execute(query).all())
    missing = [p for p in plans if p.code not in existing]
    if missing:
        rows = [
            {
                "name": p.name,
                "code": p.code,
                "eqf_level": p.eqf_level,
                "sector": p.sector,
                "description": p.description,
                "archived_at": None,
                "created_at": created_at,
                "updated_at": created_at,
            }
            for p in missing
        ]
        ids = insert_returning_ids(Programme.__table__, rows)
        existing.update({p.code: i for p, i in zip(missing, ids, strict=True)})
        insert_rows(
            ProgrammeOutcome.__table__,
            [
                {"programme_id": existing[p.code], "position": n, "text": text, "retired": False}
                for p in missing
                for n, text in enumerate(p.outcomes, start=1)
            ],
        )
    programme_ids = {code: existing[code] for code in codes}
    taken = {
        (programme_id, name): cohort_id
        for programme_id, name, cohort_id in db.session.execute(
            sa.select(Cohort.programme_id, Cohort.name, Cohort.id).where(
                Cohort.programme_id.in_(programme_ids.values())
            )
        )
    }
    wanted = [(code, year) for code in codes for year in years]
    new = [(c, y) for c, y in wanted if (programme_ids[c], y.name) not in taken]
    ids = insert_returning_ids(
        Cohort.__table__,
        [
            {
                "programme_id": programme_ids[code],
                "name": year.name,
                "starts_on": year.starts_on,
                "ends_on": year.ends_on,
            }
            for code, year in new
        ],
    )
    for (code, year), cohort_id in zip(new, ids, strict=True):
        taken[(programme_ids[code], year.name)] = cohort_id
    cohorts = {(c, y.name): taken[(programme_ids[c], y.name)] for c, y in wanted}
    return programme_ids, cohorts


# --- learners ---------------------------------------------------------------------------------


def learner_row(
    first_name: str,
    last_name: str,
    email: str,
    programme_id: int,
    cohort_id: int,
    officer_id: int,
    created_at: dt.datetime,
    **fields: Any,
) -> dict[str, Any]:
    """A learner's row with its list order and search text as the service computes them."""
    return {
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "programme_id": programme_id,
        "cohort_id": cohort_id,
        "birth_date": fields.get("birth_date"),
        "consent_basis": fields["consent_basis"],
        "guardian_name": fields.get("guardian_name", ""),
        "guardian_email": fields.get("guardian_email", ""),
        "support_needs": fields.get("support_needs", ""),
        "officer_id": officer_id,
        "archived_at": None,
        "sort_name": sort_key(first_name, last_name),
        "search_text": learner_search_text(first_name, last_name, email),
        "created_at": created_at,
        "updated_at": created_at,
    }


# --- placements -------------------------------------------------------------------------------


@dataclass(frozen=True)
class HostRow:
    """What a placement's rows need of its organisation."""

    organisation_id: int
    partnership_id: int | None
    supervisor_id: int | None
    supervisor_name: str
    address: str


@dataclass(frozen=True)
class OfficerRow:
    id: int
    name: str


def placement_row(
    history: PlacementHistory,
    workflow: WorkflowDef,
    learner_id: int,
    programme_id: int,
    officer_id: int,
    start: dt.date,
    end: dt.date,
    host: HostRow | None,
) -> dict[str, Any]:
    """The placement's row as it stands after its history."""
    texts = history.texts
    held = host if history.has_host else None
    return {
        "learner_id": learner_id,
        "programme_id": programme_id,
        "organisation_id": held.organisation_id if held else None,
        "partnership_id": held.partnership_id if held else None,
        "supervisor_id": held.supervisor_id if held and history.supervisor_named else None,
        "officer_id": officer_id,
        "start_date": start,
        "end_date": end,
        "hours_target": history.hours_target,
        "hours_logged": history.hours_logged,
        "workplace_address": held.address if held else "",
        "role_description": texts.get("role_description", ""),
        "learning_objectives": texts.get("learning_objectives", ""),
        "guardian_consent_on": history.guardian_consent_on,
        "decline_reason": texts.get("decline_reason", ""),
        "hours_shortfall_reason": texts.get("hours_shortfall_reason", ""),
        "period_held": history.state not in RELEASED_STATES,
        "workflow_name": workflow.name,
        "workflow_version": workflow.version,
        "state": history.state,
        "state_entered_at": history.entered_at,
        "checklist": history.checklist,
        "lock_version": 1,
        "created_at": history.created_at,
        "updated_at": history.entered_at,
    }


def history_rows(
    history: PlacementHistory,
    workflow: WorkflowDef,
    placement_id: int,
    officer: OfficerRow,
    host: HostRow | None,
    first_host: HostRow | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The transition rows of the placement's steps, and the follow-ups their effects wrote."""
    transitions = []
    organisations: dict[dt.datetime, int | None] = {}
    at: HostRow | None = None  # where the placement is when the step is taken
    for step in history.steps:
        if step.transition.name == "match":
            at = first_host if step.first_host else host
        organisation_id = at.organisation_id if at else None
        organisations[step.occurred_at] = organisation_id
        if step.actor == "officer":
            kind, user_id, label = "user", officer.id, officer.name
        elif step.actor == "employer":
            kind, user_id, label = "employer", None, at.supervisor_name if at else ""
        else:
            kind, user_id, label = "system", None, ""
        transitions.append(
            {
                "record_type": "placement",
                "record_id": placement_id,
                "organisation_id": organisation_id,
                "workflow_name": workflow.name,
                "workflow_version": workflow.version,
                "transition": step.transition.name,
                "transition_label": step.transition.label,
                "from_state": step.from_state,
                "to_state": step.transition.to,
                "actor_kind": kind,
                "actor_user_id": user_id,
                "actor_label": label,
                "comment": step.comment,
                "occurred_at": step.occurred_at,
            }
        )
        if step.transition.name == "rematch":
            at = None
    follow_ups = [
        {
            "subject": item.subject,
            "due_at": item.due_at,
            "assignee_id": officer.id,
            "status": item.status,
            "record_type": "placement",
            "record_id": placement_id,
            "organisation_id": organisations.get(item.created_at),
            "created_by_id": None,
            "created_by_rule": item.rule,
            "completed_at": item.completed_at,
            "completed_by_id": officer.id if item.done_by_owner else None,
            "notes": "",
            "reminder_sent_at": item.reminder_sent_at,
            "created_at": item.created_at,
            "updated_at": item.completed_at or item.reminder_sent_at or item.created_at,
        }
        for item in history.follow_ups
    ]
    return transitions, follow_ups


def insert_histories(
    transitions: Sequence[dict[str, Any]], follow_ups: Sequence[dict[str, Any]]
) -> None:
    """Write transition and follow-up rows."""
    insert_rows(WorkflowTransition.__table__, transitions)
    insert_rows(FollowUp.__table__, follow_ups)
