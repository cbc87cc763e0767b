"""`python -m bench`: check the issues' performance targets on SQLite and PostgreSQL.

    python -m bench                                     # everything, both databases
    python -m bench --only organisations --db sqlite --quick
    python -m bench --only load,partnerships --db postgresql
    python -m bench --only agreements --quick           # PDF rendering: no database

Full runs write bench/results/NAME-DATABASE.json and the figures in bench/README.md; quick
runs (2,000 organisations, fewer iterations) write to bench/data/quick-results/ only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench import agreements, extra
from bench.datasets import DEMO, QUICK, SCALE, DataSpec, database_for, ensure_database
from bench.report import load_results, summary_table, update_readme
from bench.suites import ISSUES, SUITES, Settings, Target, check

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
QUICK_RESULTS_DIR = BENCH_DIR / "data" / "quick-results"
DATABASES = ("sqlite", "postgresql")
# Benchmarks that use no database: run once, whatever --db says (results/NAME.json).
STANDALONE = {"agreements": agreements.run}
# Production refuses to start without an SMTP server; the measured pages send no e-mail
# (messages wait in the outbox for a deliverer the bench does not run).
BENCH_SMTP_URL = "smtp://127.0.0.1:25"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--only",
        default=",".join([*SUITES, *STANDALONE, *extra.RUNNERS]),
        help="comma-separated benchmarks to run: "
        f"{', '.join([*SUITES, *STANDALONE, *extra.RUNNERS])} "
        "(default: all)",
    )
    parser.add_argument(
        "--db",
        default="both",
        choices=("sqlite", "postgresql", "postgres", "both"),
        help="which database to run on (default: both)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small data set (2,000 organisations) and few iterations; results not kept",
    )
    parser.add_argument("--iterations", type=int, help="measured requests per page")
    parser.add_argument("--load-seconds", type=int, help="length of each wrk run")
    parser.add_argument(
        "--rebuild", action="store_true", help="regenerate the data sets even when cached"
    )
    args = parser.parse_args(argv)
    args.suites = [name.strip() for name in args.only.split(",") if name.strip()]
    known = {*SUITES, *STANDALONE, *extra.RUNNERS}
    unknown = [name for name in args.suites if name not in known]
    if unknown:
        choices = ", ".join([*SUITES, *STANDALONE, *extra.RUNNERS])
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {choices}")
    if args.db == "both":
        args.databases = list(DATABASES)
    else:
        args.databases = ["postgresql" if args.db == "postgres" else args.db]
    return args


def settings_for(args: argparse.Namespace) -> Settings:
    if args.quick:
        base = Settings(iterations=30, warmup=5, fires=30, load_seconds=3, quick=True)
    else:
        base = Settings()
    return Settings(
        iterations=args.iterations or base.iterations,
        warmup=base.warmup,
        fires=base.fires,
        load_seconds=args.load_seconds or base.load_seconds,
        quick=base.quick,
    )


def failed_result(name: str, kind: str, exc: BaseException) -> dict[str, Any]:
    """The result of a benchmark that could not run to the end."""
    error = f"{type(exc).__name__}: {exc}"
    return {
        "name": name,
        "issue": ISSUES.get(name, ""),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": kind,
        "database_version": "",
        "scale": {},
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count()},
        "measurements": {},
        "targets": {},
        "checks": [check("ran to the end", error[:200], "no error", False)],
        "error": error,
        "passed": False,
    }


def busy_warning() -> float:
    """The 1-minute load average; warns when other work competes for the CPUs."""
    load = round(os.getloadavg()[0], 2)
    cpus = os.cpu_count() or 1
    if load > 0.75 * cpus:
        print(
            f"   warning: load average {load} on {cpus} CPUs: other processes compete with "
            "the benchmark and inflate its times",
            flush=True,
        )
    return load


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = settings_for(args)
    spec: DataSpec = QUICK if args.quick else SCALE
    results_dir = QUICK_RESULTS_DIR if args.quick else RESULTS_DIR
    results_dir.mkdir(parents=True, exist_ok=True)
    # In-process apps run as in production (the key is only for this process's sessions).
    os.environ["CRM_ENV"] = "production"
    os.environ["CRM_SECRET_KEY"] = secrets.token_urlsafe(48)
    os.environ.setdefault("CRM_SMTP_URL", BENCH_SMTP_URL)
    started = time.perf_counter()
    produced: list[dict[str, Any]] = []
    unprepared: list[str] = []
    database_suites = [name for name in args.suites if name in SUITES]
    for kind in args.databases if database_suites else []:
        print(f"== {kind}: data sets", flush=True)
        scale_db = database_for(kind, spec)
        small_db = database_for(kind, DEMO)
        try:
            scale_marker = ensure_database(scale_db, rebuild=args.rebuild)
            small_marker = ensure_database(small_db, rebuild=args.rebuild)
        except Exception as exc:
            print(f"!! {kind}: the data sets could not be prepared: {exc}", file=sys.stderr)
            unprepared.append(kind)
            continue
        target = Target(kind, scale_db, scale_marker, small_db, small_marker)
        for name in database_suites:
            print(f"== {kind}: {name}", flush=True)
            load_before = busy_warning()
            suite_started = time.perf_counter()
            try:
                outcome = SUITES[name](target, settings)
            except Exception as exc:  # the app is broken or a page fails: report, go on
                traceback.print_exc()
                outcome = failed_result(name, kind, exc)
            if outcome is None:
                continue
            outcome["seconds"] = round(time.perf_counter() - suite_started, 1)
            outcome["machine"]["load_average"] = {
                "before": load_before,
                "after": round(os.getloadavg()[0], 2),
            }
            path = results_dir / f"{name}-{kind}.json"
            path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
            produced.append(outcome)
            print(f"   {'passed' if outcome['passed'] else 'FAILED'} in {outcome['seconds']} s")
    for name in [name for name in args.suites if name in STANDALONE]:
        print(f"== {name}", flush=True)
        busy_warning()
        suite_started = time.perf_counter()
        try:
            outcome = STANDALONE[name](quick=args.quick, iterations=args.iterations)
        except Exception as exc:
            traceback.print_exc()
            outcome = failed_result(name, "none", exc)
        outcome["seconds"] = round(time.perf_counter() - suite_started, 1)
        path = results_dir / f"{name}.json"
        path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
        produced.append(outcome)
        print(f"   {'passed' if outcome['passed'] else 'FAILED'} in {outcome['seconds']} s")
    for name in [name for name in args.suites if name in extra.RUNNERS]:
        print(f"== {name}", flush=True)
        load_before = busy_warning()
        suite_started = time.perf_counter()
        try:
            outcomes = extra.RUNNERS[name](args.quick, args.databases)
        except Exception as exc:
            traceback.print_exc()
            outcomes = [failed_result(name, "+".join(args.databases), exc)]
        for outcome in outcomes:
            outcome["seconds"] = round(time.perf_counter() - suite_started, 1)
            outcome.setdefault("machine", {}).setdefault(
                "load_average", {"before": load_before, "after": round(os.getloadavg()[0], 2)}
            )
            suffix = "" if name == "scheduler" else f"-{outcome['database']}"
            path = results_dir / f"{name}{suffix}.json"
            path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False, default=str) + "\n")
            produced.append(outcome)
            print(f"   {'passed' if outcome['passed'] else 'FAILED'}")
    print()
    print(summary_table(produced))
    print()
    if not args.quick:
        update_readme(BENCH_DIR / "README.md", load_results(RESULTS_DIR))
        print(f"Results in {RESULTS_DIR.relative_to(BENCH_DIR.parent)}/ and bench/README.md.")
    else:
        print(f"Quick results in {results_dir.relative_to(BENCH_DIR.parent)}/ (not kept).")
    print(f"Total {time.perf_counter() - started:.0f} s.")
    if unprepared:
        print(f"Not run on {', '.join(unprepared)}: the data sets could not be prepared.")
        return 2
    return 0 if all(r["passed"] for r in produced) else 1


if __name__ == "__main__":
    sys.exit(main())
