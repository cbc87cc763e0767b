"""The three benchmarks, each returning its result for one database.

- `organisations` (issue "foundation"): list and organisation pages, server time and SQL
  statements, on the scale data set and on the 60-organisation demo data set;
- `load` (issue "foundation"): requests per second under gunicorn + wrk, list against hello;
- `partnerships` (issue "workflows"): board and list pages, and firing transitions;
- `placements` (issue "learners, programmes and placements"): placement list, board, a
  learner's page and matching a learner to organisations, at 200,000 placements.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import sys
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from bench.datasets import Database
from bench.inprocess import (
    DEMO_LOGIN,
    GENERATED_LOGIN,
    Session,
    fire_candidates,
    measure_fire,
    organisation_pages,
)

LIST_MEDIAN_MS = 25.0
LIST_P95_MS = 50.0
ORGANISATION_PAGE_MEDIAN_MS = 30.0
LOAD_RATIO = 0.04
FIRE_MEDIAN_MS = 20.0
MATCH_MEDIAN_MS = 100.0


@dataclass(frozen=True)
class Settings:
    """How hard to measure."""

    iterations: int = 200
    warmup: int = 20
    fires: int = 100
    load_seconds: int = 10
    quick: bool = False


@dataclass(frozen=True)
class Target:
    """A data set on one kind of database, at scale and as the small comparison set."""

    kind: str
    scale: Database
    scale_marker: dict[str, Any]
    small: Database
    small_marker: dict[str, Any]


def check(name: str, value: Any, target: str, passed: bool) -> dict[str, Any]:
    return {"check": name, "value": value, "target": target, "passed": bool(passed)}


def database_version(database: Database) -> str:
    if database.kind == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    engine = sa.create_engine(database.url)
    try:
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SHOW server_version").scalar())
        return f"PostgreSQL {version}"
    finally:
        engine.dispose()


def result(
    name: str,
    issue: str,
    target: Target,
    settings: Settings,
    measurements: dict[str, Any],
    targets: dict[str, Any],
    checks: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "name": name,
        "issue": issue,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": target.kind,
        "database_version": database_version(target.scale),
        "scale": {
            "data_set": {**asdict(target.scale.spec), "counts": target.scale_marker.get("counts")},
            "partnerships_by": target.scale_marker.get("partnerships_by"),
            "small_data_set": {
                **asdict(target.small.spec),
                "counts": target.small_marker.get("counts"),
                "partnerships_added_by_bench": target.small_marker.get(
                    "partnerships_added_by_bench"
                ),
            },
        },
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
        "settings": asdict(settings),
        "measurements": measurements,
        "targets": targets,
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }


# --- organisations ----------------------------------------------------------------------------


def organisations(target: Target, settings: Settings) -> dict[str, Any]:
    """Organisation list and page: server time at scale, statements at scale and at 60."""
    small = Session(target.small.url, DEMO_LOGIN)
    try:
        small_pages = organisation_pages(small)
        small_counts = {name: small.statements_of(p["url"]) for name, p in small_pages.items()}
    finally:
        small.close()

    session = Session(target.scale.url, GENERATED_LOGIN)
    try:
        pages = measure_pages(
            session, organisation_pages(session), small_pages, small_counts, settings
        )
    finally:
        session.close()

    checks = []
    for name, page in pages.items():
        if page["kind"] == "list":
            checks.append(
                check(
                    f"{name} median",
                    page["median_ms"],
                    f"< {LIST_MEDIAN_MS:g} ms",
                    page["median_ms"] < LIST_MEDIAN_MS,
                )
            )
            checks.append(
                check(
                    f"{name} p95",
                    page["p95_ms"],
                    f"< {LIST_P95_MS:g} ms",
                    page["p95_ms"] < LIST_P95_MS,
                )
            )
        else:
            checks.append(
                check(
                    f"{name} median",
                    page["median_ms"],
                    f"< {ORGANISATION_PAGE_MEDIAN_MS:g} ms",
                    page["median_ms"] < ORGANISATION_PAGE_MEDIAN_MS,
                )
            )
        checks.append(
            check(
                f"{name} statements",
                f"{page['statements']} / {page['statements_small']}",
                "same at scale / at 60",
                page["statements"] == page["statements_small"] and not page["statements_vary"],
            )
        )
    targets = {
        "list_median_ms": LIST_MEDIAN_MS,
        "list_p95_ms": LIST_P95_MS,
        "organisation_page_median_ms": ORGANISATION_PAGE_MEDIAN_MS,
        "statements": "identical for the demo data set (60 organisations) and at scale",
    }
    return result(
        "organisations", "foundation", target, settings, {"pages": pages}, targets, checks
    )


# --- load ---------------------------------------------------------------------------------------


def load(target: Target, settings: Settings) -> dict[str, Any] | None:
    """Requests per second of the organisation list against a bare hello, under gunicorn."""
    from bench.load import ensure_wrk, measure_load

    wrk = ensure_wrk()
    if wrk is None:
        print("    skipped: wrk is not available")
        return None
    measured = measure_load(target.scale, GENERATED_LOGIN, settings.load_seconds, wrk)
    hello = measured["hello"]["requests_per_second"]
    listing = measured["organisation_list"]["requests_per_second"]
    ratio = listing / hello if hello else 0.0
    measurements = {
        **measured,
        "list_to_hello_ratio": round(ratio, 4),
        "server": "gunicorn, 2 sync workers, 127.0.0.1, CRM_ENV=production",
        "client": f"wrk -t2 -c16, {settings.load_seconds} s per URL in 2 alternating rounds, "
        "session cookie of a real login",
    }
    checks = [
        check(
            "list / hello requests per second",
            f"{listing:g} / {hello:g} = {ratio:.1%}",
            f">= {LOAD_RATIO:.0%}",
            ratio >= LOAD_RATIO,
        ),
        check(
            "every response 2xx",
            measured["hello"]["non_2xx_3xx"] + measured["organisation_list"]["non_2xx_3xx"],
            "0 errors",
            measured["hello"]["non_2xx_3xx"] + measured["organisation_list"]["non_2xx_3xx"] == 0,
        ),
    ]
    targets = {"list_to_hello_ratio": LOAD_RATIO}
    return result("load", "foundation", target, settings, measurements, targets, checks)


# --- partnerships ---------------------------------------------------------------------------


def partnerships(target: Target, settings: Settings) -> dict[str, Any]:
    """Board and list at scale (time and statements) and firing transitions."""
    urls = {"board": "/partnerships/board", "list": "/partnerships/"}
    small = Session(target.small.url, DEMO_LOGIN)
    try:
        small_counts = {name: small.statements_of(url) for name, url in urls.items()}
    finally:
        small.close()

    session = Session(target.scale.url, GENERATED_LOGIN)
    pages: dict[str, Any] = {}
    try:
        for name, url in urls.items():
            print(f"    {name}: {url}", flush=True)
            measured = session.measure(url, settings.warmup, settings.iterations)
            pages[name] = {**measured, "statements_small": small_counts[name]}
        print(f"    firing {settings.fires} transitions (rolled back)", flush=True)
        candidates = fire_candidates(session, settings.fires)
        fire = measure_fire(session, candidates)
    finally:
        session.close()

    checks = []
    for name, page in pages.items():
        checks += [
            check(
                f"{name} median",
                page["median_ms"],
                f"< {LIST_MEDIAN_MS:g} ms",
                page["median_ms"] < LIST_MEDIAN_MS,
            ),
            check(
                f"{name} p95", page["p95_ms"], f"< {LIST_P95_MS:g} ms", page["p95_ms"] < LIST_P95_MS
            ),
            check(
                f"{name} statements",
                f"{page['statements']} / {page['statements_small']}",
                "same at scale / at ~50",
                page["statements"] == page["statements_small"] and not page["statements_vary"],
            ),
        ]
    checks.append(
        check(
            "fire transition median",
            fire["median_ms"],
            f"< {FIRE_MEDIAN_MS:g} ms",
            fire["median_ms"] < FIRE_MEDIAN_MS,
        )
    )
    targets = {
        "page_median_ms": LIST_MEDIAN_MS,
        "page_p95_ms": LIST_P95_MS,
        "statements": "identical for ~50 partnerships and at scale",
        "fire_median_ms": FIRE_MEDIAN_MS,
    }
    measurements = {"pages": pages, "fire": fire}
    return result("partnerships", "workflows", target, settings, measurements, targets, checks)


# --- placements -----------------------------------------------------------------------------


def placements(target: Target, settings: Settings) -> dict[str, Any]:
    """Placement list (first page, a stage, a learner's name), board, a learner's page and
    matching, at scale; statements compared with the demo data set."""
    from bench.placements import placement_pages

    small = Session(target.small.url, DEMO_LOGIN)
    try:
        small_pages = placement_pages(small, DEMO_LOGIN[0])
        small_counts = {name: small.statements_of(p["url"]) for name, p in small_pages.items()}
    finally:
        small.close()

    session = Session(target.scale.url, GENERATED_LOGIN)
    try:
        pages = measure_pages(
            session,
            placement_pages(session, GENERATED_LOGIN[0]),
            small_pages,
            small_counts,
            settings,
        )
    finally:
        session.close()

    checks = []
    for name, page in pages.items():
        if page["kind"] == "match":
            checks.append(
                check(
                    f"{name} median",
                    page["median_ms"],
                    f"< {MATCH_MEDIAN_MS:g} ms",
                    page["median_ms"] < MATCH_MEDIAN_MS,
                )
            )
            continue
        checks += [
            check(
                f"{name} median",
                page["median_ms"],
                f"< {LIST_MEDIAN_MS:g} ms",
                page["median_ms"] < LIST_MEDIAN_MS,
            ),
            check(
                f"{name} p95", page["p95_ms"], f"< {LIST_P95_MS:g} ms", page["p95_ms"] < LIST_P95_MS
            ),
            check(
                f"{name} statements",
                f"{page['statements']} / {page['statements_small']}",
                "same at scale / demo",
                page["statements"] == page["statements_small"] and not page["statements_vary"],
            ),
        ]
    targets = {
        "page_median_ms": LIST_MEDIAN_MS,
        "page_p95_ms": LIST_P95_MS,
        "match_median_ms": MATCH_MEDIAN_MS,
        "statements": "identical for the demo data set and at scale (list, board, learner)",
    }
    return result(
        "placements",
        "learners, programmes and placements",
        target,
        settings,
        {"pages": pages},
        targets,
        checks,
    )


SUITES = {
    "organisations": organisations,
    "load": load,
    "partnerships": partnerships,
    "placements": placements,
}
ISSUES = {
    "organisations": "foundation",
    "load": "foundation",
    "partnerships": "workflows",
    "placements": "learners, programmes and placements",
}


def measure_pages(
    session: Session,
    found: dict[str, dict[str, Any]],
    small_pages: dict[str, dict[str, Any]],
    small_counts: dict[str, int],
    settings: Settings,
) -> dict[str, Any]:
    """Time each page at scale; keep its kind, note and the statement count at small scale."""
    pages: dict[str, Any] = {}
    for name, page in found.items():
        print(f"    {name}: {page['url']}", flush=True)
        measured = session.measure(page["url"], settings.warmup, settings.iterations)
        pages[name] = {
            "kind": page["kind"],
            "note": page.get("note", ""),
            **measured,
            "statements_small": small_counts[name],
            "small_url": small_pages[name]["url"],
        }
    return pages
