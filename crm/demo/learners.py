"""The demo's programmes, learners and placements, planned around the demo's partnerships.

Six programmes (one per sector whose employers host learners) run in the current and the
previous programme year (and the next one from late spring, when its learners enrol). The
placements tell the stories of `DEMO_STORIES`: last year's evaluated placements, this year's
in progress, and the ones being arranged in every stage of the placement workflow. Each is
planned on the placement workflow (`crm.demo.placements`) and then given a host: an employer
of the learner's sector whose demo partnership was active when the placement was matched,
with a workplace supervisor who has an e-mail address (added where the employer had none).
Dates lie inside the learner's programme year and a learner's placements never overlap.
The links e-mailed along the way and the evaluations that came back are planned last
(`crm.demo.answers`). Learners with support needs are placed learners of two programmes:
`SUPPORT_NEEDS_MANY` in the programme with the most placed learners, `SUPPORT_NEEDS_FEW` in
the next, so the dashboard shows the first and hides the second below its minimum group size.

The plan is a pure function of the day of loading: the same day gives the same learners.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crm.contacts.models import ConsentBasis, ContactRole
from crm.demo.answers import PlacementAnswers, plan_answers
from crm.demo.countries import COUNTRIES, feminine_surname
from crm.demo.employers import ContactPlan, EmployerMaker, ascii_slug
from crm.demo.placements import NOT_STARTED, PlacementHistory, PlacementPlanner, office_time
from crm.demo.programmes import (
    DEMO_PROGRAMME_CODES,
    PROGRAMMES_BY_CODE,
    ProgrammePlan,
    ProgrammeYear,
    programme_year,
    year_started_by,
)
from crm.demo.sectors import SECTORS
from crm.demo.stories import SUPPORT_NEEDS
from crm.learners.service import is_minor
from crm.organisations import nace
from crm.organisations.models import CapacityPeriod
from crm.workflow.definitions import WorkflowDef

if TYPE_CHECKING:
    from crm.demo.demo import DemoEmployer

PLACEMENT_SEED = 3141
DEMO_LEARNERS = 80
LEARNER_DOMAIN = "learners.demo.test"
GUARDIAN_DOMAIN = "mail.demo.test"
LEARNER_COUNTRIES = ("PT", "GR", "DE", "NL", "FR", "ES", "IT", "AT", "IE", "PL")
LEARNER_OFFICERS = ("officer@demo.test", "officer2@demo.test")
OFFICER_WEIGHTS = (55, 45)
LEARNER_CONSENT = (
    ConsentBasis.CONTRACT,
    ConsentBasis.LEGAL_OBLIGATION,
    ConsentBasis.CONSENT,
    ConsentBasis.LEGITIMATE_INTEREST,
)
CONSENT_WEIGHTS = (55, 25, 15, 5)
WEEKS = (3, 4, 4, 6, 6, 8)
REUSE_SHARE = 0.35  # a story's learner is one who already has a placement that year
MAX_PER_LEARNER = 2
SUPPORT_NEEDS_SEED = 2236
SUPPORT_NEEDS_MANY, SUPPORT_NEEDS_FEW = 6, 2
NEXT_YEAR_WITHIN_DAYS = 120  # the next programme year's learners enrol this close to its start
ATTEMPTS = 40
WIDENINGS = 6


@dataclass(frozen=True)
class DemoStory:
    """`count` placements now in `target`, reached by `path` (see crm.demo.placements)."""

    target: str
    count: int
    path: int = 0
    rematch: bool = False
    overdue: bool | None = False
    minor: bool | None = None
    consent_early: bool | None = None


DEMO_STORIES: tuple[DemoStory, ...] = (
    DemoStory("evaluated", 13),
    DemoStory("evaluated", 3, rematch=True),
    DemoStory("completed", 4),
    DemoStory("completed", 1, overdue=True),
    DemoStory("in_progress", 7),
    DemoStory("ready", 4),
    DemoStory("agreement_out", 4),
    DemoStory("confirmed", 3),
    DemoStory("confirmed", 1, minor=True, consent_early=False),
    DemoStory("awaiting_employer", 4),
    DemoStory("awaiting_employer", 1, overdue=True),
    DemoStory("matched", 4),
    DemoStory("matched", 1, path=1),  # the employer proposed other dates
    DemoStory("declined", 3),
    DemoStory("requested", 5),
    DemoStory("requested", 1, overdue=True),
    DemoStory("requested", 2, rematch=True),
    DemoStory("postponed", 1, path=0),
    DemoStory("postponed", 1, path=1),
    DemoStory("postponed", 1, path=2),
    DemoStory("cancelled", 1, path=0),
    DemoStory("cancelled", 1, path=1),
    DemoStory("cancelled", 1, path=2),
    DemoStory("cancelled", 1, path=3),
)
# Start dates of stories that have not begun, in days from today.
FUTURE_STARTS: dict[str, tuple[int, int]] = {
    "ready": (4, 30),
    "agreement_out": (7, 35),
    "confirmed": (10, 50),
    "awaiting_employer": (14, 70),
    "matched": (20, 100),
    "declined": (20, 90),
    "requested": (25, 150),
    "postponed": (20, 120),
    "cancelled": (10, 120),
}


@dataclass
class DemoLearner:
    """A learner to create."""

    first_name: str
    last_name: str
    email: str
    programme: str  # code
    year: ProgrammeYear
    birth_date: dt.date
    consent_basis: ConsentBasis
    officer: str  # e-mail of the officer
    guardian_name: str = ""
    guardian_email: str = ""
    support_needs: str = ""
    created_at: dt.datetime | None = None
    periods: list[tuple[dt.date, dt.date]] = field(default_factory=list)

    def is_minor_on(self, day: dt.date) -> bool:
        """Whether the learner is under 18 on `day`."""
        return is_minor(self.birth_date, day)

    def is_free(self, start: dt.date, end: dt.date) -> bool:
        """Whether the learner may take another placement in those dates."""
        return len(self.periods) < MAX_PER_LEARNER and all(
            end < s or e < start for s, e in self.periods
        )


@dataclass(frozen=True)
class DemoPlacement:
    """A placement to create: learner, host (employer index) and its planned history."""

    learner: int
    programme: str
    start: dt.date
    end: dt.date
    host: int | None
    first_host: int | None
    history: PlacementHistory


@dataclass
class DemoLearnerPlan:
    """Programmes, years, learners and placements of the demo, and supervisors to add."""

    programmes: tuple[ProgrammePlan, ...]
    years: list[ProgrammeYear]
    learners: list[DemoLearner]
    placements: list[DemoPlacement]
    supervisors: dict[int, int | ContactPlan]  # host: index of a contact, or one to add
    answers: list[PlacementAnswers]  # each placement's links and evaluations


@dataclass
class _Host:
    """A demo employer with a partnership: its sector, pledge and partnership states."""

    index: int
    section: str
    pledge_per_year: int
    changes: list[tuple[dt.datetime, str]]
    used: dict[str, int] = field(default_factory=dict)

    def state_at(self, moment: dt.datetime) -> str | None:
        """The partnership's state at `moment` (None: it had not started)."""
        times = [t for t, _ in self.changes]
        position = bisect.bisect_right(times, moment)
        return self.changes[position - 1][1] if position else None


def demo_years(today: dt.date) -> list[ProgrammeYear]:
    """The previous and the current programme year, and the next once its learners enrol."""
    current = year_started_by(today)
    years = [programme_year(current - 1), programme_year(current)]
    if (years[-1].ends_on - today).days < NEXT_YEAR_WITHIN_DAYS:
        years.append(programme_year(current + 1))
    return years


def _hosts(
    employers: list[DemoEmployer], partnership_workflow: WorkflowDef, today: dt.date
) -> list[_Host]:
    """The employers whose partnership is, or was, active: who may host when."""
    hosts = []
    for index, employer in enumerate(employers):
        journey = employer.journey
        division = nace.division(employer.plan.nace_code)
        if journey is None or division is None:
            continue
        changes = [(journey.started_at(today), partnership_workflow.initial)]
        for step in journey.steps:
            to = partnership_workflow.transition(step.transition).to
            changes.append((step.occurred_at(today), to))
        if not any(state == "active" for _, state in changes):
            continue
        pledge = employer.plan.capacity_pledge
        per_year = pledge * 3 if employer.plan.capacity_period is CapacityPeriod.TERM else pledge
        hosts.append(_Host(index, division.section, max(per_year, 1), changes))
    return hosts


class _DemoPlanner:
    """Plans the demo's stories one placement at a time, creating learners as needed."""

    def __init__(
        self,
        today: dt.date,
        employers: list[DemoEmployer],
        partnership_workflow: WorkflowDef,
        placement_workflow: WorkflowDef,
        link_days: int,
    ):
        self.today = today
        self.link_days = link_days
        self.now = dt.datetime.combine(today, dt.time(), dt.UTC)
        self.rng = random.Random(PLACEMENT_SEED)
        self.employers = employers
        self.planner = PlacementPlanner(placement_workflow, self.rng, self.now)
        self.years = demo_years(today)
        self.programmes = tuple(PROGRAMMES_BY_CODE[code] for code in DEMO_PROGRAMME_CODES)
        self.hosts = _hosts(employers, partnership_workflow, today)
        self.learners: list[DemoLearner] = []
        self.emails: set[str] = set()
        self.placements: list[DemoPlacement] = []

    # --- learners ---------------------------------------------------------------------------

    def new_learner(
        self, programme: str, year: ProgrammeYear, minor_on: dt.date | None = None
    ) -> DemoLearner:
        """A learner of the programme year (a minor on `minor_on`, if given)."""
        rng = self.rng
        country = COUNTRIES[rng.choice(LEARNER_COUNTRIES)]
        is_woman = rng.random() < 0.5
        first = rng.choice(country.women if is_woman else country.men)
        surname = rng.choice(country.surnames)
        last = feminine_surname(country.code, surname) if is_woman else surname
        base = f"{ascii_slug(first, country.code, '')}.{ascii_slug(last, country.code, '')}"
        email, number = f"{base}@{LEARNER_DOMAIN}", 2
        while email in self.emails:
            email, number = f"{base}{number}@{LEARNER_DOMAIN}", number + 1
        self.emails.add(email)
        if minor_on is not None:  # turns 18 well after the day
            birth = minor_on - dt.timedelta(days=rng.randint(int(15.8 * 365), int(17.3 * 365)))
        else:
            birth = year.starts_on - dt.timedelta(days=rng.randint(int(15.6 * 365), 20 * 365))
        learner = DemoLearner(
            first_name=first,
            last_name=last,
            email=email,
            programme=programme,
            year=year,
            birth_date=birth,
            consent_basis=rng.choices(LEARNER_CONSENT, weights=CONSENT_WEIGHTS)[0],
            officer=rng.choices(LEARNER_OFFICERS, weights=OFFICER_WEIGHTS)[0],
        )
        if learner.is_minor_on(year.starts_on):
            parent = rng.choice(country.women + country.men)
            is_mother = parent in country.women
            family = feminine_surname(country.code, surname) if is_mother else surname
            learner.guardian_name = f"{parent} {family}"
            learner.guardian_email = (
                f"{ascii_slug(parent, country.code, '')}.{ascii_slug(surname, country.code, '')}"
                f"@{GUARDIAN_DOMAIN}"
            )
        enrolled = year.starts_on - dt.timedelta(days=rng.randint(20, 90))
        enrolled_at = office_time(enrolled, rng.randint(8 * 60, 15 * 60))
        learner.created_at = min(enrolled_at, self.now - dt.timedelta(days=1))
        return learner

    def learner_for(
        self, programme: str, year: ProgrammeYear, start: dt.date, end: dt.date, story: DemoStory
    ) -> tuple[DemoLearner, bool]:
        """A learner free in those dates: one already placed that year, or a new one."""
        candidates = [
            learner
            for learner in self.learners
            if learner.programme == programme
            and learner.year == year
            and learner.is_free(start, end)
            and (story.minor is None or learner.is_minor_on(start) == story.minor)
        ]
        if candidates and self.rng.random() < REUSE_SHARE:
            return self.rng.choice(candidates), False
        return self.new_learner(programme, year, start if story.minor else None), True

    # --- dates ------------------------------------------------------------------------------

    def slot(self, story: DemoStory) -> tuple[dt.date, dt.date, ProgrammeYear] | None:
        """Dates for the story inside one programme year, starting on a Monday."""
        rng = self.rng
        length = rng.choice(WEEKS) * 7 - 3
        target = story.target
        if target == "evaluated":
            low, high = -300 - length, -35 - length
        elif target == "completed":
            low, high = (-50, -28) if story.overdue else (-14, -2)
            low, high = low - length, high - length
        elif target == "in_progress":
            length = max(length, 25)
            low, high = -(length - 7), -2
        elif target == "cancelled" and story.path == 3:
            low, high = -200, -30
        else:
            low, high = FUTURE_STARTS[target]
        ranges = []
        past = target in ("evaluated", "completed", "in_progress") or low < 0
        for _ in range(WIDENINGS):  # near the end of a year: further back, or further ahead
            for year in self.years:
                first = max(self.today + dt.timedelta(days=low), year.starts_on)
                last = min(
                    self.today + dt.timedelta(days=high), year.ends_on - dt.timedelta(days=length)
                )
                if first <= last:
                    ranges.append((first, last, year))
            if ranges:
                break
            low, high = (low - 30, high) if past else (low, high + 30)
        if not ranges:
            return None
        first, last, year = rng.choices(ranges, weights=[(b - a).days + 1 for a, b, _ in ranges])[0]
        start = first + dt.timedelta(days=rng.randint(0, (last - first).days))
        monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
        if monday <= last:
            start = monday
        return start, start + dt.timedelta(days=length), year

    # --- hosts ------------------------------------------------------------------------------

    def host_for(
        self,
        section: str,
        moment: dt.datetime,
        year: ProgrammeYear,
        exclude: int | None = None,
        still_active: bool = False,
    ) -> _Host | None:
        """An employer of the sector whose partnership was active at `moment` (and still is,
        if asked), chosen by the room left in its pledge."""
        hosts = [
            h
            for h in self.hosts
            if h.section == section
            and h.index != exclude
            and h.state_at(moment) == "active"
            and (not still_active or h.state_at(self.now) == "active")
        ]
        if not hosts:
            return None
        weights = [max(0.2, h.pledge_per_year - h.used.get(year.name, 0)) for h in hosts]
        return self.rng.choices(hosts, weights=weights)[0]

    # --- stories ----------------------------------------------------------------------------

    def place(self, story: DemoStory) -> bool:
        """Plan one placement of the story; False when no attempt fits."""
        rng = self.rng
        for _ in range(ATTEMPTS):
            slot = self.slot(story)
            if slot is None:
                continue
            start, end, year = slot
            programme = rng.choice(self.programmes)
            learner, is_new = self.learner_for(programme.code, year, start, end, story)
            history = self.planner.history(
                story.target,
                start,
                end,
                programme,
                minor=learner.is_minor_on(start),
                path=story.path,
                rematch=story.rematch,
                overdue=story.overdue,
                consent_early=story.consent_early,
            )
            if history is None:
                continue
            matches = [s.occurred_at for s in history.steps if s.transition.name == "match"]
            first_host = host = None
            if history.rematched:
                first = self.host_for(programme.sector, matches[0], year)
                if first is None:
                    continue
                first_host = first.index
            if history.has_host:
                waiting = history.state in NOT_STARTED or history.state == "postponed"
                found = self.host_for(
                    programme.sector, matches[-1], year, first_host, still_active=waiting
                )
                if found is None:
                    continue
                host = found.index
                found.used[year.name] = found.used.get(year.name, 0) + 1
            if is_new:
                self.learners.append(learner)
            learner.periods.append((start, end))
            if learner.created_at is not None and learner.created_at > history.created_at:
                learner.created_at = history.created_at - dt.timedelta(days=rng.randint(1, 20))
            number = next(i for i, other in enumerate(self.learners) if other is learner)
            self.placements.append(
                DemoPlacement(
                    number,
                    programme.code,
                    start,
                    end,
                    host,
                    first_host,
                    history,
                )
            )
            return True
        return False

    def plan(self) -> DemoLearnerPlan:
        """Every story, then learners without a placement request up to DEMO_LEARNERS."""
        for story in DEMO_STORIES:
            for _ in range(story.count):
                self.place(story)
        current = next(y for y in self.years if y.ends_on >= self.today)
        while len(self.learners) < DEMO_LEARNERS:  # enrolled, nothing requested yet
            programme = self.rng.choice(self.programmes).code
            self.learners.append(self.new_learner(programme, current))
        self._support_needs()
        supervisors = self._supervisors()
        return DemoLearnerPlan(
            self.programmes,
            self.years,
            self.learners,
            self.placements,
            supervisors,
            self._answers(),
        )

    def _support_needs(self) -> None:
        """Support needs for learners with placements in two programmes (see the top)."""
        placed: dict[str, list[DemoLearner]] = {}
        for placement in self.placements:
            learner = self.learners[placement.learner]
            group = placed.setdefault(learner.programme, [])
            if learner not in group:
                group.append(learner)
        ranked = sorted(placed, key=lambda code: (-len(placed[code]), code))
        rng = random.Random(SUPPORT_NEEDS_SEED)
        texts = iter(SUPPORT_NEEDS * 2)
        for code, count in zip(ranked, (SUPPORT_NEEDS_MANY, SUPPORT_NEEDS_FEW), strict=False):
            for learner in rng.sample(placed[code], min(count, len(placed[code]))):
                learner.support_needs = next(texts)

    def _answers(self) -> list[PlacementAnswers]:
        """The placements' links and evaluations (crm.demo.answers)."""
        pledges = []
        for placement in self.placements:
            plan = self.employers[placement.host].plan if placement.host is not None else None
            pledges.append(
                (plan.capacity_pledge, plan.capacity_period)
                if plan is not None
                else (0, CapacityPeriod.YEAR)
            )
        return plan_answers(
            self.placements,
            [self.learners[placement.learner].first_name for placement in self.placements],
            pledges,
            self.planner.definition,
            self.now,
            self.link_days,
        )

    def _supervisors(self) -> dict[int, int | ContactPlan]:
        """Each host's workplace supervisor: a contact with an e-mail, or a new one."""
        maker = EmployerMaker(self.rng, self.today)
        supervisors: dict[int, int | ContactPlan] = {}
        hosts = sorted(
            {i for p in self.placements for i in (p.host, p.first_host) if i is not None}
        )
        for index in hosts:
            plan = self.employers[index].plan
            existing = [
                n
                for n, c in enumerate(plan.contacts)
                if c.role is ContactRole.WORKPLACE_SUPERVISOR and c.email
            ]
            if existing:
                supervisors[index] = existing[0]
                continue
            country = COUNTRIES[plan.country]
            city = next(c for c in country.cities if c.name == plan.city)
            sector = next(s for s in SECTORS if s.nace_code == plan.nace_code)
            domain = plan.website.removeprefix("https://").removeprefix("www.")
            supervisors[index] = maker.contact(
                country, sector, city, domain, ContactRole.WORKPLACE_SUPERVISOR
            )
        return supervisors


def demo_learner_plan(
    today: dt.date,
    employers: list[DemoEmployer],
    partnership_workflow: WorkflowDef,
    placement_workflow: WorkflowDef,
    link_days: int = 14,
) -> DemoLearnerPlan:
    """The demo's learners and placements for employers planned by `demo_plan(today)`, with
    the placements' links (valid `link_days` days) and evaluations."""
    planner = _DemoPlanner(today, employers, partnership_workflow, placement_workflow, link_days)
    return planner.plan()
