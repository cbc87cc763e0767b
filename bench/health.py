"""Health score benchmark (issue #8): recomputing every partnership's score at scale.

    .venv/bin/python -m bench.health                    # scale data set, both databases
    .venv/bin/python -m bench.health --db sqlite --quick

On the benchmark data sets (bench/datasets.py: `crm generate` with 20,000 organisations,
~19,600 partnerships, 1,000,000 activities, 200,000 placements; `--quick`: a tenth), on
SQLite and PostgreSQL, in-process with a production-configured app:

1. **Recompute all** (`crm.health.service.recompute()`, what `flask crm health recompute`
   runs): the partnerships and one GROUP BY per kind of input, scoring in Python, one
   executemany UPDATE of the partnerships and one executemany upsert of today's history
   rows, then COMMIT. Timed end to end (wall and CPU time of this process), three runs;
   each also timed by phase: gathering (the SQL reads), scoring (Python), writing
   (UPDATE + upsert + COMMIT), and its statements counted.
2. **With the other inputs**: `crm generate` makes no employer evaluations, links or
   memoranda; `add_other_inputs` adds them in the transaction (about one evaluation per
   evaluated placement, one link per placement past the match, a signed memorandum per
   active partnership), recompute all runs once more, and the transaction is rolled back.
3. **Nightly job** (`crm.health.jobs.recompute_nightly`): every score marked as not yet
   computed today, then the job's batches of 2,000 partnerships, each claimed, recomputed
   and committed on its own.

Target: recomputing all under 30 s on both databases. Writes bench/results/health-DB.json
(quick runs: bench/data/quick-results/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bench.datasets import QUICK, SCALE, app_for, database_for, ensure_database

BENCH_DIR = Path(__file__).resolve().parent
ISSUE = "partnership health (#8)"
TARGET_SECONDS = 30.0
RUNS = 3


def _load() -> float:
    return os.getloadavg()[0]


class _Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


def _timed(function: Any) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def add_other_inputs(today: dt.date) -> dict[str, int]:
    """Employer evaluations, links and memoranda, which `crm generate` does not make.

    Inserted with INSERT ... SELECT in the current transaction (the caller rolls it back, so
    the shared data set is left as it was): an employer evaluation of every evaluated
    placement (satisfaction 1 to 5 by id), a confirmation link for every placement past the
    match (sent when the placement was created, answered when it entered its stage, one in
    ten left to expire), and a signed memorandum for every active or under-review partnership
    (a third expiring within 30 days, a third within 90, a third next year).
    """
    from crm.agreements.models import Agreement
    from crm.evaluations.models import Evaluation
    from crm.extensions import db
    from crm.links.models import ActionLink
    from crm.partnerships.models import Partnership
    from crm.placements.models import Placement

    def insert(model: Any, values: dict[str, Any], source: Any, *where: Any) -> int:
        table = model.__table__
        select = sa.select(*values.values()).select_from(source).where(*where)
        db.session.execute(sa.insert(table).from_select(list(values), select))
        # (psycopg reports no row count for INSERT ... SELECT here: count the source rows.)
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(source).where(*where)))

    p, lit = Placement, sa.literal
    added = {
        "evaluations": insert(
            Evaluation,
            {
                "placement_id": p.id,
                "organisation_id": p.organisation_id,
                "programme_id": p.programme_id,
                "kind": lit("employer"),
                "evaluator_name": lit(""),
                "satisfaction": p.id % 5 + 1,
                "comments": lit(""),
                "submitted_at": p.state_entered_at,
            },
            p,
            p.state == "evaluated",
            p.organisation_id.is_not(None),
            # `crm generate` now writes the employer's evaluation of evaluated placements.
            ~sa.exists().where(Evaluation.placement_id == p.id, Evaluation.kind == "employer"),
        ),
        "links": insert(
            ActionLink,
            {
                "token_hash": lit("bench-") + sa.cast(p.id, sa.String),
                "nonce": lit("bench-") + sa.cast(p.id, sa.String),
                "purpose": lit("confirm_placement"),
                "record_type": lit("placement"),
                "record_id": p.id,
                "organisation_id": p.organisation_id,
                "party": lit(""),
                "recipient_name": lit(""),
                "recipient_email": lit("supervisor@bench.test"),
                "language": lit("en"),
                "fingerprint": lit(""),
                "created_at": p.created_at,
                "expires_at": p.state_entered_at,
                "reminders_sent": lit(0),
                "spent_at": sa.case((p.id % 10 == 0, sa.null()), else_=p.state_entered_at),
                "decision": lit(""),
                "decided_ip": lit(""),
                "decided_user_agent": lit(""),
            },
            p,
            p.organisation_id.is_not(None),
            p.state.not_in(["requested", "matched"]),
        ),
    }
    q = Partnership
    expiry = sa.case(
        (q.id % 3 == 0, lit(today + dt.timedelta(days=20), sa.Date)),
        (q.id % 3 == 1, lit(today + dt.timedelta(days=80), sa.Date)),
        else_=lit(today + dt.timedelta(days=400), sa.Date),
    )
    added["memoranda"] = insert(
        Agreement,
        {
            "kind": lit("partnership_memorandum"),
            "partnership_id": q.id,
            "organisation_id": q.organisation_id,
            "officer_id": q.owner_id,
            "language": lit("en"),
            "terms": lit({}, sa.JSON),
            "expires_on": expiry,
            "current_number": lit(1),
            "document_sha256": lit(""),
            "decline_reason": lit(""),
            "termination_reason": lit(""),
            "workflow_name": lit("agreement"),
            "workflow_version": lit(2),
            "state": lit("signed"),
            "state_entered_at": q.state_entered_at,
            "checklist": lit({}, sa.JSON),
            "lock_version": lit(1),
            "created_at": q.state_entered_at,
            "updated_at": q.state_entered_at,
        },
        q,
        q.state.in_(["active", "under_review"]),
    )
    return added


def measure(url: str) -> dict[str, Any]:
    """Recompute all (three runs, by phase) and the nightly job, on the database at `url`."""
    from crm.db import utcnow
    from crm.extensions import db
    from crm.health import jobs, service
    from crm.partnerships.models import Partnership

    with app_for(url) as app, app.test_request_context("/"):
        engine = db.engine
        counts = {
            "partnerships": db.session.scalar(sa.select(sa.func.count()).select_from(Partnership)),
        }
        db.session.commit()
        runs = []
        for _ in range(RUNS):
            counter = _Counter()
            sa.event.listen(engine, "before_cursor_execute", counter)
            try:
                config = service.current_config()
                now = utcnow()
                today = service.provider_today(now)
                total_wall, total_cpu = time.perf_counter(), time.process_time()
                gathered, gather_wall, gather_cpu = _timed(
                    lambda: service.gather_inputs(config, now, today)  # noqa: B023
                )
                results, score_wall, score_cpu = _timed(
                    lambda: service.score_all(gathered, config, now, today)  # noqa: B023
                )

                def write() -> Any:
                    run = service.write_scores(results, now, today, now)  # noqa: B023
                    db.session.commit()
                    return run

                run, write_wall, write_cpu = _timed(write)
                runs.append(
                    {
                        "wall_seconds": round(time.perf_counter() - total_wall, 3),
                        "cpu_seconds": round(time.process_time() - total_cpu, 3),
                        "gather_seconds": round(gather_wall, 3),
                        "gather_cpu_seconds": round(gather_cpu, 3),
                        "score_seconds": round(score_wall, 3),
                        "score_cpu_seconds": round(score_cpu, 3),
                        "write_seconds": round(write_wall, 3),
                        "write_cpu_seconds": round(write_cpu, 3),
                        "statements": counter.count,
                        "scored": run.scored,
                        "unscored": run.unscored,
                        "history_rows": run.history_rows,
                    }
                )
            finally:
                sa.event.remove(engine, "before_cursor_execute", counter)
            print(
                f"    recompute all: {runs[-1]['wall_seconds']:.2f} s "
                f"(gather {gather_wall:.2f}, score {score_wall:.2f}, write {write_wall:.2f}; "
                f"{counter.count} statements; {run.scored:,} scored, {run.unscored:,} final)",
                flush=True,
            )

        # With the inputs `crm generate` leaves out, rolled back afterwards.
        now = utcnow()
        added, add_seconds, _cpu = _timed(lambda: add_other_inputs(service.provider_today(now)))
        print(f"    added {added} in {add_seconds:.1f} s (rolled back afterwards)", flush=True)
        counter = _Counter()
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            fuller, fuller_wall, fuller_cpu = _timed(lambda: service.recompute(now=now))
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)
        db.session.rollback()
        with_inputs = {
            "added_rows": added,
            "wall_seconds": round(fuller_wall, 3),
            "cpu_seconds": round(fuller_cpu, 3),
            "statements": counter.count,
            "scored": fuller.scored,
            "note": "recompute() without COMMIT; the added rows are rolled back",
        }
        print(
            f"    recompute all with them: {fuller_wall:.2f} s ({counter.count} statements)",
            flush=True,
        )

        # The nightly job from scratch: nothing computed today.
        db.session.execute(sa.update(Partnership.__table__).values(health_computed_at=None))
        db.session.commit()
        nightly, nightly_wall, nightly_cpu = _timed(jobs.recompute_nightly)
        print(
            f"    nightly job: {nightly_wall:.2f} s in {nightly.batches} batches "
            f"({nightly.scored:,} scored)",
            flush=True,
        )
        return {
            "counts": counts,
            "recompute_all": runs,
            "recompute_all_median_seconds": round(
                statistics.median(r["wall_seconds"] for r in runs), 3
            ),
            "recompute_all_with_evaluations_links_memoranda": with_inputs,
            "nightly_job": {
                "wall_seconds": round(nightly_wall, 3),
                "cpu_seconds": round(nightly_cpu, 3),
                "batches": nightly.batches,
                "scored": nightly.scored,
                "unscored": nightly.unscored,
            },
        }


def _database_version(url: str) -> str:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return "SQLite " + str(conn.exec_driver_sql("select sqlite_version()").scalar())
            return "PostgreSQL " + str(conn.exec_driver_sql("show server_version").scalar())
    finally:
        engine.dispose()


def run(kind: str, quick: bool, rebuild: bool) -> dict[str, Any]:
    spec = QUICK if quick else SCALE
    database = database_for(kind, spec)
    print(f"health — {kind} — {spec.label()}", flush=True)
    marker = ensure_database(database, rebuild=rebuild)
    load_before = _load()
    measurements = measure(database.url)
    median = measurements["recompute_all_median_seconds"]
    nightly = measurements["nightly_job"]["wall_seconds"]
    checks = [
        {
            "what": "recompute all, median of 3",
            "value": median,
            "target": f"< {TARGET_SECONDS:.0f} s",
            "passed": median < TARGET_SECONDS,
        },
        {
            "what": "recompute all with evaluations, links and memoranda added",
            "value": measurements["recompute_all_with_evaluations_links_memoranda"]["wall_seconds"],
            "target": f"< {TARGET_SECONDS:.0f} s",
            "passed": measurements["recompute_all_with_evaluations_links_memoranda"]["wall_seconds"]
            < TARGET_SECONDS,
        },
        {
            "what": "nightly job (batches of 2,000, each committed)",
            "value": nightly,
            "target": f"< {TARGET_SECONDS:.0f} s",
            "passed": nightly < TARGET_SECONDS,
        },
    ]
    result = record_result("health", ISSUE, kind, quick, marker, load_before, measurements, checks)
    for check in checks:
        status = "pass" if check["passed"] else "FAIL"
        print(f"  {check['what']}: {check['value']:.2f} s ({check['target']}) {status}")
    return result


def record_result(
    name: str,
    issue: str,
    kind: str,
    quick: bool,
    marker: dict[str, Any],
    load_before: float,
    measurements: dict[str, Any],
    checks: list[dict[str, Any]],
) -> dict[str, Any]:
    """The result of a benchmark over a data set (health, dashboard), written to its file."""
    spec = QUICK if quick else SCALE
    result = {
        "name": name,
        "issue": issue,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": kind,
        "database_version": _database_version(database_for(kind, spec).url),
        "scale": spec.label(),
        "rows": marker.get("counts"),
        "command": f"python -m bench.{name} " + " ".join(sys.argv[1:]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": round(load_before, 2),
            "load_average_after": round(_load(), 2),
        },
        "measurements": measurements,
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }
    out_dir = BENCH_DIR / ("data/quick-results" if quick else "results")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}-{kind}.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="the quick data set (a tenth)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the data set")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql") if args.db == "both" else (args.db,)
    results = [run(kind, args.quick, args.rebuild) for kind in kinds]
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
