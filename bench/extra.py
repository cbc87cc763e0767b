"""Benchmarks with their own entry points, run by `python -m bench` as well.

- `scheduler` (issue "follow-ups, the scheduler, and email"): `python -m bench.bench_scheduler`,
  PostgreSQL only, its own database `crm_bench_scheduler`;
- `health` (issue "partnership health and the dashboard"): `python -m bench.health`, recomputing
  every health score on the scale data set;
- `dashboard` (the same issue): `python -m bench.dashboard`, the dashboard's refresh and page.

Each returns its results in the runner's shape (`checks` as a list of
{check, value, target, passed}); `normalise` turns the files they write on their own into it.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

ISSUES = {
    "scheduler": "Follow-ups, the scheduler, and email that always arrives",
    "health": "Partnership health and the managers' dashboard",
    "dashboard": "Partnership health and the managers' dashboard",
}


def normalise(item: dict[str, Any]) -> dict[str, Any]:
    """A result written by one of these benchmarks on its own, in the runner's shape."""
    checks = item.get("checks")
    if isinstance(checks, dict):  # bench_scheduler: {name: passed}
        targets = item.get("targets") or {}
        target_list = list(targets.values())
        item["checks"] = [
            {
                "check": name.replace("_", " "),
                "value": _scheduler_value(item, name),
                "target": target_list[index] if index < len(target_list) else "",
                "passed": bool(passed),
            }
            for index, (name, passed) in enumerate(checks.items())
        ]
    elif isinstance(checks, list):
        seconds = item.get("name") == "health"  # its values are seconds, not milliseconds
        item["checks"] = [
            {
                **entry,
                "check": entry.get("check") or entry.get("what", ""),
                "value": f"{entry['value']:.2f} s"
                if seconds and isinstance(entry.get("value"), float)
                else entry.get("value"),
            }
            for entry in checks
        ]
    item.setdefault("issue", ISSUES.get(str(item.get("name")), ""))
    item.setdefault("command", f"python -m bench.{item.get('name')}")
    return item


def _scheduler_value(item: dict[str, Any], name: str) -> str:
    measurements = item.get("measurements") or {}
    if name.startswith("reminders"):
        seconds = (measurements.get("reminders_two_processes") or {}).get("seconds")
        return f"{seconds} s" if seconds is not None else "?"
    rate = (measurements.get("outbox_delivery") or {}).get("per_second")
    return f"{rate} / s" if rate is not None else "?"


def scheduler(quick: bool, databases: list[str]) -> list[dict[str, Any]]:
    if "postgresql" not in databases:
        print("   the scheduler benchmark runs on PostgreSQL only: skipped", flush=True)
        return []
    from bench import bench_scheduler

    follow_ups, messages = (2000, 500) if quick else (10000, 2000)
    result = bench_scheduler.run(follow_ups, messages)
    result["command"] = "python -m bench --only scheduler" + (" --quick" if quick else "")
    return [normalise(result)]


def _per_database(module_name: str) -> Callable[[bool, list[str]], list[dict[str, Any]]]:
    def run(quick: bool, databases: list[str]) -> list[dict[str, Any]]:
        module = importlib.import_module(module_name)
        return [normalise(module.run(kind, quick, False)) for kind in databases]

    return run


RUNNERS: dict[str, Callable[[bool, list[str]], list[dict[str, Any]]]] = {
    "scheduler": scheduler,
    "health": _per_database("bench.health"),
    "dashboard": _per_database("bench.dashboard"),
}


def markdown(item: dict[str, Any]) -> list[str]:
    """The README section of one of these results: what was run, and its checks."""
    machine = item.get("machine") or {}
    load = machine.get("load_average_before") or machine.get("load_average_at_start") or "?"
    if isinstance(load, list):
        load = load[0]
    version = item.get("database_version") or item.get("database", "")
    lines = [
        f"### {item['name']} — {version} — {'passed' if item.get('passed') else 'FAILED'}",
        "",
        f'Issue "{item.get("issue", "")}"; {item.get("date", "")}; `{item.get("command", "")}`'
        f"; {machine.get('cpus', os.cpu_count())} CPUs, load average {load} before the run.",
        "",
        "| check | measured | target | |",
        "|---|---:|---|---|",
    ]
    for entry in item.get("checks", []):
        value = entry["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(
            f"| {entry['check']} | {shown} | {entry['target']} | "
            f"{'pass' if entry['passed'] else 'FAIL'} |"
        )
    lines.append("")
    return lines
