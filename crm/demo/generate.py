"""A large synthetic register for benchmarks, written with bulk inserts.

The services write one row at a time; a million activities that way would take hours. Here
rows go in as Core `INSERT`s of up to 10,000 rows, but every derived column (search text,
sort name, duplicate keys, last activity) is computed with the services' own functions, so
the list pages, search and duplicate detection behave on generated data as on real data.
Each batch of employers (with its contacts and activities) is committed on its own.

Partnerships follow, one per employer by default, each with a history planned on the current
partnership workflow (see `crm.demo.histories`): the transition rows, the follow-ups its
effects wrote and the fields its guards needed, again as bulk inserts, with the memorandum
of each partnership that issued one (`crm.demo.generate_outcomes`). Learners and placements
come next with what came of them: evaluations, agreements, officers' own follow-ups
(`crm.demo.generate_placements`). The provider's signatures are a manager's: the first active
one, or `manager@generated.test` made for the purpose. Last, every partnership's health score
is computed, as the nightly job would, and the dashboard's numbers are refreshed.

Agreement documents are not rendered: every version stores the same small placeholder PDF,
which says so (`crm.demo.agreement_rows`).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from crm.activities.models import Activity, ActivityKind
from crm.auth.models import Role, User
from crm.auth.service import hash_password
from crm.contacts.models import Contact
from crm.contacts.service import contact_search_text
from crm.core.text import fold
from crm.db import utcnow
from crm.demo.agreement_rows import ProviderSigner, english_words
from crm.demo.countries import COUNTRIES
from crm.demo.employers import TAG_POOL, EmployerMaker, EmployerPlan, TakenKeys
from crm.demo.generate_memoranda import MemorandumCounts, MemorandumWriter, PartnershipSubject
from crm.demo.generate_placements import (
    DOCUMENTS_SOURCE,
    PlacementReport,
    generate_learners,
)
from crm.demo.histories import History, HistoryMaker
from crm.demo.placeholder_documents import placeholder_documents
from crm.demo.rows import OfficerRow, insert_returning_ids, insert_rows
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.organisations.models import Organisation, Tag, organisation_tags
from crm.organisations.service import (
    name_key,
    normalise_website,
    refresh_search_text,
    registration_key,
    website_domain,
)
from crm.partnerships.models import Partnership
from crm.workflow.definitions import WorkflowDef
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import ensure_snapshot

GENERATED_OFFICERS = 20
GENERATED_PASSWORD = "generated-officer"  # noqa: S105 - benchmark accounts, printed on use
GENERATED_DOMAIN = "generated.test"
GENERATED_MANAGER = f"manager@{GENERATED_DOMAIN}"
ORGANISATIONS_PER_BATCH = 500
PARTNERSHIPS_PER_BATCH = 2_500
PROGRESS_EVERY = 2_000
HISTORY_DAYS = 730
PLACEMENTS_PER_ORGANISATION = 10
ARCHIVED_SHARE = 0.02

# One activity before insertion: kind, time, subject, body, contact index, author id.
PlannedActivity = tuple[ActivityKind, dt.datetime, str, str, int | None, int]


@dataclass(frozen=True)
class ScaleTargets:
    """How much to generate, and from which seed."""

    organisations: int
    contacts: int
    activities: int
    seed: int = 1
    partnerships: int | None = None  # None: one per organisation that is not archived
    placements: int | None = None  # None: PLACEMENTS_PER_ORGANISATION per organisation
    learners: int | None = None  # None: one per two placements

    def placement_count(self) -> int:
        if self.placements is not None:
            return self.placements
        return PLACEMENTS_PER_ORGANISATION * self.organisations

    def learner_count(self) -> int:
        if self.learners is not None:
            return self.learners
        return (self.placement_count() + 1) // 2


@dataclass
class GenerationReport:
    """What a run added and how long it took."""

    organisations: int = 0
    contacts: int = 0
    activities: int = 0
    partnerships: int = 0
    transitions: int = 0
    follow_ups: int = 0
    officers_created: int = 0
    manager_created: bool = False
    seconds: float = 0.0
    partnership_seconds: float = 0.0
    learners: PlacementReport = field(default_factory=PlacementReport)
    memoranda: MemorandumCounts = field(default_factory=MemorandumCounts)
    health_scores: int = 0
    health_seconds: float = 0.0
    dashboard_seconds: float = 0.0


def spread(total: int, buckets: int, minimum: int, sigma: float, rng: random.Random) -> list[int]:
    """Split `total` over `buckets`, each at least `minimum` where possible, skewed by `sigma`."""
    if buckets <= 0:
        return []
    floor = minimum if total >= minimum * buckets else 0
    counts = [floor] * buckets
    weights = [rng.lognormvariate(0.0, sigma) for _ in range(buckets)]
    for index in rng.choices(range(buckets), weights=weights, k=total - floor * buckets):
        counts[index] += 1
    return counts


def generate_register(
    targets: ScaleTargets,
    progress: Callable[[str], None] | None = None,
    now: dt.datetime | None = None,
) -> GenerationReport:
    """Add a synthetic register of the given size, committing batch by batch."""
    started = time.monotonic()
    now = (now or utcnow()).replace(microsecond=0)
    rng = random.Random(targets.seed)
    report = GenerationReport()
    with _bulk_loading():
        _generate(targets, rng, now, report, progress)
    report.seconds = time.monotonic() - started
    return report


@contextmanager
def _bulk_loading() -> Iterator[None]:
    """On a SQLite file: a large page cache and no waiting for the disk while generating.

    Every batch adds to all the indexes of large tables: a cache that holds them (1 GiB at
    most, taken as needed; the app's is 64 MiB) saves most of the reads, and not syncing at
    each checkpoint halves the time. A crash of the machine (not of the command) during a run
    may then damage the file: generate it again. The settings are made as a connection is
    taken from the pool, outside any transaction (SQLite refuses to change them inside one);
    afterwards the pooled connections are closed, so the next ones are set up as usual.
    """
    bind = db.session.get_bind()
    if not isinstance(bind, sa.Engine) or bind.dialect.name != "sqlite":
        yield
        return

    def on_checkout(dbapi_connection: Any, *_args: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous = OFF")
        dbapi_connection.execute("PRAGMA cache_size = -1048576")

    sa.event.listen(bind, "checkout", on_checkout)
    try:
        yield
    finally:
        sa.event.remove(bind, "checkout", on_checkout)
        bind.dispose()  # the connections the session gave back (each batch commits)


def _generate(
    targets: ScaleTargets,
    rng: random.Random,
    now: dt.datetime,
    report: GenerationReport,
    progress: Callable[[str], None] | None,
) -> None:
    """Employers, partnerships, learners and placements (see generate_register)."""
    started = time.monotonic()
    officer_ids, report.officers_created = ensure_officers(rng)
    provider, report.manager_created = ensure_manager(rng)
    tag_ids = ensure_tags()
    maker = EmployerMaker(rng, now.date(), taken_keys())
    db.session.commit()
    contact_counts = spread(targets.contacts, targets.organisations, 1, 0.5, rng)
    activity_counts = spread(targets.activities, targets.organisations, 0, 1.0, rng)
    countries = sorted(COUNTRIES)
    employers: list[_Employer] = []
    for first in range(0, targets.organisations, ORGANISATIONS_PER_BATCH):
        last = min(first + ORGANISATIONS_PER_BATCH, targets.organisations)
        batch = [
            _plan_employer(
                maker,
                rng.choice(countries),
                contact_counts[i],
                activity_counts[i],
                officer_ids,
                now,
            )
            for i in range(first, last)
        ]
        ids = _insert_batch(batch, tag_ids)
        employers.extend(
            _Employer(i, e.owner_id, e.created_at, e.archived_at)
            for i, e in zip(ids, batch, strict=True)
        )
        db.session.commit()
        report.organisations += len(batch)
        report.contacts += sum(len(e.plan.contacts) for e in batch)
        report.activities += sum(len(e.activities) for e in batch)
        if progress and (last == targets.organisations or last % PROGRESS_EVERY == 0):
            progress(
                f"{report.organisations:,} organisations, {report.contacts:,} contacts, "
                f"{report.activities:,} activities ({time.monotonic() - started:.1f} s)"
            )
    generate_partnerships(employers, targets.partnerships, rng, now, report, progress, provider)
    report.learners = generate_learners(
        [e.id for e in employers],
        officer_ids,
        targets.learner_count(),
        targets.placement_count(),
        rng,
        now,
        progress,
        provider,
    )
    _score_health(now, report, progress)
    _refresh_dashboard(now, report)


def _score_health(
    now: dt.datetime, report: GenerationReport, progress: Callable[[str], None] | None
) -> None:
    """Compute every partnership's health score, as the nightly job would, so pages show them."""
    from crm.health.service import recompute

    run = recompute(now=now)
    db.session.commit()
    report.health_scores = run.scored
    report.health_seconds = run.milliseconds / 1000
    if progress:
        progress(
            f"health scores of {run.scored:,} partnerships ({run.unscored:,} in a final "
            f"stage have none) in {run.milliseconds / 1000:.1f} s"
        )


def _refresh_dashboard(now: dt.datetime, report: GenerationReport) -> None:
    """Aggregate the dashboard's numbers on the new data, as its scheduler job would."""
    from crm.dashboard.service import refresh

    started = time.monotonic()
    refresh(now=now)
    db.session.commit()
    report.dashboard_seconds = time.monotonic() - started


@dataclass(frozen=True)
class _Employer:
    """A generated organisation, as far as its partnership needs to know."""

    id: int
    owner_id: int
    created_at: dt.datetime
    archived_at: dt.datetime | None


def generate_partnerships(
    employers: Sequence[_Employer],
    count: int | None,
    rng: random.Random,
    now: dt.datetime,
    report: GenerationReport,
    progress: Callable[[str], None] | None = None,
    provider: ProviderSigner | None = None,
) -> None:
    """Partnerships with histories: one per active employer, or `count` spread over them.

    Beyond one per active employer, archived employers get one each, closed before they were
    archived; there is never more than one per employer. With a `provider` (who signs for
    the education provider), partnerships that issued a memorandum get it.
    """
    from crm.agreements.adapter import definition as agreement_definition
    from crm.partnerships.service import definition

    started = time.monotonic()
    active = [e for e in employers if e.archived_at is None]
    archived = [e for e in employers if e.archived_at is not None]
    if count is None:
        chosen = active
    elif count <= len(active):
        chosen = sorted(rng.sample(active, count), key=lambda e: e.id)
    else:
        chosen = active + archived[: count - len(active)]
    if not chosen:
        return
    workflow = definition()
    ensure_snapshot(workflow)
    owners = sa.select(User.id, User.name).where(User.id.in_({e.owner_id for e in chosen}))
    names = {row.id: row.name for row in db.session.execute(owners)}
    db.session.commit()
    maker = HistoryMaker(workflow, rng)
    memoranda = None
    if provider is not None:
        agreements = agreement_definition()
        ensure_snapshot(agreements)
        memoranda = MemorandumWriter(
            agreements,
            random.Random(rng.getrandbits(64)),
            now,
            provider,
            placeholder_documents(DOCUMENTS_SOURCE),
            english_words(),
            current_app.config["CRM_LANGUAGES"],
        )
        db.session.commit()
    for first in range(0, len(chosen), PARTNERSHIPS_PER_BATCH):
        batch = chosen[first : first + PARTNERSHIPS_PER_BATCH]
        histories = [
            maker.history(
                e.created_at + dt.timedelta(hours=1),
                e.archived_at or now,
                closed=e.archived_at is not None,
            )
            for e in batch
        ]
        ids = _insert_partnerships(workflow, batch, histories, names, report)
        if memoranda is not None:
            memoranda.write(
                ids,
                [
                    PartnershipSubject(e.id, OfficerRow(e.owner_id, names.get(e.owner_id, "")), h)
                    for e, h in zip(batch, histories, strict=True)
                ],
            )
            report.memoranda = memoranda.counts
        db.session.commit()
        if progress:
            progress(
                f"{report.partnerships:,} partnerships, {report.transitions:,} transitions, "
                f"{report.follow_ups:,} follow-ups ({time.monotonic() - started:.1f} s)"
            )
    report.partnership_seconds = time.monotonic() - started


def _insert_partnerships(
    workflow: WorkflowDef,
    employers: list[_Employer],
    histories: list[History],
    names: dict[int, str],
    report: GenerationReport,
) -> list[int]:
    """Write partnerships, their transition rows and their follow-ups; their new ids."""
    rows = [
        {
            "organisation_id": employer.id,
            "owner_id": employer.owner_id,
            "title": "",
            "needs_summary": history.fields.get("needs_summary", ""),
            "memorandum_signed_on": history.fields.get("memorandum_signed_on"),
            "review_notes": history.fields.get("review_notes", ""),
            "closed_reason": history.fields.get("closed_reason", ""),
            "workflow_name": workflow.name,
            "workflow_version": workflow.version,
            "state": history.state,
            "state_entered_at": history.entered_at,
            "checklist": history.checklist,
            "lock_version": 1,
            "created_at": history.started_at,
            "updated_at": history.updated_at,
        }
        for employer, history in zip(employers, histories, strict=True)
    ]
    ids = insert_returning_ids(Partnership.__table__, rows)
    transition_rows: list[dict[str, Any]] = []
    follow_up_rows: list[dict[str, Any]] = []
    for partnership_id, employer, history in zip(ids, employers, histories, strict=True):
        transition_rows.extend(
            {
                "record_type": "partnership",
                "record_id": partnership_id,
                "organisation_id": employer.id,
                "workflow_name": workflow.name,
                "workflow_version": workflow.version,
                "transition": step.transition.name,
                "transition_label": step.transition.label,
                "from_state": step.from_state,
                "to_state": step.transition.to,
                "actor_kind": "user",
                "actor_user_id": employer.owner_id,
                "actor_label": names.get(employer.owner_id, ""),
                "comment": step.comment,
                "occurred_at": step.occurred_at,
            }
            for step in history.steps
        )
        follow_up_rows.extend(
            {
                "subject": item.subject,
                "due_at": item.due_at,
                "assignee_id": employer.owner_id,
                "status": item.status,
                "record_type": "partnership",
                "record_id": partnership_id,
                "organisation_id": employer.id,
                "created_by_id": None,
                "created_by_rule": item.rule,
                "completed_at": item.completed_at,
                "completed_by_id": employer.owner_id if item.done_by_owner else None,
                "notes": "",
                "reminder_sent_at": item.reminder_sent_at,
                "created_at": item.created_at,
                "updated_at": item.completed_at or item.reminder_sent_at or item.created_at,
            }
            for item in history.follow_ups
        )
    insert_rows(WorkflowTransition.__table__, transition_rows)
    insert_rows(FollowUp.__table__, follow_up_rows)
    report.partnerships += len(rows)
    report.transitions += len(transition_rows)
    report.follow_ups += len(follow_up_rows)
    return ids


def ensure_officers(rng: random.Random) -> tuple[list[int], int]:
    """Ids of active officers to own the employers, adding some until there are enough."""
    ids = list(
        db.session.scalars(
            sa.select(User.id)
            .where(User.role == Role.OFFICER, User.is_active_account.is_(True))
            .order_by(User.id)
        )
    )
    missing = GENERATED_OFFICERS - len(ids)
    if missing <= 0:
        return ids, 0
    taken = set(db.session.scalars(sa.select(User.email)))
    password_hash = hash_password(GENERATED_PASSWORD)  # argon2 is slow: hash once
    countries = sorted(COUNTRIES)
    users: list[User] = []
    number = 0
    while len(users) < missing:
        number += 1
        email = f"officer{number:02d}@{GENERATED_DOMAIN}"
        if email in taken:
            continue
        country = COUNTRIES[countries[number % len(countries)]]
        name = f"{rng.choice(country.women + country.men)} {rng.choice(country.surnames)}"
        users.append(User(email=email, name=name, role=Role.OFFICER, password_hash=password_hash))
    db.session.add_all(users)
    db.session.flush()
    return ids + [u.id for u in users], len(users)


def ensure_manager(rng: random.Random) -> tuple[ProviderSigner, bool]:
    """The manager who signs agreements for the provider: the first active one, or a new
    one (GENERATED_MANAGER, who also opens the dashboard in benchmarks); whether it is new."""
    found = db.session.execute(
        sa.select(User.id, User.name)
        .where(User.role == Role.MANAGER, User.is_active_account.is_(True))
        .order_by(User.id)
        .limit(1)
    ).first()
    if found is not None:
        return ProviderSigner(found.id, found.name), False
    country = COUNTRIES[rng.choice(sorted(COUNTRIES))]
    name = f"{rng.choice(country.women + country.men)} {rng.choice(country.surnames)}"
    manager = User(
        email=GENERATED_MANAGER,
        name=name,
        role=Role.MANAGER,
        password_hash=hash_password(GENERATED_PASSWORD),
    )
    db.session.add(manager)
    db.session.flush()
    return ProviderSigner(manager.id, manager.name), True


def ensure_tags() -> dict[str, int]:
    """Ids of the tag pool, adding the tags the register does not have yet."""
    existing = set(db.session.scalars(sa.select(Tag.name).where(Tag.name.in_(TAG_POOL))))
    missing = [{"name": name} for name in TAG_POOL if name not in existing]
    if missing:
        db.session.execute(sa.insert(Tag.__table__), missing)
    rows = db.session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(TAG_POOL)))
    return {row.name: row.id for row in rows}


def taken_keys() -> TakenKeys:
    """The duplicate keys of the employers already in the register."""
    taken = TakenKeys()
    rows = db.session.execute(
        sa.select(Organisation.name_key, Organisation.website_domain, Organisation.registration_key)
    )
    for name, domain, registration in rows:
        taken.names.add(name)
        taken.domains.add(domain)
        taken.registrations.add(registration)
    return taken


@dataclass(frozen=True)
class _PlannedEmployer:
    plan: EmployerPlan
    owner_id: int
    created_at: dt.datetime
    archived_at: dt.datetime | None
    activities: list[PlannedActivity]


def _plan_employer(
    maker: EmployerMaker,
    country: str,
    contacts: int,
    activities: int,
    officer_ids: Sequence[int],
    now: dt.datetime,
) -> _PlannedEmployer:
    """An employer, and its timeline spread between its first approach and now."""
    rng = maker.rng
    plan = maker.employer(country, maker.sector(), contacts)
    owner_id = rng.choice(officer_ids)
    history = rng.randint(30, HISTORY_DAYS) * 86400 - 3600
    entries: list[PlannedActivity] = []
    for _ in range(activities):
        age = int(rng.random() * history)
        kind, subject, body = maker.entry(1.0 - age / history)
        contact: int | None = None
        if plan.contacts and (kind is not ActivityKind.NOTE or rng.random() < 0.3):
            contact = rng.randrange(len(plan.contacts))
        body = maker.wording(
            body, plan.contacts[contact].first_name if contact is not None else None
        )
        occurred = now - dt.timedelta(seconds=3600 + age)
        author = owner_id if rng.random() < 0.85 else rng.choice(officer_ids)
        entries.append((kind, occurred, subject, body, contact, author))
    created = now - dt.timedelta(seconds=3600 + history + rng.randint(0, 30) * 86400)
    archived = None
    if rng.random() < ARCHIVED_SHARE:  # archived after its last contact, before now
        archived = max((e[1] for e in entries), default=created) + dt.timedelta(minutes=30)
    return _PlannedEmployer(plan, owner_id, created, archived, entries)


def _insert_batch(batch: list[_PlannedEmployer], tag_ids: dict[str, int]) -> list[int]:
    """Write a batch of employers with their tags, contacts and activities; their new ids."""
    organisation_rows: list[dict[str, Any]] = []
    transients: list[Organisation] = []
    for employer in batch:
        row, organisation = _organisation_row(employer)
        organisation_rows.append(row)
        transients.append(organisation)
    organisation_ids = insert_returning_ids(Organisation.__table__, organisation_rows)
    insert_rows(
        organisation_tags,
        [
            {"organisation_id": organisation_id, "tag_id": tag_ids[tag]}
            for organisation_id, employer in zip(organisation_ids, batch, strict=True)
            for tag in employer.plan.tags
        ],
    )
    contact_rows = [
        row
        for organisation_id, organisation, employer in zip(
            organisation_ids, transients, batch, strict=True
        )
        for row in _contact_rows(organisation_id, organisation, employer)
    ]
    contact_ids = iter(insert_returning_ids(Contact.__table__, contact_rows))
    activity_rows: list[dict[str, Any]] = []
    for organisation_id, employer in zip(organisation_ids, batch, strict=True):
        ids = [next(contact_ids) for _ in employer.plan.contacts]
        activity_rows.extend(
            {
                "kind": kind,
                "occurred_at": occurred,
                "subject": subject,
                "body": body,
                "organisation_id": organisation_id,
                "contact_id": ids[contact] if contact is not None else None,
                "author_id": author,
                "created_at": occurred,
            }
            for kind, occurred, subject, body, contact, author in employer.activities
        )
    insert_rows(Activity.__table__, activity_rows)
    return organisation_ids


def _organisation_row(employer: _PlannedEmployer) -> tuple[dict[str, Any], Organisation]:
    """The organisation's row, derived columns computed as the service computes them."""
    plan = employer.plan
    organisation = Organisation(
        legal_name=plan.legal_name,
        trading_name="",
        city=plan.city,
        registration_number=plan.registration_number,
    )
    refresh_search_text(organisation, [f"{c.first_name} {c.last_name}" for c in plan.contacts])
    website = normalise_website(plan.website)
    last_activity = max((a[1] for a in employer.activities), default=None)
    row = {
        "legal_name": plan.legal_name,
        "trading_name": "",
        "registration_number": plan.registration_number,
        "nace_code": plan.nace_code,
        "size_band": plan.size_band,
        "country": plan.country.upper(),
        "city": plan.city,
        "address": plan.address,
        "website": website,
        "notes": plan.notes,
        "capacity_pledge": plan.capacity_pledge,
        "capacity_period": plan.capacity_period,
        "owner_id": employer.owner_id,
        "archived_at": employer.archived_at,
        "duplicate_reason": "",
        "sort_name": fold(organisation.display_name),
        "name_key": name_key(plan.legal_name),
        "website_domain": website_domain(website),
        "registration_key": registration_key(plan.registration_number),
        "search_text": organisation.search_text,
        "last_activity_at": last_activity,
        "created_at": employer.created_at,
        "updated_at": last_activity or employer.created_at,
    }
    return row, organisation


def _contact_rows(
    organisation_id: int, organisation: Organisation, employer: _PlannedEmployer
) -> list[dict[str, Any]]:
    """The contacts' rows, each with the latest time it appears on the timeline."""
    latest: dict[int, dt.datetime] = {}
    for activity in employer.activities:
        index, occurred = activity[4], activity[1]
        if index is not None and (index not in latest or latest[index] < occurred):
            latest[index] = occurred
    rows = []
    for index, person in enumerate(employer.plan.contacts):
        contact = Contact(
            first_name=person.first_name,
            last_name=person.last_name,
            email=person.email.lower(),
            job_title=person.job_title,
        )
        rows.append(
            {
                "organisation_id": organisation_id,
                "first_name": person.first_name,
                "last_name": person.last_name,
                "role": person.role,
                "job_title": person.job_title,
                "email": contact.email,
                "phone": person.phone,
                "preferred_language": person.preferred_language,
                "consent_basis": person.consent_basis,
                "consent_date": person.consent_date,
                "notes": "",
                "archived_at": None,
                "sort_name": fold(f"{person.last_name} {person.first_name}"),
                "search_text": contact_search_text(contact, organisation),
                "last_activity_at": latest.get(index),
                "created_at": employer.created_at,
                "updated_at": latest.get(index, employer.created_at),
            }
        )
    return rows
