"""Agreements benchmark (issue "agreements"): how fast a placement agreement renders.

    .venv/bin/python -m bench --only agreements            # with the other suites' runner
    .venv/bin/python -m bench.agreements [--quick]         # alone

No database: the values of generated placement agreements are built directly, shaped and
bounded as crm.agreements.document.document_values makes them (standard terms, an adult
learner, a supervisor, three signatories), and rendered by the real path —
`crm.agreements.document.render_values`: the Jinja template in the agreement's language,
WeasyPrint with the restricted fetcher, PDF/A-2b, metadata, SHA-256 and page count.

1. Latency: median and p95 (wall and CPU) of rendering a placement agreement, against a
   plain HTML page of the same length and layout — the same document's HTML with the print
   CSS inlined, rendered by bare WeasyPrint (`HTML(string=...).write_pdf()`, its defaults:
   no PDF/A, default fetcher, a new font configuration each time) — measured in the same
   run, alternating the two so that a change in machine load affects both alike.
   Target: median within 1.5 times the plain page's.
2. Throughput: agreements per second rendered by one process and by two processes
   (separate interpreters, started and warmed up before a common start signal).
   Target: two processes close to twice one (at least 1.8 times). For reference, the same
   harness runs a bare Python CPU loop in one and two processes: what the machine gives
   two processes at that moment (on a machine shared with other work, less than 2).

Writes bench/results/agreements.json (quick runs: bench/data/quick-results/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ISSUE = "agreements"
TARGET_RATIO = 1.5
TARGET_SPEEDUP = 1.8  # "close to 2 x"

FIRST_NAMES = ["Lena", "Jonas", "Amélie", "Mateusz", "Sofía", "Luca", "Aino", "Ioana", "Noah"]
LAST_NAMES = ["Lernend", "Kowalski", "Dubois", "García Pérez", "Rossi", "Virtanen", "Popescu"]
EMPLOYERS = [
    "Werkzeugbau Kern GmbH",
    "Rheinwerk Tools GmbH",
    "Atelier Lumière SARL",
    "Fabryka Maszyn Sp. z o.o.",
    "Talleres Hernández S.L.",
    "Officine Meccaniche Bianchi S.r.l.",
]
ROLES = [
    "Assembly and testing of pneumatic control units; maintenance of the test bench.",
    "Set-up of CNC lathes, first-article inspection and documentation of measurements.",
    "Wiring of control cabinets after circuit diagrams, and fault finding with the team.",
]


# --- the documents ------------------------------------------------------------------------------


def placement_samples(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """`count` placement agreements' values, as document_values makes them."""
    from crm.agreements.document import bounded, bounded_terms, bounded_text, default_terms
    from crm.agreements.models import AgreementKind

    rng = random.Random(seed)
    terms = bounded_terms(AgreementKind.PLACEMENT, default_terms(AgreementKind.PLACEMENT))
    samples = []
    for n in range(count):
        learner = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        employer = rng.choice(EMPLOYERS)
        start = dt.date(2027, 3, 1) + dt.timedelta(days=7 * rng.randrange(10))
        end = start + dt.timedelta(days=7 * rng.randrange(6, 14) - 3)
        samples.append(
            {
                "kind": "placement_agreement",
                "language": "en",
                "agreement_id": 1000 + n,
                "version": 1 + n % 3,
                "issued_on": "2026-12-06",
                "valid_from": start.isoformat(),
                "expires_on": end.isoformat(),
                "title": f"Placement agreement — {learner} at {employer}",
                "provider": {
                    "name": "Demo Vocational College",
                    "address": "Schulstraße 1\n50667 Köln",
                },
                "officer": {
                    "name": "Olga Officer",
                    "email": "olga@college.test",
                    "phone": "+49 221 555 01",
                },
                "organisation": {
                    "legal_name": bounded(employer),
                    "trading_name": "",
                    "registration_number": f"HRB {rng.randrange(10_000, 99_999)}",
                    "address": "Industriestraße 7",
                    "city": "Köln",
                    "country": "Germany",
                },
                "learner": {
                    "name": bounded(learner),
                    "birth_date": f"{rng.randrange(2004, 2008)}-0{rng.randrange(1, 9)}-1{n % 9}",
                    "is_minor": False,
                    "guardian_name": "",
                },
                "programme": {
                    "name": "Mechatronics technician",
                    "code": "MECH-4",
                    "eqf_level": 4,
                    "year": "2026/27",
                },
                "supervisor": {
                    "name": "Sven Supervisor",
                    "job_title": "Workshop lead",
                    "email": "sven@employer.test",
                    "phone": "+49 221 777",
                },
                "placement": {
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "hours_target": 35 * ((end - start).days // 7),
                    "workplace_address": "Werk 2, Industriestraße 9, 50667 Köln",
                    "role_description": bounded_text(rng.choice(ROLES)),
                    "learning_objectives": bounded_text(
                        "Read circuit diagrams.\nAssemble and test control units.\n"
                        "Document measurements and report deviations."
                    ),
                },
                "terms": terms,
                "signatories": [
                    {"party": "provider", "party_label": "Education provider", "name": ""},
                    {"party": "employer", "party_label": "Employer", "name": "Dana Decider"},
                    {"party": "learner", "party_label": "Learner", "name": bounded(learner)},
                ],
            }
        )
        for signatory in samples[-1]["signatories"]:
            signatory.setdefault("role_title", "")
    return samples


def plain_page(values: dict[str, Any]) -> str:
    """The same document as a plain HTML page: its HTML, the print CSS inlined."""
    from crm.agreements.document import TEMPLATES
    from crm.agreements.models import AgreementKind
    from crm.core.pdf import ASSETS_DIR, STYLESHEET, render_html

    html = render_html(
        TEMPLATES[AgreementKind(values["kind"])],
        {"v": values, "title": values["title"], "author": "Demo Vocational College"},
        language=values["language"],
    )
    css = (ASSETS_DIR / STYLESHEET).read_text(encoding="utf-8")
    return html.replace("</head>", f"<style>{css}</style>\n</head>", 1)


def make_app() -> Any:
    from crm import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "DEBUG": False, "TESTING": False})


# --- 1. latency ---------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _summary(wall: list[float], cpu: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(wall), 2),
        "p95_ms": round(_percentile(wall, 0.95), 2),
        "mean_ms": round(statistics.fmean(wall), 2),
        "min_ms": round(min(wall), 2),
        "max_ms": round(max(wall), 2),
        "cpu_median_ms": round(statistics.median(cpu), 2),
        "cpu_p95_ms": round(_percentile(cpu, 0.95), 2),
    }


def measure_latency(iterations: int, warmup: int) -> dict[str, Any]:
    """Agreement against plain page, alternating, in this process."""
    import weasyprint

    from crm.agreements.document import render_values

    app = make_app()
    samples = placement_samples(12)
    with app.app_context():
        plain = [plain_page(values) for values in samples]
        pages = [render_values(values).pages for values in samples]
        plain_pages = [len(weasyprint.HTML(string=page).render().pages) for page in plain]
        for n in range(warmup):
            render_values(samples[n % len(samples)])
            weasyprint.HTML(string=plain[n % len(plain)]).write_pdf()
        times: dict[str, tuple[list[float], list[float]]] = {
            "agreement": ([], []),
            "plain": ([], []),
        }

        def timed(name: str, render: Any) -> None:
            wall, cpu = time.perf_counter(), time.process_time()
            render()
            times[name][0].append((time.perf_counter() - wall) * 1000)
            times[name][1].append((time.process_time() - cpu) * 1000)

        for n in range(iterations):
            values, page = samples[n % len(samples)], plain[n % len(plain)]
            steps = [
                ("agreement", lambda values=values: render_values(values)),
                ("plain", lambda page=page: weasyprint.HTML(string=page).write_pdf()),
            ]
            for name, render in steps if n % 2 == 0 else reversed(steps):
                timed(name, render)
    agreement, plain_summary = _summary(*times["agreement"]), _summary(*times["plain"])
    return {
        "iterations": iterations,
        "pages": sorted(set(pages)),
        "plain_pages": sorted(set(plain_pages)),
        "agreement": agreement,
        "plain": plain_summary,
        "ratio_median": round(agreement["median_ms"] / plain_summary["median_ms"], 3),
        "ratio_p95": round(agreement["p95_ms"] / plain_summary["p95_ms"], 3),
        "ratio_cpu_median": round(agreement["cpu_median_ms"] / plain_summary["cpu_median_ms"], 3),
    }


# --- 2. throughput ------------------------------------------------------------------------------


def _worker(commands: Any, results: Any, seed: int) -> None:
    """Wait for commands (kind, seconds, start time); from the start time, for `seconds`,
    render agreements ("render") or spin a bare CPU loop ("cpu", the machine's reference);
    report (count, elapsed, cpu). None ends the worker."""
    from crm.agreements.document import render_values

    app = make_app()
    app.app_context().push()
    samples = placement_samples(8, seed)
    for values in samples[:3]:  # warm up: templates, fonts, stylesheet
        render_values(values)

    def spin() -> None:
        total = 0
        for i in range(200_000):
            total += i * i

    results.put(("ready", os.getpid()))
    while (command := commands.get()) is not None:
        kind, seconds, start_at = command
        time.sleep(max(0.0, start_at - time.time()))
        started, cpu = time.perf_counter(), time.process_time()
        count = 0
        while time.perf_counter() - started < seconds:
            if kind == "render":
                render_values(samples[count % len(samples)])
            else:
                spin()
            count += 1
        results.put((count, time.perf_counter() - started, time.process_time() - cpu))


class Workers:
    """Two warmed-up rendering processes (separate interpreters), told when to work."""

    def __init__(self) -> None:
        context = mp.get_context("spawn")
        self.results = context.Queue()
        self.commands = [context.Queue(), context.Queue()]
        self.processes = [
            context.Process(target=_worker, args=(commands, self.results, n))
            for n, commands in enumerate(self.commands)
        ]
        for process in self.processes:
            process.start()
        for _ in self.processes:
            self.results.get(timeout=300)

    def run(self, kind: str, processes: int, seconds: float) -> tuple[int, float, float]:
        """(count, elapsed, cpu seconds) of `processes` workers starting together."""
        start_at = time.time() + 0.3
        for commands in self.commands[:processes]:
            commands.put((kind, seconds, start_at))
        outcomes = [self.results.get(timeout=seconds + 300) for _ in range(processes)]
        return (
            sum(o[0] for o in outcomes),
            max(o[1] for o in outcomes),
            sum(o[2] for o in outcomes),
        )

    def close(self) -> None:
        for commands in self.commands:
            commands.put(None)
        for process in self.processes:
            process.join(60)
            if process.is_alive():
                process.terminate()


def measure_rates(seconds: float, rounds: int) -> dict[str, Any]:
    """Agreements per second with one and two processes, and a bare CPU loop's rate with
    one and two, in interleaved rounds (so that a change in machine load affects all)."""
    totals: dict[tuple[str, int], list[float]] = {
        (kind, n): [0, 0.0, 0.0] for kind in ("render", "cpu") for n in (1, 2)
    }
    workers = Workers()
    try:
        for _ in range(rounds):
            for kind, share in (("render", 1.0), ("cpu", 0.4)):
                for processes in (1, 2):
                    outcome = workers.run(kind, processes, seconds * share / rounds)
                    for n, value in enumerate(outcome):
                        totals[(kind, processes)][n] += value
    finally:
        workers.close()

    def rate(kind: str, processes: int) -> dict[str, Any]:
        count, elapsed, cpu = totals[(kind, processes)]
        return {
            "processes": processes,
            "seconds": round(elapsed, 2),
            "count": int(count),
            "per_second": round(count / elapsed, 2),
            "cpu_seconds": round(cpu, 2),
        }

    one, two = rate("render", 1), rate("render", 2)
    loop_one, loop_two = rate("cpu", 1), rate("cpu", 2)
    return {
        "rounds": rounds,
        "one_process": one,
        "two_processes": two,
        "speedup": round(two["per_second"] / one["per_second"], 3),
        "cpu_loop": {
            "one_process": loop_one,
            "two_processes": loop_two,
            "speedup": round(loop_two["per_second"] / loop_one["per_second"], 3),
        },
    }


# --- the result ---------------------------------------------------------------------------------


def check(name: str, value: Any, target: str, passed: bool) -> dict[str, Any]:
    return {"check": name, "value": value, "target": target, "passed": bool(passed)}


def run(*, quick: bool = False, iterations: int | None = None) -> dict[str, Any]:
    """The whole benchmark; the result in the bench's JSON shape."""
    import weasyprint

    iterations = iterations or (20 if quick else 100)
    seconds = 6.0 if quick else 24.0
    load_before = round(os.getloadavg()[0], 2)
    print(f"    latency: {iterations} agreements and plain pages, alternating", flush=True)
    latency = measure_latency(iterations, warmup=3 if quick else 8)
    print(
        f"    agreement median {latency['agreement']['median_ms']:.1f} ms, plain page "
        f"{latency['plain']['median_ms']:.1f} ms (x{latency['ratio_median']:.2f})",
        flush=True,
    )
    rounds = 2 if quick else 4
    print(f"    rate: one and two processes, {rounds} interleaved rounds", flush=True)
    rates = measure_rates(seconds, rounds)
    one, two, speedup = rates["one_process"], rates["two_processes"], rates["speedup"]
    machine_speedup = rates["cpu_loop"]["speedup"]
    print(
        f"    {one['per_second']:.2f} / s with one process, {two['per_second']:.2f} / s with "
        f"two (x{speedup:.2f}); a bare CPU loop: x{machine_speedup:.2f}",
        flush=True,
    )
    agreement, plain = latency["agreement"], latency["plain"]
    # Short names and values: they share the summary table's columns with the other suites.
    checks = [
        check(
            "render / plain page median",
            f"{agreement['median_ms']:.0f} / {plain['median_ms']:.0f} ms"
            f" = {latency['ratio_median']:.2f}",
            f"<= {TARGET_RATIO:g}",
            latency["ratio_median"] <= TARGET_RATIO,
        ),
        check(
            "render / plain page p95",
            f"{agreement['p95_ms']:.0f} / {plain['p95_ms']:.0f} ms = {latency['ratio_p95']:.2f}",
            f"<= {TARGET_RATIO:g}",
            latency["ratio_p95"] <= TARGET_RATIO,
        ),
        check(
            "2 processes / 1, per second",
            f"{two['per_second']:.2f} / {one['per_second']:.2f} = {speedup:.2f}",
            f">= {TARGET_SPEEDUP:g}",
            speedup >= TARGET_SPEEDUP,
        ),
        check(
            "the same against a CPU loop's",
            f"{speedup:.2f} / {machine_speedup:.2f} = {speedup / machine_speedup:.2f}",
            ">= 0.9",
            speedup >= 0.9 * machine_speedup,
        ),
    ]
    return {
        "name": "agreements",
        "issue": ISSUE,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "database": "none",
        "database_version": "",
        "scale": {},
        "command": " ".join(["python -m bench", *sys.argv[1:]]),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "weasyprint": weasyprint.__version__,
            "load_average": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
        },
        "settings": {"iterations": iterations, "rate_seconds": seconds, "quick": quick},
        "measurements": {
            "render": latency,
            "rate": {key: value for key, value in rates.items() if key != "cpu_loop"},
            "cpu_loop": rates["cpu_loop"],
        },
        "targets": {
            "ratio_median": TARGET_RATIO,
            "ratio_p95": TARGET_RATIO,
            "speedup": TARGET_SPEEDUP,
        },
        "checks": checks,
        "passed": all(c["passed"] for c in checks),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.agreements", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few iterations; not kept")
    parser.add_argument("--iterations", type=int, help="measured renders of each kind")
    args = parser.parse_args(argv)
    result = run(quick=args.quick, iterations=args.iterations)
    folder = BENCH_DIR / ("data/quick-results" if args.quick else "results")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "agreements.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for item in result["checks"]:
        print(f"  {'pass' if item['passed'] else 'FAIL'}  {item['check']}: {item['value']}")
    print(f"Written to {path.relative_to(BENCH_DIR.parent)}.")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
