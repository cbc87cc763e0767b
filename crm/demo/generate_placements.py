"""Learners and placements for the scale data set, written with bulk inserts.

Every programme of the catalogue runs in the current and the previous `YEARS_BACK`
programme years; learners are spread over them in proportion to the employers that can host
each programme's sector. A learner's placements are cut from their programme year in
consecutive, non-overlapping periods (so the database's overlap rule accepts them all), and
each period's stage follows from its dates: last year's placements are mostly evaluated, a
few cancelled; this year's are evaluated or completed when over, in progress today, and
being arranged (requested, matched, awaiting the employer, ...) when ahead. Hosts are
generated employers with an active partnership (under review will do for placements that have
started) and a workplace supervisor with an e-mail, weighted by their capacity pledge; the
histories are planned on the placement workflow (`crm.demo.placements`). What came of each
placement (its evaluations, its agreement, its officer's own follow-ups) is planned with it
(`crm.demo.generate_outcomes`) and written in the same batch. Learners with support needs are
5 to 10 % of each programme's (`SUPPORT_NEEDS_SHARES`).
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import multiprocessing
import random
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from crm.agreements.document import Signatory
from crm.agreements.models import SignerParty
from crm.auth.models import User
from crm.contacts.models import ConsentBasis, Contact, ContactRole
from crm.demo.agreement_rows import AgreementCounts, ProviderSigner
from crm.demo.countries import COUNTRIES, feminine_surname
from crm.demo.employers import ascii_slug
from crm.demo.generate_outcomes import OutcomeContext, OutcomePlanner, PlacementOutcomes
from crm.demo.outcome_rows import insert_outcomes, outcome_context
from crm.demo.placements import (
    NOT_STARTED,
    PATHS,
    PlacementHistory,
    PlacementPlanner,
    office_time,
)
from crm.demo.programmes import (
    PROGRAMMES,
    SUPPORT_NEEDS_SHARES,
    ProgrammePlan,
    ProgrammeYear,
    programme_year,
    year_started_by,
)
from crm.demo.rows import (
    HostRow,
    OfficerRow,
    ensure_programmes,
    history_rows,
    insert_histories,
    insert_returning_ids,
    learner_row,
    placement_row,
)
from crm.demo.stories import SUPPORT_NEEDS
from crm.extensions import db
from crm.learners.models import Learner
from crm.learners.service import is_minor
from crm.organisations import nace
from crm.organisations.models import CapacityPeriod, Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.placements.service import organisation_address
from crm.workflow.definitions import WorkflowDef
from crm.workflow.service import current_pack, ensure_snapshot

YEARS_BACK = 3
LEARNERS_PER_BATCH = 5_000
PARALLEL_FROM = 20_000  # placements: fewer are planned here, a second process isn't worth it
LEARNER_DOMAIN = "learners.generated.test"
MAX_PER_LEARNER = 6
WEEKS = (3, 4, 4, 5, 6, 6, 8)
SUPPORT_NEEDS_SHARE = 0.07  # of a programme's learners, unless SUPPORT_NEEDS_SHARES says
DOCUMENTS_SOURCE = "crm generate"
REMATCH_SHARE = 0.06
HOSTING_STATES = ("active", "under_review")  # placements that started may have a host here
CONSENT_BASES = (ConsentBasis.CONTRACT, ConsentBasis.LEGAL_OBLIGATION, ConsentBasis.CONSENT)
CONSENT_WEIGHTS = tuple(itertools.accumulate((60, 25, 15)))
# Stages of placements whose period is over (days since it ended), under way, or ahead (days
# until it starts), with their weights; (stage, path) where the way in matters.
OVER_LONG_AGO = {
    ("evaluated", 0): 88,
    ("completed", 0): 3,
    ("cancelled", 3): 5,
    ("cancelled", 2): 4,
}
OVER_RECENTLY = {
    ("completed", 0): 55,
    ("evaluated", 0): 37,
    ("in_progress", 0): 4,
    ("cancelled", 3): 4,
}
UNDER_WAY = {("in_progress", 0): 93, ("cancelled", 3): 7}
SOON = {
    ("ready", 0): 45,
    ("agreement_out", 0): 20,
    ("confirmed", 0): 12,
    ("awaiting_employer", 0): 8,
    ("matched", 0): 4,
    ("postponed", 2): 4,
    ("cancelled", 2): 3,
    ("declined", 0): 4,
}
LATER = {
    ("confirmed", 0): 18,
    ("agreement_out", 0): 14,
    ("awaiting_employer", 0): 20,
    ("matched", 0): 15,
    ("ready", 0): 8,
    ("declined", 0): 7,
    ("requested", 0): 8,
    ("postponed", 1): 5,
    ("cancelled", 1): 5,
}
FAR_AHEAD = {
    ("requested", 0): 46,
    ("matched", 0): 20,
    ("awaiting_employer", 0): 14,
    ("confirmed", 0): 6,
    ("declined", 0): 5,
    ("postponed", 0): 5,
    ("cancelled", 0): 4,
}


@dataclass
class PlacementReport:
    """What the learner part of a run added."""

    programmes: int = 0
    learners: int = 0
    placements: int = 0
    transitions: int = 0
    follow_ups: int = 0
    seconds: float = 0.0
    support_needs: int = 0
    evaluations: int = 0  # employers' evaluations
    ratings: int = 0
    feedback: int = 0  # learners' feedback
    agreements: AgreementCounts = field(default_factory=AgreementCounts)
    own_follow_ups: int = 0  # made by officers (included in follow_ups)
    outcome_seconds: float = 0.0  # writing evaluations, agreements and own follow-ups


@dataclass(frozen=True)
class _Host:
    row: HostRow
    section: str
    state: str
    weight: float


class _Hosts:
    """Employers that can host, by sector and by whether they may be matched today; their
    capacity pledges, and their supervisors as signatories (with their language)."""

    def __init__(
        self,
        hosts: list[_Host],
        rng: random.Random,
        pledges: dict[int, tuple[int, CapacityPeriod]] | None = None,
        supervisors: dict[int, tuple[Signatory, str]] | None = None,
    ):
        self.rng = rng
        self.pledges = pledges or {}
        self.supervisors = supervisors or {}
        self.pools: dict[tuple[str, bool], tuple[list[_Host], list[float]]] = {}
        sections = {h.section for h in hosts} | {"*"}
        for section, matchable in itertools.product(sections, (True, False)):
            pool = [
                h
                for h in hosts
                if (section == "*" or h.section == section)
                and (h.state == "active" or not matchable)
            ]
            if pool:
                self.pools[(section, matchable)] = (
                    pool,
                    list(itertools.accumulate(h.weight for h in pool)),
                )

    def count(self, section: str) -> int:
        """How many employers of the sector may host placements that have started."""
        return len(self.pools.get((section, False), ([], []))[0])

    def pick(
        self, section: str, matchable: bool, other_than: HostRow | None = None
    ) -> HostRow | None:
        """A host of the sector (any sector when it has none), weighted by its pledge."""
        pool = self.pools.get((section, matchable)) or self.pools.get(("*", matchable))
        if pool is None:
            return None
        hosts, cumulative = pool
        for _ in range(3):
            index = bisect.bisect_right(cumulative, self.rng.random() * cumulative[-1])
            host = hosts[min(index, len(hosts) - 1)].row
            if host != other_than:
                return host
        return None


def load_hosts(organisation_ids: Collection[int], rng: random.Random) -> _Hosts:
    """Generated employers with a hosting partnership and a supervisor with an e-mail."""
    if not organisation_ids:
        return _Hosts([], rng)
    rows = db.session.execute(
        sa.select(
            Organisation.id,
            Organisation.nace_code,
            Organisation.capacity_pledge,
            Organisation.capacity_period,
            Organisation.address,
            Organisation.city,
            Partnership.id,
            Partnership.state,
            Contact.id,
            Contact.first_name,
            Contact.last_name,
            Contact.email,
            Contact.job_title,
            Contact.preferred_language,
        )
        .join(Partnership, Partnership.organisation_id == Organisation.id)
        .join(Contact, Contact.organisation_id == Organisation.id)
        .where(
            Organisation.id.between(min(organisation_ids), max(organisation_ids)),
            Organisation.archived_at.is_(None),
            Partnership.state.in_(HOSTING_STATES),
            Contact.role == ContactRole.WORKPLACE_SUPERVISOR,
            Contact.email != "",
            Contact.archived_at.is_(None),
        )
        .order_by(Organisation.id, Contact.id)
    ).all()
    hosts, seen = [], set()
    pledges: dict[int, tuple[int, CapacityPeriod]] = {}
    supervisors: dict[int, tuple[Signatory, str]] = {}
    for row in rows:
        organisation_id = row[0]
        division = nace.division(row.nace_code)
        if organisation_id in seen or organisation_id not in organisation_ids or division is None:
            continue
        seen.add(organisation_id)
        pledge = row.capacity_pledge * (3 if row.capacity_period is CapacityPeriod.TERM else 1)
        address = organisation_address(Organisation(address=row.address, city=row.city))
        name = f"{row.first_name} {row.last_name}"
        host_row = HostRow(organisation_id, row[6], row[8], name, address)
        hosts.append(_Host(host_row, division.section, row.state, 1.0 + pledge))
        pledges[organisation_id] = (row.capacity_pledge, row.capacity_period)
        supervisors[row[8]] = (
            Signatory(SignerParty.EMPLOYER, name, row.email, row.job_title, contact_id=row[8]),
            row.preferred_language,
        )
    return _Hosts(hosts, rng, pledges, supervisors)


def _spread(total: int, buckets: int, rng: random.Random) -> list[int]:
    """`total` placements over `buckets` learners: one or more each, at most MAX_PER_LEARNER."""
    if buckets <= 0:
        return []
    base, extra = divmod(total, buckets)
    counts = [base] * buckets
    for index in rng.sample(range(buckets), extra):
        counts[index] += 1
    # Some learners do more placements than others: move some from one to another.
    for _ in range(buckets // 3):
        giver, taker = rng.randrange(buckets), rng.randrange(buckets)
        if counts[giver] > 1 and counts[taker] < MAX_PER_LEARNER:
            counts[giver] -= 1
            counts[taker] += 1
    return counts


def _periods(year: ProgrammeYear, count: int, rng: random.Random) -> list[tuple[dt.date, dt.date]]:
    """`count` non-overlapping periods inside the year, each in its own slice of it."""
    days = (year.ends_on - year.starts_on).days + 1
    size = days // max(count, 1)
    periods = []
    for index in range(count):
        first = year.starts_on + dt.timedelta(days=index * size)
        length = min(rng.choice(WEEKS) * 7 - 3, size - 2)
        start = first + dt.timedelta(days=rng.randint(0, size - length - 1))
        monday = start + dt.timedelta(days=(7 - start.weekday()) % 7)
        if monday + dt.timedelta(days=length) < first + dt.timedelta(days=size):
            start = monday
        periods.append((start, start + dt.timedelta(days=length)))
    return periods


class _Learners:
    """Names and details of generated learners, from the demo's country pools."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.countries = [COUNTRIES[code] for code in sorted(COUNTRIES)]
        self.slugs: dict[tuple[str, str], str] = {}
        self.number = 0

    def _slug(self, text: str, country: str) -> str:
        key = (text, country)
        if key not in self.slugs:
            self.slugs[key] = ascii_slug(text, country, "")
        return self.slugs[key]

    def draw(
        self, year: ProgrammeYear, support_share: float = SUPPORT_NEEDS_SHARE
    ) -> dict[str, Any]:
        """A learner's names, e-mail address and details, for a learner of `year` (with
        support needs at the given rate)."""
        rng = self.rng
        country = rng.choice(self.countries)
        is_woman = rng.random() < 0.5
        first = rng.choice(country.women if is_woman else country.men)
        surname = rng.choice(country.surnames)
        last = feminine_surname(country.code, surname) if is_woman else surname
        self.number += 1
        email = (
            f"{self._slug(first, country.code)}.{self._slug(last, country.code)}{self.number}"
            f"@{LEARNER_DOMAIN}"
        )
        birth = year.starts_on - dt.timedelta(days=rng.randint(int(15.6 * 365), 21 * 365))
        fields: dict[str, Any] = {
            "first_name": first,
            "last_name": last,
            "email": email,
            "birth_date": birth,
            "consent_basis": rng.choices(CONSENT_BASES, cum_weights=CONSENT_WEIGHTS)[0],
            "support_needs": rng.choice(SUPPORT_NEEDS) if rng.random() < support_share else "",
        }
        if is_minor(birth, year.starts_on):
            parent = rng.choice(country.women + country.men)
            fields["guardian_name"] = f"{parent} {last}"
            fields["guardian_email"] = (
                f"{self._slug(parent, country.code)}.{self._slug(surname, country.code)}"
                f"{self.number}@mail.{LEARNER_DOMAIN}"
            )
        return fields


def _table(weights: dict[tuple[str, int], int]) -> tuple[list[tuple[str, int]], list[float]]:
    return list(weights), list(itertools.accumulate(weights.values()))


TABLES = {
    "over_long_ago": _table(OVER_LONG_AGO),
    "over_recently": _table(OVER_RECENTLY),
    "under_way": _table(UNDER_WAY),
    "soon": _table(SOON),
    "later": _table(LATER),
    "far_ahead": _table(FAR_AHEAD),
}


def _stage(start: dt.date, end: dt.date, today: dt.date, rng: random.Random) -> tuple[str, int]:
    """Where a placement with these dates stands today, drawn from the tables above."""
    if end < today - dt.timedelta(days=24):
        table = "over_long_ago"
    elif end < today:
        table = "over_recently"
    elif start <= today:
        table = "under_way"
    elif start <= today + dt.timedelta(days=21):
        table = "soon"
    elif start <= today + dt.timedelta(days=75):
        table = "later"
    else:
        table = "far_ahead"
    keys, cumulative = TABLES[table]
    return rng.choices(keys, cum_weights=cumulative)[0]


@dataclass(frozen=True)
class _Placement:
    start: dt.date
    end: dt.date
    history: PlacementHistory
    host: HostRow | None
    first_host: HostRow | None


class _PlacementMaker:
    """One placement per period: its stage, its history and its host."""

    def __init__(self, planner: PlacementPlanner, hosts: _Hosts, rng: random.Random):
        self.planner = planner
        self.hosts = hosts
        self.rng = rng
        self.now = planner.now
        self.today = planner.now.date()

    def _fallbacks(self, start: dt.date) -> list[tuple[str, int]]:
        if start > self.today:
            return [("requested", 0), ("cancelled", 0)]
        return [("evaluated", 0), ("completed", 0), ("in_progress", 0), ("cancelled", 0)]

    def make(
        self, start: dt.date, end: dt.date, programme: ProgrammePlan, minor: bool
    ) -> _Placement:
        """A placement in those dates: its stage drawn from the tables, else the first of
        the fallbacks whose story fits (a cancelled request always does)."""
        rng = self.rng
        wanted = _stage(start, end, self.today, rng)
        for target, path in [wanted, *self._fallbacks(start)]:
            anchor = None
            if target == "cancelled" and path != 3 and start <= self.today:
                anchor = office_time(
                    start - dt.timedelta(days=rng.randint(3, 40)), rng.randint(8 * 60, 15 * 60)
                )
            names = self.planner.walk(PATHS[target][path])
            rematch = bool(names) and names[0][0].name == "match" and rng.random() < REMATCH_SHARE
            history = self.planner.history(
                target,
                start,
                end,
                programme,
                minor=minor,
                path=path,
                rematch=rematch,
                anchor=anchor,
            )
            if history is None:
                continue
            matchable = history.state in NOT_STARTED or history.state == "postponed"
            host = first = None
            if history.has_host:
                host = self.hosts.pick(programme.sector, matchable)
                if host is None:
                    continue
            if history.rematched:
                first = self.hosts.pick(programme.sector, False, other_than=host)
                if first is None:
                    continue
            return _Placement(start, end, history, host, first)
        raise RuntimeError(f"no placement story fits {start} to {end}")


@dataclass
class _Batch:
    """Rows of a batch of learners, linked by position until the ids are known."""

    learners: list[dict[str, Any]] = field(default_factory=list)
    placements: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (learner, row)
    transitions: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # (placement, row)
    follow_ups: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    outcomes: list[tuple[int, int, PlacementOutcomes]] = field(default_factory=list)
    own_follow_ups: int = 0  # of `follow_ups`, made by officers


@dataclass
class _Plan:
    """What every batch is planned from."""

    workflow: WorkflowDef
    programme_ids: dict[str, int]
    cohort_ids: dict[tuple[str, str], int]
    years: list[ProgrammeYear]
    hosts: _Hosts
    officers: list[OfficerRow]
    now: dt.datetime
    outcomes: OutcomeContext | None = None  # None: placements only


def generate_learners(
    organisation_ids: Collection[int],
    officer_ids: Sequence[int],
    learners: int,
    placements: int,
    rng: random.Random,
    now: dt.datetime,
    progress: Callable[[str], None] | None = None,
    provider: ProviderSigner | None = None,
) -> PlacementReport:
    """Programmes, cohorts, `learners` learners and `placements` placements with histories,
    hosted by the given (generated) organisations; committed batch by batch. With a
    `provider` (who signs agreements for the provider), also what came of the placements:
    evaluations, agreements and the officers' own follow-ups.

    From PARALLEL_FROM placements on, the batches are planned in a second process while this
    one writes the previous batch: planning and SQLite's inserts each take half the time.
    """
    started = time.monotonic()
    report = PlacementReport()
    now = now.replace(microsecond=0)
    current = year_started_by(now.date())
    years = [programme_year(y) for y in range(current - YEARS_BACK, current + 1)]
    opened = office_time(years[0].starts_on - dt.timedelta(days=200), 9 * 60)
    programme_ids, cohort_ids = ensure_programmes(PROGRAMMES, years, opened)
    report.programmes = len(programme_ids)
    workflow = current_pack().for_record("placement")
    ensure_snapshot(workflow)
    query = sa.select(User.id, User.name).where(User.id.in_(officer_ids))
    names: dict[int, str] = dict(db.session.execute(query).all())
    hosts = load_hosts(set(organisation_ids), rng)
    plan = _Plan(
        workflow,
        programme_ids,
        cohort_ids,
        years,
        hosts,
        [OfficerRow(i, names[i]) for i in officer_ids],
        now,
    )
    if provider is not None:
        plan.outcomes = outcome_context(
            now=now,
            seed=rng.getrandbits(64),
            programme_ids=programme_ids,
            pledges=hosts.pledges,
            supervisors=hosts.supervisors,
            provider=provider,
            documents_source=DOCUMENTS_SOURCE,
        )
    db.session.commit()
    batches = _planned_batches(plan, learners, placements, rng)
    if placements >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
        batches = _planned_elsewhere(batches)
    for batch in batches:
        _insert_batch(batch, report)
        db.session.commit()
        if progress:
            progress(
                f"{report.learners:,} learners, {report.placements:,} placements, "
                f"{report.transitions:,} transitions ({time.monotonic() - started:.1f} s)"
            )
    report.seconds = time.monotonic() - started
    return report


def _planned_batches(
    plan: _Plan, learners: int, placements: int, rng: random.Random
) -> Iterator[_Batch]:
    """The learners with their placements' rows, LEARNERS_PER_BATCH at a time."""
    maker = _PlacementMaker(PlacementPlanner(plan.workflow, rng, plan.now), plan.hosts, rng)
    outcomes = OutcomePlanner(plan.outcomes) if plan.outcomes is not None else None
    people = _Learners(rng)
    sectors: dict[str, int] = defaultdict(int)
    for programme in PROGRAMMES:
        sectors[programme.sector] += 1
    programme_weights = list(
        itertools.accumulate(1 + plan.hosts.count(p.sector) / sectors[p.sector] for p in PROGRAMMES)
    )
    years = plan.years
    year_weights = list(itertools.accumulate([1.0] * (len(years) - 1) + [1.15]))
    counts = _spread(placements, learners, rng)
    yesterday = plan.now - dt.timedelta(days=1)
    for first in range(0, learners, LEARNERS_PER_BATCH):
        batch = _Batch()
        for count in counts[first : first + LEARNERS_PER_BATCH]:
            programme = rng.choices(PROGRAMMES, cum_weights=programme_weights)[0]
            year = rng.choices(years, cum_weights=year_weights)[0]
            share = SUPPORT_NEEDS_SHARES.get(programme.code, SUPPORT_NEEDS_SHARE)
            fields = people.draw(year, share)
            officer = rng.choice(plan.officers)
            items = [
                maker.make(start, end, programme, is_minor(fields["birth_date"], start))
                for start, end in _periods(year, count, rng)
            ]
            enrolled = office_time(
                year.starts_on - dt.timedelta(days=rng.randint(20, 90)), rng.randint(480, 900)
            )
            created = min(
                [enrolled, yesterday] + [p.history.created_at - dt.timedelta(days=1) for p in items]
            )
            learner = len(batch.learners)
            batch.learners.append(
                learner_row(
                    fields.pop("first_name"),
                    fields.pop("last_name"),
                    fields.pop("email"),
                    plan.programme_ids[programme.code],
                    plan.cohort_ids[(programme.code, year.name)],
                    officer.id,
                    created,
                    **fields,
                )
            )
            for item in items:
                placement = len(batch.placements)
                row = placement_row(
                    item.history,
                    plan.workflow,
                    0,  # the learner's id, once known
                    plan.programme_ids[programme.code],
                    officer.id,
                    item.start,
                    item.end,
                    item.host,
                )
                batch.placements.append((learner, row))
                steps, tasks = history_rows(
                    item.history, plan.workflow, 0, officer, item.host, item.first_host
                )
                batch.transitions += [(placement, step) for step in steps]
                batch.follow_ups += [(placement, task) for task in tasks]
                if outcomes is None:
                    continue
                planned = outcomes.plan(
                    history=item.history,
                    start=item.start,
                    end=item.end,
                    programme=programme,
                    host=item.host,
                    learner=batch.learners[learner],
                    officer=officer,
                )
                batch.outcomes.append((placement, learner, planned))
                batch.follow_ups += [(placement, task) for task in planned.follow_ups]
                batch.own_follow_ups += len(planned.follow_ups)
        yield batch


def _planned_elsewhere(batches: Iterator[_Batch]) -> Iterator[_Batch]:
    """The same batches, planned in a forked process one batch ahead of their writing.

    The child only computes (it never uses the database connections it inherits) and leaves
    with os._exit, as multiprocessing's children do, so nothing of the parent is closed.
    """
    context = multiprocessing.get_context("fork")
    queue: Any = context.Queue(maxsize=2)

    def plan() -> None:
        try:
            for batch in batches:
                queue.put(batch)
            queue.put(None)
        except BaseException as exc:  # the parent raises it
            queue.put(exc)

    child = context.Process(target=plan, name="crm-generate-planner", daemon=True)
    child.start()
    try:
        while True:
            item = queue.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()
            child.join()


def _insert_batch(batch: _Batch, report: PlacementReport) -> None:
    """Write a batch: learners, then their placements, then the placements' histories."""
    learner_ids = insert_returning_ids(Learner.__table__, batch.learners)
    rows = []
    for learner, row in batch.placements:
        row["learner_id"] = learner_ids[learner]
        rows.append(row)
    placement_ids = insert_returning_ids(Placement.__table__, rows)
    for placement, row in itertools.chain(batch.transitions, batch.follow_ups):
        row["record_id"] = placement_ids[placement]
    insert_histories([row for _, row in batch.transitions], [row for _, row in batch.follow_ups])
    report.learners += len(learner_ids)
    report.placements += len(placement_ids)
    report.transitions += len(batch.transitions)
    report.follow_ups += len(batch.follow_ups)
    report.support_needs += sum(1 for row in batch.learners if row["support_needs"])
    started = time.monotonic()
    written = insert_outcomes(batch.outcomes, learner_ids, placement_ids)
    report.evaluations += written.evaluations
    report.ratings += written.ratings
    report.feedback += written.feedback
    report.agreements.add(written.agreements)
    report.own_follow_ups += batch.own_follow_ups
    report.outcome_seconds += time.monotonic() - started
