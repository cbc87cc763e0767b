"""The summary table on the terminal and the latest figures in bench/README.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import extra

RESULTS_START = "<!-- bench-results:start (written by python -m bench) -->"
RESULTS_END = "<!-- bench-results:end -->"
ORDER = (
    "organisations",
    "load",
    "partnerships",
    "placements",
    "agreements",
    "scheduler",
    "health",
    "dashboard",
)
DATABASE_ORDER = ("sqlite", "postgresql")


def _value(value: Any) -> str:
    return f"{value:.2f} ms" if isinstance(value, float) else str(value)


def summary_table(results: list[dict[str, Any]]) -> str:
    """A plain-text table: database, benchmark, check, measured, target, pass/FAIL."""
    rows = [("database", "benchmark", "check", "measured", "target", "")]
    for item in results:
        for entry in item["checks"]:
            rows.append(
                (
                    item["database"],
                    item["name"],
                    entry["check"],
                    _value(entry["value"])[:60],
                    entry["target"],
                    "pass" if entry["passed"] else "FAIL",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def load_results(directory: Path) -> list[dict[str, Any]]:
    results = []
    for path in sorted(directory.glob("*.json")):
        try:
            item = json.loads(path.read_text())
        except ValueError:
            continue
        # Only this runner's results (other benchmarks may keep theirs in the same folder).
        if isinstance(item, dict) and item.get("name") in ORDER and "checks" in item:
            results.append(extra.normalise(item))
    results.sort(
        key=lambda r: (
            DATABASE_ORDER.index(r["database"]) if r["database"] in DATABASE_ORDER else 9,
            ORDER.index(r["name"]) if r["name"] in ORDER else 9,
        )
    )
    return results


def _markdown_section(item: dict[str, Any]) -> list[str]:
    if item.get("name") in extra.RUNNERS:
        return extra.markdown(item)
    if "render" in item.get("measurements", {}):
        return _rendering_section(item)
    if item.get("error"):
        return [
            f"### {item['name']} — {item['database']} — FAILED TO RUN",
            "",
            f"{item['date']}; `{item['command']}`: {item['error']}",
            "",
        ]
    scale = item["scale"]["data_set"]
    counts = scale.get("counts") or {}
    placed = f", {counts['placements']:,} placements" if counts.get("placements") else ""
    lines = [
        f"### {item['name']} — {item['database_version']} — "
        f"{'passed' if item['passed'] else 'FAILED'}",
        "",
        f'Issue "{item["issue"]}"; {item["date"]}; `{item["command"]}`; '
        f"{counts.get('organisations', scale['organisations']):,} organisations, "
        f"{counts.get('activities', scale['activities']):,} activities, "
        f"{counts.get('partnerships', scale['partnerships']):,} partnerships{placed} "
        f"({item['machine']['cpus']} CPUs, Python {item['machine']['python']}, "
        f"load average {item['machine'].get('load_average', {}).get('before', '?')} "
        "before the run).",
        "",
    ]
    measurements = item["measurements"]
    if "pages" in measurements:
        lines += [
            "| page | median | p95 | CPU median | statements (scale / small) | note |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for name, page in measurements["pages"].items():
            lines.append(
                f"| {name} `{page['url']}` | {page['median_ms']:.1f} ms | "
                f"{page['p95_ms']:.1f} ms | {page['cpu_median_ms']:.1f} ms | "
                f"{page['statements']} / {page['statements_small']} | {page.get('note', '')} |"
            )
        lines.append("")
    if "fire" in measurements:
        fire = measurements["fire"]
        transitions = ", ".join(f"{k} ×{v}" for k, v in fire["transitions"].items())
        lines += [
            f"Firing a transition with its effects ({fire['fires']} fires, rolled back; "
            f"{transitions}): median {fire['median_ms']:.1f} ms, p95 {fire['p95_ms']:.1f} ms, "
            f"{fire['statements_median']:g} statements.",
            "",
        ]
    if "hello" in measurements:
        hello, listing = measurements["hello"], measurements["organisation_list"]
        lines += [
            "| URL | requests/s | p50 | p99 | non-2xx |",
            "|---|---:|---:|---:|---:|",
        ]
        for page in (hello, listing):
            lines.append(
                f"| `{page['url']}` | {page['requests_per_second']:,.0f} | "
                f"{page.get('latency_p50_ms', 0):.1f} ms | {page.get('latency_p99_ms', 0):.1f} ms "
                f"| {page['non_2xx_3xx']} |"
            )
        lines += [
            "",
            f"List / hello: **{measurements['list_to_hello_ratio']:.1%}** "
            f"({measurements['server']}; {measurements['client']}).",
            "",
        ]
    failed = [c for c in item["checks"] if not c["passed"]]
    if failed:
        lines.append(
            "Missed: "
            + "; ".join(f"{c['check']} {_value(c['value'])} (target {c['target']})" for c in failed)
            + "."
        )
        lines.append("")
    return lines


def _rendering_section(item: dict[str, Any]) -> list[str]:
    """The agreements benchmark (no database): render times and rates."""
    render, rate = item["measurements"]["render"], item["measurements"]["rate"]
    machine = item["machine"]
    lines = [
        f"### {item['name']} — no database — {'passed' if item['passed'] else 'FAILED'}",
        "",
        f'Issue "{item["issue"]}"; {item["date"]}; `{item["command"]}`; WeasyPrint '
        f"{machine.get('weasyprint', '?')} ({machine['cpus']} CPUs, Python {machine['python']}, "
        f"load average {machine.get('load_average', {}).get('before', '?')} before the run).",
        "",
        "| render | pages | median | p95 | CPU median |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, label, pages in (
        ("agreement", "placement agreement (template, PDF/A-2b, hash)", render["pages"]),
        ("plain", "plain HTML page of the same length and layout", render["plain_pages"]),
    ):
        row = render[name]
        lines.append(
            f"| {label} | {'/'.join(map(str, pages))} | {row['median_ms']:.1f} ms | "
            f"{row['p95_ms']:.1f} ms | {row['cpu_median_ms']:.1f} ms |"
        )
    lines += [
        "",
        f"Agreements per second: {rate['one_process']['per_second']:.2f} with one process, "
        f"{rate['two_processes']['per_second']:.2f} with two (x{rate['speedup']:.2f})."
        + (
            f" A bare CPU loop in the same harness: x{loop['speedup']:.2f} with two processes."
            if (loop := item["measurements"].get("cpu_loop"))
            else ""
        ),
        "",
    ]
    failed = [c for c in item["checks"] if not c["passed"]]
    if failed:
        lines += ["Missed: " + "; ".join(f"{c['check']} {c['value']}" for c in failed) + ".", ""]
    return lines


def update_readme(readme: Path, results: list[dict[str, Any]]) -> None:
    """Replace the generated part of bench/README.md with the latest results."""
    lines = [RESULTS_START, "", "```", summary_table(results), "```", ""]
    for item in results:
        lines += _markdown_section(item)
    lines.append(RESULTS_END)
    block = "\n".join(lines)
    text = readme.read_text() if readme.exists() else ""
    if RESULTS_START in text and RESULTS_END in text:
        head, rest = text.split(RESULTS_START, 1)
        tail = rest.split(RESULTS_END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n## Latest figures\n\n" + block + "\n"
    readme.write_text(text)
