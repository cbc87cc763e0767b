"""Server time and SQL statements per page, measured in-process through the Flask test client.

Every request runs the whole WSGI call (session cookie, Flask-Login, CSRF, Babel, the view,
Jinja, security headers) as a logged-in officer; `time.perf_counter` brackets
`client.get(url)` and the reading of the body. A SQLAlchemy `before_cursor_execute` listener
counts the statements each request sends (transaction control not counted) and times them.
"""

from __future__ import annotations

import gc
import math
import re
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy import event

CSRF_RE = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
IGNORED_RE = re.compile(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK|BEGIN|COMMIT)", re.IGNORECASE)

GENERATED_LOGIN = ("officer01@generated.test", "generated-officer")
DEMO_LOGIN = ("officer@demo.test", "demo")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (share 0.95 gives p95)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class StatementRecorder:
    """Counts and times the statements sent while `active`."""

    active: bool = False
    statements: list[tuple[str, float]] = field(default_factory=list)
    _started: list[float] = field(default_factory=list)

    def install(self, engine: sa.Engine) -> None:
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def remove(self, engine: sa.Engine) -> None:
        event.remove(engine, "before_cursor_execute", self._before)
        event.remove(engine, "after_cursor_execute", self._after)

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._started.append(time.perf_counter())

    def _after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        started = self._started.pop() if self._started else time.perf_counter()
        if self.active and not IGNORED_RE.match(statement):
            self.statements.append((statement, (time.perf_counter() - started) * 1000))

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, float]]]:
        self.statements = []
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


class Session:
    """A production-configured app on one database, a recorder and a logged-in client."""

    def __init__(self, url: str, login: tuple[str, str]):
        from crm import create_app
        from crm.extensions import db

        self.app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "DEBUG": False,
                "TESTING": False,
                # The test client speaks plain http; the cookie must still be sent back.
                "SESSION_COOKIE_SECURE": False,
            }
        )
        self.app.debug = False
        with self.app.app_context():
            self.engine = db.engine
        self.recorder = StatementRecorder()
        self.recorder.install(self.engine)
        self.client = self.app.test_client()
        self._login(*login)

    def _login(self, email: str, password: str) -> None:
        page = self.client.get("/login").get_data(as_text=True)
        match = CSRF_RE.search(page)
        if not match:
            raise RuntimeError("no CSRF token on the login page")
        response = self.client.post(
            "/login", data={"email": email, "password": password, "csrf_token": match.group(1)}
        )
        if response.status_code != 302:
            raise RuntimeError(f"login as {email} failed with {response.status_code}")

    def close(self) -> None:
        from crm.extensions import db

        self.recorder.remove(self.engine)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    @contextmanager
    def context(self) -> Iterator[None]:
        """A request context for calling services directly."""
        with self.app.test_request_context("/"):
            yield

    def get(self, url: str) -> tuple[int, int, float, float]:
        """Status, body size, server time and this process's CPU time (ms) of one GET."""
        started = time.perf_counter()
        cpu_started = time.process_time()
        response = self.client.get(url)
        body = response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        cpu = (time.process_time() - cpu_started) * 1000
        return response.status_code, len(body), elapsed, cpu

    def measure(self, url: str, warmup: int, iterations: int) -> dict[str, Any]:
        """Median, p95 and statement count of a page over many requests after a warm-up."""
        for _ in range(warmup):
            status, *_rest = self.get(url)
            if status != 200:
                raise RuntimeError(f"GET {url} answered {status}")
        gc.collect()
        times: list[float] = []
        cpu_times: list[float] = []
        counts: set[int] = set()
        per_statement: dict[str, list[float]] = defaultdict(list)
        size = 0
        for _ in range(iterations):
            with self.recorder.recording() as statements:
                status, size, elapsed, cpu = self.get(url)
            if status != 200:
                raise RuntimeError(f"GET {url} answered {status}")
            times.append(elapsed)
            cpu_times.append(cpu)
            counts.add(len(statements))
            for index, (statement, ms) in enumerate(statements):
                per_statement[f"{index:02d} {statement}"].append(ms)
        slowest = sorted(
            ((statistics.median(ms), text) for text, ms in per_statement.items()), reverse=True
        )[:3]
        return {
            "url": url,
            "iterations": iterations,
            "median_ms": round(statistics.median(times), 2),
            "p95_ms": round(percentile(times, 0.95), 2),
            "mean_ms": round(statistics.fmean(times), 2),
            "min_ms": round(min(times), 2),
            "max_ms": round(max(times), 2),
            # CPU time of this process (app + SQLite, not the PostgreSQL server): shows how
            # much of the server time is the app's own work, whatever else the machine runs.
            "cpu_median_ms": round(statistics.median(cpu_times), 2),
            "statements": max(counts),
            "statements_vary": len(counts) > 1,
            # Sum of the statements' cursor.execute() times; SQLite computes rows lazily, so
            # there this is only the time to the first row of each statement.
            "sql_execute_median_ms": round(
                sum(statistics.median(ms) for ms in per_statement.values()), 2
            ),
            "response_bytes": size,
            "slowest_statements": [
                {"median_ms": round(ms, 2), "sql": " ".join(text[3:].split())[:400]}
                for ms, text in slowest
            ],
        }

    def statements_of(self, url: str) -> int:
        """How many statements one GET of the page sends (after one warm-up request)."""
        self.get(url)
        with self.recorder.recording() as statements:
            status, *_rest = self.get(url)
        if status != 200:
            raise RuntimeError(f"GET {url} answered {status}")
        return len(statements)


# --- choosing what to ask for ---------------------------------------------------------------


def organisation_pages(session: Session) -> dict[str, dict[str, Any]]:
    """The list and detail pages to measure on this data set, chosen from its data.

    Searches for the start of an organisation's name (matching a few organisations), for a
    contact's full name and for the least common city; filters by the most common country
    and by the most common sector; the organisation pages of a typical employer (median
    number of activities) and of the busiest one (a full timeline).
    """
    from crm.activities.models import Activity
    from crm.contacts.models import Contact
    from crm.extensions import db
    from crm.organisations import nace
    from crm.organisations import service as organisations
    from crm.organisations.models import Organisation

    def matches(query: str) -> int:
        page = organisations.list_organisations(
            organisations.OrganisationFilters(query=query), 1, 50
        )
        return page.total

    def fewest(candidates: list[str], low: int = 2, high: int = 10) -> tuple[str, int]:
        best: tuple[str, int] | None = None
        for candidate in candidates:
            total = matches(candidate)
            if low <= total <= high:
                return candidate, total
            if total >= 1 and (best is None or total < best[1]):
                best = (candidate, total)
        if best is None:
            raise RuntimeError("no search term matches anything")
        return best

    with session.context():
        active = Organisation.archived_at.is_(None)
        # Generated names and cities come from small pools: at scale a surname or a city is
        # shared by a hundred organisations or more, and even a contact's full name by some
        # fifty. The search that matches only a few rows is therefore the start of an
        # organisation's name; the contact name is the least common of 40 sampled.
        people = db.session.execute(
            sa.select(Contact.id, Contact.first_name, Contact.last_name)
            .join(Organisation, Organisation.id == Contact.organisation_id)
            .where(active, Contact.archived_at.is_(None))
            .order_by(Contact.id)
        ).all()
        step = max(1, len(people) // 40)
        person, person_total = fewest(
            [f"{p.first_name} {p.last_name}" for p in people[::step]], low=1, high=1
        )
        names = list(
            db.session.scalars(
                sa.select(Organisation.legal_name).where(active).order_by(Organisation.id)
            )
        )
        step = max(1, len(names) // 40)
        name, name_total = fewest([" ".join(n.split()[:2]) for n in names[::step]])
        cities = list(
            db.session.scalars(
                sa.select(Organisation.city)
                .where(active, Organisation.city != "")
                .group_by(Organisation.city)
                .order_by(sa.func.count(), Organisation.city)
                .limit(40)
            )
        )
        city, city_total = fewest(cities)
        country = db.session.execute(
            sa.select(Organisation.country, sa.func.count())
            .where(active)
            .group_by(Organisation.country)
            .order_by(sa.func.count().desc(), Organisation.country)
            .limit(1)
        ).one()
        by_code = db.session.execute(
            sa.select(Organisation.nace_code, sa.func.count())
            .where(active)
            .group_by(Organisation.nace_code)
        ).all()
        sections: dict[str, int] = defaultdict(int)
        for code, count in by_code:
            division = nace.division(code)
            if division is not None:
                sections[division.section] += count
        sector = max(sorted(sections), key=lambda s: sections[s])
        activity_counts = db.session.execute(
            sa.select(Activity.organisation_id, sa.func.count())
            .join(Organisation, Organisation.id == Activity.organisation_id)
            .where(active)
            .group_by(Activity.organisation_id)
            .order_by(sa.func.count(), Activity.organisation_id)
        ).all()
        typical = activity_counts[len(activity_counts) // 2]
        busiest = activity_counts[-1]
    return {
        "list_first_page": {"url": "/organisations/", "kind": "list"},
        "search_organisation_name": {
            "url": "/organisations/?" + urlencode({"q": name}),
            "kind": "list",
            "note": f"q={name!r} matches {name_total} organisations",
        },
        "search_contact_name": {
            "url": "/organisations/?" + urlencode({"q": person}),
            "kind": "list",
            "note": f"q={person!r} matches {person_total} organisations",
        },
        "search_city": {
            "url": "/organisations/?" + urlencode({"q": city}),
            "kind": "list",
            "note": f"q={city!r} matches {city_total} organisations",
        },
        "filter_country": {
            "url": f"/organisations/?country={country[0]}",
            "kind": "list",
            "note": f"country={country[0]} matches {country[1]} organisations",
        },
        "filter_sector": {
            "url": f"/organisations/?sector={sector}",
            "kind": "list",
            "note": f"sector={sector} matches {sections[sector]} organisations",
        },
        "organisation_typical": {
            "url": f"/organisations/{typical[0]}",
            "kind": "detail",
            "note": f"organisation {typical[0]} with {typical[1]} activities (the median)",
        },
        "organisation_busiest": {
            "url": f"/organisations/{busiest[0]}",
            "kind": "detail",
            "note": f"organisation {busiest[0]} with {busiest[1]} activities (the most)",
        },
    }


# --- firing transitions ----------------------------------------------------------------------


def fire_candidates(session: Session, wanted: int, scan: int = 1500) -> list[tuple[int, str]]:
    """(partnership id, transition) pairs whose owner can fire them now, with effects.

    Up to `scan` partnerships spread over the id range are asked for their available steps
    (`crm.workflow.service.options_for`, as the partnership page does). Steps other than
    `close` (research, approach, start_review, revive, ...: guards and follow-up effects)
    are taken first; `close` (which closes the open follow-ups) fills up the rest.
    """
    from crm.auth.models import User
    from crm.extensions import db
    from crm.partnerships.models import Partnership
    from crm.workflow import service as workflow

    preferred: list[tuple[int, str]] = []
    closing: list[tuple[int, str]] = []
    with session.context():
        ids = list(db.session.scalars(sa.select(Partnership.id).order_by(Partnership.id)))
        step = max(1, len(ids) // scan)
        for partnership_id in ids[::step]:
            partnership = db.session.get(Partnership, partnership_id)
            assert partnership is not None
            owner = db.session.get(User, partnership.owner_id)
            assert owner is not None
            for option in workflow.options_for(partnership, owner):
                if not option.is_available or not option.transition.effects:
                    continue
                pick = (partnership_id, option.transition.name)
                (closing if option.transition.name == "close" else preferred).append(pick)
                break
            if len(preferred) >= wanted:
                break
        db.session.rollback()
    chosen = preferred[:wanted] + closing[: max(0, wanted - len(preferred))]
    chosen.sort()
    return chosen


def measure_fire(session: Session, candidates: list[tuple[int, str]]) -> dict[str, Any]:
    """Fire each candidate's transition with its effects, rolling back after each one.

    The timer covers `crm.workflow.service.fire` only: the row lock (refresh FOR UPDATE),
    the facts the guards need, the guards, the history row, the effects and the flush.
    """
    from crm.auth.models import User
    from crm.extensions import db
    from crm.partnerships.models import Partnership
    from crm.workflow import service as workflow

    times: list[float] = []
    counts: list[int] = []
    fired: dict[str, list[float]] = defaultdict(list)
    with session.context():
        for partnership_id, transition in candidates[:5]:  # warm-up: compile the statements
            partnership = db.session.get(Partnership, partnership_id)
            owner = db.session.get(User, partnership.owner_id) if partnership else None
            workflow.fire(partnership, transition, user=owner, comment="Benchmark step.")
            db.session.rollback()
        gc.collect()
        for partnership_id, transition in candidates:
            partnership = db.session.get(Partnership, partnership_id)
            assert partnership is not None
            owner = db.session.get(User, partnership.owner_id)
            with session.recorder.recording() as statements:
                started = time.perf_counter()
                workflow.fire(partnership, transition, user=owner, comment="Benchmark step.")
                elapsed = (time.perf_counter() - started) * 1000
            db.session.rollback()
            times.append(elapsed)
            counts.append(len(statements))
            fired[transition].append(elapsed)
    return {
        "fires": len(times),
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(percentile(times, 0.95), 2),
        "mean_ms": round(statistics.fmean(times), 2),
        "max_ms": round(max(times), 2),
        "statements_median": statistics.median(counts),
        "transitions": {name: len(ms) for name, ms in sorted(fired.items())},
        "median_ms_by_transition": {
            name: round(statistics.median(ms), 2) for name, ms in sorted(fired.items())
        },
    }
