"""The benchmark databases: built once with the app's own commands, then kept between runs.

Each data set lives in its own database (a SQLite file under bench/data/, or a PostgreSQL
database whose name starts with `crm_bench`). A marker file in bench/data/markers/ records
what was generated (scale, seed, how) and the row counts; a later run reuses the database
when the marker matches the requested data set and the counts are still there, and rebuilds
it otherwise.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "bench" / "data"
MARKER_DIR = DATA_DIR / "markers"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench"
# 6: `crm generate` and `crm demo` add evaluations, agreements, officers' own follow-ups and
# support needs (a data set made before has none: rebuilt), and the counts include them.
MARKER_FORMAT = 6


@dataclass(frozen=True)
class DataSpec:
    """What a data set holds: `demo` is `crm demo`, the others `crm generate`.

    `crm generate` makes one partnership per organisation that is not archived (its
    default); `partnerships` is only used while the bench has to add them itself.
    `placements` and `learners` are passed to `crm generate` (the demo makes its own); both
    commands also write what came of them (evaluations, agreements, follow-ups).
    """

    name: str
    organisations: int
    contacts: int = 0
    activities: int = 0
    partnerships: int = 0
    seed: int = 1
    placements: int = 0
    learners: int = 0

    @property
    def is_demo(self) -> bool:
        return self.name == "demo"

    def label(self) -> str:
        if self.is_demo:
            return f"demo ({self.organisations} organisations, partnerships, learners, placements)"
        return (
            f"{self.organisations:,} organisations, {self.contacts:,} contacts, "
            f"{self.activities:,} activities, partnerships, {self.learners:,} learners, "
            f"{self.placements:,} placements, seed {self.seed}"
        )


SCALE = DataSpec(
    "scale", 20_000, 60_000, 1_000_000, 20_000, seed=1, placements=200_000, learners=100_000
)
QUICK = DataSpec("quick", 2_000, 6_000, 100_000, 2_000, seed=1, placements=20_000, learners=10_000)
# `crm demo` loads about 60 organisations; the bench adds partnerships to 50 of them.
DEMO = DataSpec("demo", 60, partnerships=50)


@dataclass(frozen=True)
class Database:
    """One benchmark database: its kind (sqlite or postgresql), data set and URL."""

    kind: str
    spec: DataSpec
    url: str

    @property
    def marker_path(self) -> Path:
        return MARKER_DIR / f"{self.kind}-{self.spec.name}.json"

    def display_url(self) -> str:
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)


def database_for(kind: str, spec: DataSpec) -> Database:
    """Where the data set lives on that kind of database."""
    if kind == "sqlite":
        return Database(kind, spec, f"sqlite:///{DATA_DIR / f'{spec.name}.sqlite3'}")
    base = sa.engine.make_url(os.environ.get("CRM_BENCH_POSTGRES_URL") or DEFAULT_POSTGRES_URL)
    stem = base.database or "crm_bench"
    name = stem if spec.name == "scale" else f"{stem}_{spec.name}"
    if name == "test" or not name.startswith("crm_bench"):
        raise SystemExit(f"refusing to use the PostgreSQL database {name!r} for benchmarks")
    return Database(kind, spec, base.set(database=name).render_as_string(hide_password=False))


# --- the app's commands -----------------------------------------------------------------------


def flask_command(database: Database, *args: str, quiet: bool = False) -> str:
    """Run `flask --app wsgi ARGS` against the database; returns its output."""
    env = {
        **os.environ,
        "CRM_DATABASE_URL": database.url,
        "CRM_ENV": "development",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)
        if not quiet:
            print(f"    | {line.rstrip()}", flush=True)
    if process.wait() != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{''.join(lines[-30:])}")
    return "".join(lines)


def generate_supports_partnerships(database: Database) -> bool:
    """Whether `crm generate` has the `--partnerships` option yet."""
    return "--partnerships" in flask_command(database, "crm", "generate", "--help", quiet=True)


# --- databases ------------------------------------------------------------------------------


def _reset(database: Database) -> None:
    """An empty database: delete the SQLite file, or drop and create the PostgreSQL one."""
    if database.kind == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path = Path(sa.engine.make_url(database.url).database or "")
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    url = sa.engine.make_url(database.url)
    name = url.database or ""
    assert name.startswith("crm_bench") and name != "test"
    engine = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        engine.dispose()


def _vacuum(database: Database) -> None:
    """VACUUM ANALYZE a PostgreSQL data set, as autovacuum would have by the time it is used.

    The benchmark server runs with autovacuum off: without this a freshly loaded table has
    no visibility map, so PostgreSQL never uses index-only scans (for the list's COUNT over
    the partial index, the board's counts), which a production database would. Cheap once
    done: VACUUM skips pages that are already all-visible.
    """
    if database.kind != "postgresql":
        return
    engine = sa.create_engine(database.url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        engine.dispose()


def _counts(database: Database) -> dict[str, int] | None:
    """Row counts of the main tables, or None when the database or its tables are missing."""
    if database.kind == "sqlite":
        path = Path(sa.engine.make_url(database.url).database or "")
        if not path.exists():
            return None
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            return {
                table: int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() or 0)
                for table in (
                    "organisations",
                    "activities",
                    "partnerships",
                    "users",
                    "learners",
                    "placements",
                    "evaluations",
                    "agreements",
                    "follow_ups",
                )
            }
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def _read_marker(database: Database) -> dict[str, Any] | None:
    try:
        marker: dict[str, Any] = json.loads(database.marker_path.read_text())
    except (OSError, ValueError):
        return None
    return marker


def ensure_database(database: Database, rebuild: bool = False) -> dict[str, Any]:
    """Make sure the data set is there (building it if needed); returns its marker."""
    wanted_by = "bench"
    if not database.spec.is_demo and generate_supports_partnerships(database):
        wanted_by = "crm generate --partnerships"
    marker = _read_marker(database)
    if marker and not rebuild:
        counts = _counts(database)
        if (
            marker.get("format") == MARKER_FORMAT
            and marker.get("spec") == asdict(database.spec)
            and marker.get("partnerships_by") == wanted_by
            and counts == marker.get("counts")
        ):
            # Migrations may have moved on since the data was generated: apply them.
            flask_command(database, "db", "upgrade", quiet=True)
            _vacuum(database)
            return marker
        print(f"  {database.kind}/{database.spec.name}: cached data set outdated, rebuilding")
    return _build(database, wanted_by)


def _build(database: Database, partnerships_by: str) -> dict[str, Any]:
    spec = database.spec
    print(f"  building {database.kind}/{spec.name} at {database.display_url()}: {spec.label()}")
    started = time.perf_counter()
    database.marker_path.unlink(missing_ok=True)
    _reset(database)
    flask_command(database, "db", "upgrade", quiet=True)
    if spec.is_demo:
        flask_command(database, "crm", "demo")
    else:
        args = [
            "crm",
            "generate",
            f"--organisations={spec.organisations}",
            f"--contacts={spec.contacts}",
            f"--activities={spec.activities}",
            f"--seed={spec.seed}",
            f"--placements={spec.placements}",
            f"--learners={spec.learners}",
        ]
        flask_command(database, *args)
    added = 0
    if partnerships_by == "bench":
        added = add_partnerships(database, spec.partnerships, spec.seed)
        if added:
            print(f"    | bench added {added:,} partnerships with their workflow histories")
    _vacuum(database)
    counts = _counts(database)
    marker = {
        "format": MARKER_FORMAT,
        "spec": asdict(spec),
        "partnerships_by": partnerships_by,
        "partnerships_added_by_bench": added,
        "counts": counts,
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "build_seconds": round(time.perf_counter() - started, 1),
    }
    MARKER_DIR.mkdir(parents=True, exist_ok=True)
    database.marker_path.write_text(json.dumps(marker, indent=2) + "\n")
    print(f"  built in {marker['build_seconds']} s: {counts}")
    return marker


# --- partnerships, until `crm generate --partnerships` exists ---------------------------------

# The methodology's main path and how often generated partnerships stand at each stage.
MAIN_PATH = (
    "identified",
    "researched",
    "approached",
    "needs_analysed",
    "agreeing",
    "active",
    "under_review",
)
STAGE_WEIGHTS = {
    "identified": 18,
    "researched": 12,
    "approached": 12,
    "needs_analysed": 9,
    "agreeing": 7,
    "active": 22,
    "under_review": 5,
    "dormant": 9,
    "closed": 6,
}


@contextmanager
def app_for(url: str, **config: Any) -> Iterator[Any]:
    """A production-like app on the database, inside an application context."""
    from crm import create_app
    from crm.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "DEBUG": False, "TESTING": False, **config})
    try:
        with app.app_context():
            yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def add_partnerships(database: Database, limit: int, seed: int) -> int:
    """Give up to `limit` organisations a partnership with a workflow history.

    Only when the data set has no partnerships at all: `crm demo` may make its own.

    Written with bulk inserts like `crm generate`: the stage is drawn from STAGE_WEIGHTS, the
    history walks the main path (then to dormant or closed), each step a few days to weeks
    after the previous one, and the last step's follow-ups are scheduled as its effects do.
    """
    from crm.auth.models import User
    from crm.extensions import db
    from crm.followups.models import FollowUp, FollowUpStatus
    from crm.organisations.models import Organisation
    from crm.partnerships.models import Partnership
    from crm.workflow import service as workflow
    from crm.workflow.models import WorkflowTransition

    rng = random.Random(seed * 7919)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with app_for(database.url), app_context_request():
        if db.session.scalar(sa.select(sa.func.count()).select_from(Partnership)):
            return 0
        wf = workflow.current_pack().for_record("partnership")
        workflow.ensure_snapshot(wf)
        taken = sa.select(Partnership.organisation_id)
        organisations = db.session.execute(
            sa.select(Organisation.id, Organisation.owner_id, Organisation.created_at)
            .where(Organisation.archived_at.is_(None), Organisation.id.not_in(taken))
            .order_by(Organisation.id)
            .limit(limit)
        ).all()
        names = dict(db.session.execute(sa.select(User.id, User.name)).tuples().all())
        states = list(STAGE_WEIGHTS)
        weights = list(STAGE_WEIGHTS.values())
        plans = []
        for organisation_id, owner_id, created_at in organisations:
            target = rng.choices(states, weights=weights)[0]
            path = _history(target, rng)
            steps = []
            moment = max(created_at, now - dt.timedelta(days=700)) + dt.timedelta(hours=2)
            for from_state, to_state in itertools.pairwise(path):
                moment += dt.timedelta(days=rng.randint(2, 45), minutes=rng.randint(0, 600))
                steps.append((from_state, to_state, min(moment, now - dt.timedelta(hours=1))))
            entered = steps[-1][2] if steps else moment
            plans.append((organisation_id, owner_id, target, entered, steps))

        rows = [
            {
                "organisation_id": organisation_id,
                "owner_id": owner_id,
                "title": "",
                "needs_summary": "Hosting learners; co-designing the welding module."
                if target not in ("identified", "researched", "approached")
                else "",
                "memorandum_signed_on": entered.date()
                if target in ("active", "under_review")
                else None,
                "review_notes": "",
                "closed_reason": "No capacity this year." if target == "closed" else "",
                "workflow_name": wf.name,
                "workflow_version": wf.version,
                "state": target,
                "state_entered_at": entered,
                "checklist": {},
                "lock_version": 1,
                "created_at": steps[0][2] - dt.timedelta(hours=1) if steps else entered,
                "updated_at": entered,
            }
            for organisation_id, owner_id, target, entered, steps in plans
        ]
        ids: list[int] = []
        table = Partnership.__table__
        statement = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        for start in range(0, len(rows), 5_000):
            ids.extend(db.session.execute(statement, rows[start : start + 5_000]).scalars())

        transitions: list[dict[str, Any]] = []
        follow_ups: list[dict[str, Any]] = []
        for partnership_id, (organisation_id, owner_id, _target, entered, steps) in zip(
            ids, plans, strict=True
        ):
            for from_state, to_state, occurred in steps:
                transition = _transition_between(wf, from_state, to_state)
                transitions.append(
                    {
                        "record_type": "partnership",
                        "record_id": partnership_id,
                        "organisation_id": organisation_id,
                        "workflow_name": wf.name,
                        "workflow_version": wf.version,
                        "transition": transition.name,
                        "transition_label": transition.label,
                        "from_state": from_state,
                        "to_state": to_state,
                        "actor_kind": "user",
                        "actor_user_id": owner_id,
                        "actor_label": names.get(owner_id, ""),
                        "comment": "Generated for benchmarks."
                        if transition.comment != "none"
                        else "",
                        "occurred_at": occurred,
                    }
                )
            if steps:
                last = _transition_between(wf, steps[-1][0], steps[-1][1])
                for call in last.effects:
                    if call.name != "schedule_follow_up":
                        continue
                    follow_ups.append(
                        {
                            "subject": call.params["subject"],
                            "due_at": entered + dt.timedelta(days=int(call.params["days"])),
                            "assignee_id": owner_id,
                            "status": FollowUpStatus.OPEN.value,
                            "record_type": "partnership",
                            "record_id": partnership_id,
                            "organisation_id": organisation_id,
                            "created_by_id": None,
                            "created_by_rule": f"{wf.name}.{last.name}",
                            "completed_at": None,
                            "created_at": entered,
                            "updated_at": entered,
                        }
                    )
        for chunk_start in range(0, len(transitions), 10_000):
            db.session.execute(
                sa.insert(WorkflowTransition.__table__),
                transitions[chunk_start : chunk_start + 10_000],
            )
        for chunk_start in range(0, len(follow_ups), 10_000):
            db.session.execute(
                sa.insert(FollowUp.__table__), follow_ups[chunk_start : chunk_start + 10_000]
            )
        db.session.commit()
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
        return len(ids)


@contextmanager
def app_context_request() -> Iterator[None]:
    """A request context on the current app (services use gettext)."""
    from flask import current_app

    with current_app.test_request_context("/"):
        yield


def _history(target: str, rng: random.Random) -> list[str]:
    """The states a partnership went through to reach `target`, starting at identified."""
    if target in MAIN_PATH:
        return list(MAIN_PATH[: MAIN_PATH.index(target) + 1])
    if target == "dormant":
        stop = rng.choice(("approached", "needs_analysed", "agreeing", "active"))
        return [*MAIN_PATH[: MAIN_PATH.index(stop) + 1], "dormant"]
    stop = rng.choice(MAIN_PATH[:6])
    return [*MAIN_PATH[: MAIN_PATH.index(stop) + 1], "closed"]


def _transition_between(wf: Any, from_state: str, to_state: str) -> Any:
    for transition in wf.transitions:
        if transition.to == to_state and from_state in wf.from_states_of(transition):
            return transition
    raise LookupError(f"the partnership workflow has no step from {from_state} to {to_state}")
