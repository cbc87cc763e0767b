"""The dashboard's numbers on constructed cases, each hand-counted: funnels and conversion,
months in UTC, every filter, placements per month, satisfaction, skills gap, workload, the
at-risk list, expiring agreements, inclusion and its protection, notes, and a fixed number of
statements whatever the data."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace

import pytest
import sqlalchemy as sa

from crm.agreements.models import Agreement, AgreementKind
from crm.auth.models import Role
from crm.dashboard import live, service
from crm.dashboard.data import Filters, InclusionRow
from crm.dashboard.grains import METRICS
from crm.dashboard.inclusion import InclusionCounts, protect
from crm.dashboard.models import dashboard_facts
from crm.db import utcnow
from crm.demo.demo import load_demo
from crm.evaluations.models import EvaluationKind
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.health.score import MINUS
from crm.health.service import current_config, provider_today
from crm.workflow import service as workflow
from tests.dashboard.numbers_recount import Records as Recount
from tests.dashboard.numbers_recount import sector_of
from tests.dashboard.numbers_support import (
    NOW,
    PERIOD,
    at,
    conversions,
    dashboard,
    evaluation,
    filters,
    learner,
    outcomes_of,
    partnership,
    placement,
    programme_with_outcomes,
    stages,
)
from tests.factories import make_cohort, make_organisation, make_user

PARTNERSHIP_PATH = ("identified", "researched", "approached")
TO_IN_PROGRESS = (
    "requested",
    "matched",
    "awaiting_employer",
    "confirmed",
    "agreement_out",
    "ready",
    "in_progress",
)


# --- funnels ---------------------------------------------------------------------------------


def test_partnership_funnel_counts_stages_reached_and_current(ctx, officer):
    partnership(officer, at("2026-10-05"), PARTNERSHIP_PATH)
    partnership(
        officer,
        at("2026-11-10"),
        (*PARTNERSHIP_PATH, "needs_analysed", "agreeing", "active"),
    )
    partnership(officer, at("2027-01-20"))
    partnership(officer, at("2026-12-01"), ("identified", "researched", "closed"))
    partnership(officer, at("2026-09-15"), ("identified", "researched"))  # before the period
    # Dormant and back: "approached" is reached once, however often it is entered.
    partnership(officer, at("2027-02-01"), (*PARTNERSHIP_PATH, "dormant", "approached"))

    funnel = dashboard().partnership_funnel

    assert funnel.workflow == "partnership"
    assert funnel.started == 5
    assert stages(funnel) == {
        "identified": (5, 1),
        "researched": (4, 0),
        "approached": (3, 2),
        "needs_analysed": (1, 0),
        "agreeing": (1, 0),
        "active": (1, 1),
        "dormant": (1, 0),
        "closed": (1, 1),
    }
    assert conversions(funnel) == {
        "identified": None,  # the first stage
        "researched": 4 / 5,
        "approached": 3 / 4,
        "needs_analysed": 1 / 3,
        "agreeing": 1.0,
        "active": 1.0,
        "under_review": 0.0,
        "dormant": 1.0,  # from "active", the stage that leads to it (not "under review")
        "closed": None,  # a final stage
    }
    order = [s.state for s in funnel.stages]
    assert order == list(workflow.current_pack().for_record("partnership").states)
    assert [s.label for s in funnel.stages][:2] == ["Identified", "Researched"]
    assert [s.terminal for s in funnel.stages][-1] is True


def test_placement_funnel_by_start_date_or_creation_and_placements_per_month(ctx, officer):
    programme = programme_with_outcomes()
    ana, ben, cai, dan = (learner(officer, programme) for _ in range(4))
    placement(ana, dt.date(2026, 11, 2), TO_IN_PROGRESS)
    placement(ben, dt.date(2027, 1, 10), (*TO_IN_PROGRESS[:3], "declined", "requested"))
    placement(cai, None, created=at("2026-12-05"))  # no start date: counted by creation
    placement(dan, dt.date(2026, 8, 20))  # started before the period
    placement(ana, dt.date(2027, 3, 1), ("requested", "matched", "cancelled"))
    placement(ben, dt.date(2027, 2, 15), (*TO_IN_PROGRESS, "completed", "evaluated"))

    built = dashboard()
    funnel = built.placement_funnel

    assert funnel.started == 5
    assert stages(funnel) == {
        "requested": (5, 2),
        "matched": (4, 0),
        "awaiting_employer": (3, 0),
        "confirmed": (2, 0),
        "declined": (1, 0),
        "agreement_out": (2, 0),
        "ready": (2, 0),
        "in_progress": (2, 1),
        "completed": (1, 0),
        "evaluated": (1, 1),
        "cancelled": (1, 1),
    }
    rates = conversions(funnel)
    # From "confirmed", the stage that leads to it: "declined", listed in between, does not.
    assert rates["agreement_out"] == 1.0
    assert (rates["postponed"], rates["evaluated"], rates["cancelled"]) == (0.0, None, None)
    assert [s.terminal for s in funnel.stages][-2:] == [True, True]  # terminal stages last
    # The 12 months ending with March 2027, by start date, without the declined and
    # cancelled placements (their current stage) and those without a date.
    per_month = {m.month: m.count for m in built.placements_per_month}
    assert list(per_month) == [dt.date(2026 + (m > 12), (m - 1) % 12 + 1, 1) for m in range(4, 16)]
    assert {month: n for month, n in per_month.items() if n} == {
        dt.date(2026, 8, 1): 1,
        dt.date(2026, 11, 1): 1,
        dt.date(2027, 1, 1): 1,
        dt.date(2027, 2, 1): 1,
    }


def test_months_are_counted_in_utc(ctx, officer):
    # 23:30 UTC on 30 September is already 1 October in Brussels: still September here.
    partnership(officer, at("2026-09-30", "23:30"))
    partnership(officer, at("2026-10-01", "00:10"))
    partnership(officer, at("2027-03-31", "23:30"))
    partnership(officer, at("2027-04-01", "00:10"))  # after the period
    programme = programme_with_outcomes()
    hosted = placement(
        learner(officer, programme),
        dt.date(2026, 12, 1),
        ("requested", "matched"),
        organisation=make_organisation(officer),
    )
    other = placement(
        learner(officer, programme),
        dt.date(2026, 12, 10),
        ("requested", "matched"),
        organisation=make_organisation(officer),
    )
    evaluation(hosted, at("2026-12-31", "23:59"), 4)
    evaluation(other, at("2027-01-01", "00:01"), 2)

    built = dashboard()

    assert built.partnership_funnel.started == 2
    months = {m.month: (m.evaluations, m.average) for m in built.satisfaction}
    assert months[dt.date(2026, 12, 1)] == (1, 4.0)
    assert months[dt.date(2027, 1, 1)] == (1, 2.0)


# --- filters ---------------------------------------------------------------------------------


@pytest.fixture
def numbers_two_portfolios(ctx, officer):
    """Two officers with an organisation each (C/DE and I/PT), two programmes, partnerships,
    placements and evaluations across them."""
    other = make_user(Role.OFFICER, name="Bruno Officer")
    maker = make_organisation(officer, nace_code="25", country="DE")
    kitchen = make_organisation(other, nace_code="56", country="PT")
    partnership(officer, at("2026-11-03"), PARTNERSHIP_PATH, organisation=maker)
    partnership(other, at("2026-12-03"), ("identified", "researched"), organisation=kitchen)
    first = programme_with_outcomes("Welding", "Drawings")
    second = programme_with_outcomes("Cooking")
    x1 = placement(
        learner(officer, first), dt.date(2026, 11, 9), ("requested", "matched"), organisation=maker
    )
    x2 = placement(
        learner(other, second), dt.date(2026, 12, 7), ("requested", "matched"), organisation=kitchen
    )
    x3 = placement(
        learner(other, first), dt.date(2027, 1, 11), ("requested", "matched"), organisation=kitchen
    )
    welding, drawings = outcomes_of(first)
    evaluation(x1, at("2027-01-20"), 4, {welding: 4, drawings: 5})
    evaluation(x2, at("2027-02-20"), 3, {outcomes_of(second)[0]: 3})
    evaluation(x3, at("2027-02-21"), 2, {welding: 2, drawings: 1})
    return officer, other, first, second


def _summary(built):
    satisfaction = [(m.month.month, m.evaluations, m.average) for m in built.satisfaction]
    return {
        "partnerships": built.partnership_funnel.started,
        "placements": built.placement_funnel.started,
        "per_month": sum(m.count for m in built.placements_per_month),
        "satisfaction": [s for s in satisfaction if s[1]],
        "skills": [(s.outcome_text, s.average, s.ratings) for s in built.skills_gap],
    }


@pytest.mark.parametrize(
    ("chosen", "expected"),
    [
        (
            {},
            {
                "partnerships": 2,
                "placements": 3,
                "per_month": 3,
                "satisfaction": [(1, 1, 4.0), (2, 2, 2.5)],
                # Equal averages: more ratings first, then by programme and skill order.
                "skills": [("Welding", 3.0, 2), ("Drawings", 3.0, 2), ("Cooking", 3.0, 1)],
            },
        ),
        (
            {"sector": "C"},
            {
                "partnerships": 1,
                "placements": 1,
                "per_month": 1,
                "satisfaction": [(1, 1, 4.0)],
                "skills": [("Welding", 4.0, 1), ("Drawings", 5.0, 1)],
            },
        ),
        (
            {"country": "PT"},
            {
                "partnerships": 1,
                "placements": 2,
                "per_month": 2,
                "satisfaction": [(2, 2, 2.5)],
                "skills": [("Drawings", 1.0, 1), ("Welding", 2.0, 1), ("Cooking", 3.0, 1)],
            },
        ),
        (
            {"officer": "second"},
            {
                "partnerships": 1,
                "placements": 2,
                "per_month": 2,
                "satisfaction": [(2, 2, 2.5)],
                "skills": [("Drawings", 1.0, 1), ("Welding", 2.0, 1), ("Cooking", 3.0, 1)],
            },
        ),
        (
            # Partnerships are not per programme: their funnel keeps both.
            {"programme": "first"},
            {
                "partnerships": 2,
                "placements": 2,
                "per_month": 2,
                "satisfaction": [(1, 1, 4.0), (2, 1, 2.0)],
                "skills": [("Welding", 3.0, 2), ("Drawings", 3.0, 2)],
            },
        ),
        (
            {"programme": "first", "country": "PT"},
            {
                "partnerships": 1,
                "placements": 1,
                "per_month": 1,
                "satisfaction": [(2, 1, 2.0)],
                "skills": [("Drawings", 1.0, 1), ("Welding", 2.0, 1)],
            },
        ),
        (
            {"officer": "second", "sector": "I", "programme": "first"},
            {
                "partnerships": 1,
                "placements": 1,
                "per_month": 1,
                "satisfaction": [(2, 1, 2.0)],
                "skills": [("Drawings", 1.0, 1), ("Welding", 2.0, 1)],
            },
        ),
        (
            {"officer": "first", "country": "PT"},
            {"partnerships": 0, "placements": 0, "per_month": 0, "satisfaction": [], "skills": []},
        ),
    ],
)
def test_every_filter_narrows_the_sections_that_honour_it(numbers_two_portfolios, chosen, expected):
    officer, other, first, second = numbers_two_portfolios
    values = {
        "programme_id": {"first": first.id, "second": second.id}.get(chosen.get("programme")),
        "sector": chosen.get("sector"),
        "country": chosen.get("country"),
        "officer_id": {"first": officer.id, "second": other.id}.get(chosen.get("officer")),
    }
    assert _summary(dashboard(filters(**values))) == expected


def test_a_short_period_counts_only_its_months(numbers_two_portfolios):
    january = filters(period_from=dt.date(2027, 1, 1), period_to=dt.date(2027, 1, 31))
    built = dashboard(january)
    assert (built.partnership_funnel.started, built.placement_funnel.started) == (0, 1)
    assert [(m.month, m.evaluations) for m in built.satisfaction] == [(dt.date(2027, 1, 1), 1)]
    # Placements per month still show the 12 months ending with the period's last.
    assert built.placements_per_month[-1].month == dt.date(2027, 1, 1)
    assert len(built.placements_per_month) == 12


def test_the_grain_read_answers_every_combination_of_filters():
    for metric in METRICS.values():
        for mask in range(16):
            chosen = [
                d
                for i, d in enumerate(("programme", "sector", "country", "officer"))
                if mask >> i & 1
            ]
            grain = metric.grain_for(chosen)
            assert grain is not None and grain in metric.grains
            wanted = {d[0] for d in chosen if d in metric.dimensions} | {
                a[0] for a in metric.always
            }
            assert wanted <= set(grain), (metric, chosen, grain)
    assert METRICS["pl"].grain_for([]) == ""
    assert METRICS["pl"].grain_for(["sector", "country"]) == "sc"
    assert METRICS["pl"].grain_for(["programme", "officer"]) == "psco"
    assert METRICS["p"].grain_for(["programme"]) == ""  # partnerships ignore the programme


# --- satisfaction and skills -----------------------------------------------------------------


def test_satisfaction_per_month_and_the_skills_gap_worst_first(ctx, officer):
    programme = programme_with_outcomes("Safety", "Drawings", "Teamwork")
    safety, drawings, teamwork = outcomes_of(programme)
    kitchen = programme_with_outcomes("Knives")
    (knives,) = outcomes_of(kitchen)
    host = make_organisation(officer)

    def hosted(of, start):
        return placement(learner(officer, of), start, ("requested", "matched"), organisation=host)

    first = hosted(programme, dt.date(2026, 10, 5))
    second = hosted(programme, dt.date(2026, 10, 6))
    evaluation(first, at("2026-11-03"), 4, {safety: 2, drawings: 4, teamwork: None})
    evaluation(second, at("2026-11-20"), 5, {safety: 3, drawings: 4, teamwork: 1})
    evaluation(first, at("2026-11-21"), 1, kind=EvaluationKind.LEARNER)  # not the employer's
    early = hosted(programme, dt.date(2026, 9, 1))
    evaluation(early, at("2026-09-20"), 5, {safety: 5})  # before the period
    for number, rating in enumerate((2, 3, 2, 3)):
        cook = hosted(kitchen, dt.date(2026, 12, 1 + number))
        evaluation(cook, at("2027-01-10"), 3, {knives: rating})

    built = dashboard()

    months = [(m.month, m.evaluations, m.average) for m in built.satisfaction]
    assert [m[0] for m in months] == [dt.date(2026, 10 + n, 1) for n in range(3)] + [
        dt.date(2027, n, 1) for n in range(1, 4)
    ]
    assert [m for m in months if m[1]] == [
        (dt.date(2026, 11, 1), 2, 4.5),
        (dt.date(2027, 1, 1), 4, 3.0),
    ]
    assert months[0] == (dt.date(2026, 10, 1), 0, None)
    gap = [(s.programme_name, s.outcome_text, s.average, s.ratings) for s in built.skills_gap]
    assert gap == [
        (programme.name, "Teamwork", 1.0, 1),  # "not observed" is no rating
        (kitchen.name, "Knives", 2.5, 4),  # equal averages: more ratings first
        (programme.name, "Safety", 2.5, 2),
        (programme.name, "Drawings", 4.0, 2),
    ]
    assert {s.outcome_id for s in built.skills_gap} == {safety, drawings, teamwork, knives}


# --- workload --------------------------------------------------------------------------------


def _follow_up(user, due, status=FollowUpStatus.OPEN):
    db.session.add(
        FollowUp(
            subject="Call back",
            due_at=due,
            assignee_id=user.id,
            status=status,
            record_type="organisation",
            record_id=1,
        )
    )
    db.session.commit()


def test_workload_per_active_officer_and_manager_who_owns_anything(ctx, officer):
    bruno = make_user(Role.OFFICER, name="Bruno Officer")
    mia = make_user(Role.MANAGER, name="Mia Manager")
    ada = make_user(Role.ADMIN, name="Ada Admin")
    gone = make_user(Role.OFFICER, name="Gone Officer", is_active_account=False)
    make_user(Role.OFFICER, name="Idle Officer")  # owns nothing: not listed
    make_organisation(mia)
    _follow_up(officer, NOW + dt.timedelta(days=2))
    _follow_up(officer, NOW - dt.timedelta(hours=1))
    _follow_up(officer, NOW - dt.timedelta(days=3), FollowUpStatus.DONE)
    _follow_up(bruno, NOW - dt.timedelta(days=1))
    _follow_up(gone, NOW - dt.timedelta(days=1))
    # Researched for 20 days (SLA 14): late; active for 10 days (SLA 365): not.
    partnership(officer, NOW - dt.timedelta(days=26), ("identified", "researched"), days=6)
    partnership(
        officer,
        NOW - dt.timedelta(days=25),
        (*PARTNERSHIP_PATH, "needs_analysed", "agreeing", "active"),
        days=3,
    )
    partnership(ada, NOW - dt.timedelta(days=90), ("identified", "researched"), days=1)
    # Requested 30 days ago (SLA 14): late.
    placement(learner(bruno, programme_with_outcomes()), None, created=NOW - dt.timedelta(days=30))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FollowUp)) == 5

    rows = [
        (w.name, w.open_follow_ups, w.overdue_follow_ups, w.past_sla) for w in dashboard().workload
    ]

    assert rows == [
        ("Bruno Officer", 1, 1, 1),
        ("Mia Manager", 0, 0, 0),
        ("Olga Officer", 2, 1, 1),
    ]
    only = dashboard(filters(officer_id=bruno.id)).workload
    assert [(w.officer_id, w.name) for w in only] == [(bruno.id, "Bruno Officer")]


# --- at risk ---------------------------------------------------------------------------------


def _scored(record, score, *components):
    record.health_score = score
    record.health_components = [
        {"key": key, "weight": 20, "lost": lost, "reason": reason, "params": params}
        for key, lost, reason, params in components
    ]
    db.session.commit()
    return record


def test_at_risk_lists_low_scores_and_late_stages_lowest_first_with_the_main_reason(ctx, officer):
    bruno = make_user(Role.OFFICER, name="Bruno Officer")
    entered = NOW - dt.timedelta(days=40)
    active = (*PARTNERSHIP_PATH, "needs_analysed", "agreeing", "active")
    stalling = _scored(
        partnership(officer, entered, active, days=1),
        38,
        ("contact", 20, "contact_none_for", {"days": 94}),
        ("stage", 0, "stage_within", {"stage": "Active", "days": 35, "sla": 365}),
    )
    at_risk = _scored(
        partnership(officer, entered, PARTNERSHIP_PATH, days=1),
        55,
        ("contact", 5, "contact_last", {"days": 40}),
        ("follow_ups", 8, "follow_ups_overdue", {"count": 2, "date": "2027-03-01"}),
    )
    late = _scored(
        partnership(officer, NOW - dt.timedelta(days=21), ("identified", "researched"), days=1),
        85,
        ("stage", 5, "stage_over", {"stage": "Researched", "days": 20, "sla": 14, "over": 6}),
    )
    unscored = partnership(officer, NOW - dt.timedelta(days=30))  # identified, SLA 21
    _scored(partnership(officer, NOW - dt.timedelta(days=12), active, days=2), 75)  # steady
    _scored(partnership(officer, entered, ("identified", "closed")), 20)  # final stage
    elsewhere = _scored(
        partnership(
            bruno, entered, organisation=make_organisation(bruno, nace_code="56", country="PT")
        ),
        30,
        ("contact", 10, "contact_never", {"days": 40}),
    )

    listed = dashboard().at_risk

    assert [r.partnership_id for r in listed] == [
        elsewhere.id,
        stalling.id,
        at_risk.id,
        late.id,
        unscored.id,
    ]
    first, second, third, fourth, fifth = listed
    assert (second.score, second.band, second.state_label) == (38, "stalling", "Active")
    assert second.reason == f"no two-way contact for 94 days: {MINUS}20"
    assert second.owner_name == "Olga Officer"
    assert third.reason == f"2 overdue follow-ups, the oldest due 1 Mar 2027: {MINUS}8"
    # Approached for 38 days (SLA 30).
    assert (third.band, third.past_sla, third.days_in_state) == ("at_risk", True, 38)
    assert (fourth.score, fourth.band, fourth.past_sla, fourth.days_in_state) == (
        85,
        "thriving",
        True,
        20,
    )
    assert fourth.reason == (f"6 days over the 14-day limit of the “Researched” stage: {MINUS}5")
    assert (fifth.score, fifth.band, fifth.days_in_state) == (None, None, 30)
    assert fifth.reason == "9 days over the 21-day limit of the “Identified” stage"
    assert first.organisation_name.startswith("Test Organisation")

    by_country = dashboard(filters(country="PT")).at_risk
    assert [r.partnership_id for r in by_country] == [elsewhere.id]
    by_sector = dashboard(filters(sector="C")).at_risk
    assert elsewhere.id not in [r.partnership_id for r in by_sector]
    by_owner = dashboard(filters(officer_id=officer.id)).at_risk
    assert [r.partnership_id for r in by_owner] == [stalling.id, at_risk.id, late.id, unscored.id]
    two = live.at_risk(PERIOD, NOW, current_config(), limit=2)
    assert [r.partnership_id for r in two] == [elsewhere.id, stalling.id]
    assert live.LIST_LIMIT == 20


# --- expiring agreements ---------------------------------------------------------------------


def _agreement(officer, state, expires_on, placement_record=None, organisation=None):
    wf = workflow.current_pack().for_record("agreement")
    if placement_record is not None:
        subject = {"placement_id": placement_record.id, "kind": AgreementKind.PLACEMENT}
        organisation_id = placement_record.organisation_id
    else:
        record = partnership(officer, at("2026-01-01"), organisation=organisation)
        subject = {"partnership_id": record.id, "kind": AgreementKind.PARTNERSHIP}
        organisation_id = record.organisation_id
    agreement = Agreement(
        **subject,
        organisation_id=organisation_id,
        officer_id=officer.id,
        expires_on=expires_on,
        workflow_name=wf.name,
        workflow_version=wf.version,
        state=state,
    )
    db.session.add(agreement)
    db.session.commit()
    return agreement


def test_expiring_agreements_in_force_soonest_first(ctx, officer):
    bruno = make_user(Role.OFFICER, name="Bruno Officer")
    programme = programme_with_outcomes()
    host = make_organisation(officer, legal_name="Schmidt Metall GmbH")
    student = learner(officer, programme, last_name="Silva")
    hosted = placement(student, dt.date(2027, 2, 1), ("requested", "matched"), organisation=host)
    today = dt.date(2027, 3, 15)  # in Brussels at NOW
    placed = _agreement(officer, "signed", today + dt.timedelta(days=17), hosted)
    memo = _agreement(
        officer, "signed", today + dt.timedelta(days=5), organisation=make_organisation(officer)
    )
    last_day = _agreement(
        bruno,
        "signed",
        today + dt.timedelta(days=90),
        organisation=make_organisation(bruno, country="PT"),
    )
    _agreement(officer, "signed", today + dt.timedelta(days=91))  # too far
    _agreement(officer, "signed", today - dt.timedelta(days=1))  # expired yesterday
    _agreement(officer, "terminated", today + dt.timedelta(days=10))
    _agreement(officer, "superseded", today + dt.timedelta(days=10))
    _agreement(officer, "partially_signed", today + dt.timedelta(days=10))

    listed = dashboard().expiring_agreements

    assert [(a.agreement_id, a.days_left) for a in listed] == [
        (memo.id, 5),
        (placed.id, 17),
        (last_day.id, 90),
    ]
    assert listed[1].title == f"Placement agreement: {student.first_name} Silva"
    assert listed[1].organisation_name == "Schmidt Metall GmbH"
    assert listed[0].title.startswith("Partnership memorandum: Test Organisation")
    assert {a.state_label for a in listed} == {"Signed"}
    assert listed[1].expires_on == dt.date(2027, 4, 1)
    assert service.EXPIRING_DAYS == 90
    # A programme keeps its placement agreements; memoranda belong to no programme.
    chosen = dashboard(filters(programme_id=programme.id)).expiring_agreements
    assert [a.agreement_id for a in chosen] == [placed.id]
    mine = dashboard(filters(officer_id=bruno.id)).expiring_agreements
    assert [a.agreement_id for a in mine] == [last_day.id]
    portugal = dashboard(filters(country="PT")).expiring_agreements
    assert [a.agreement_id for a in portugal] == [last_day.id]


# --- inclusion -------------------------------------------------------------------------------


@pytest.fixture
def numbers_inclusion(ctx, officer):
    """A programme whose learners (three with support needs) were placed or not, hand-counted:
    6 learners in a cohort overlapping the period, 3 with needs; 3 placed, 1 with needs."""
    programme = programme_with_outcomes(name="Aa Mechatronics")
    earlier = make_cohort(programme, year=2025)  # September 2025 to July 2026
    host = make_organisation(officer)
    needs = "Dyslexia: SECRET-NEEDS-TEXT-42"

    def placed(person, start, path=("requested", "matched", "confirmed")):
        return placement(person, start, path, organisation=host)

    twice = learner(officer, programme, support_needs=needs)
    placed(twice, dt.date(2026, 11, 2))
    placed(twice, dt.date(2027, 2, 1))  # a second placement: still one learner placed
    declined = learner(officer, programme, support_needs=needs)
    placed(declined, dt.date(2026, 12, 1), ("requested", "matched", "declined"))
    learner(officer, programme, support_needs=needs)  # never placed
    placed(learner(officer, programme), dt.date(2026, 12, 7))
    before_and_in = learner(officer, programme)
    placed(before_and_in, dt.date(2026, 9, 14))  # before the period
    placed(before_and_in, dt.date(2027, 1, 4))
    cancelled = learner(officer, programme)
    placed(cancelled, dt.date(2027, 1, 11), ("requested", "matched", "cancelled"))
    archived = learner(officer, programme)
    placed(archived, dt.date(2026, 12, 14))
    archived.archived_at = NOW - dt.timedelta(days=1)
    old_year = learner(officer, programme, cohort=earlier, support_needs=needs)
    placed(old_year, dt.date(2026, 10, 19))  # outside its own cohort's dates: not counted
    db.session.commit()
    empty = programme_with_outcomes(name="Bb Bakery")
    gone = programme_with_outcomes(name="Cc Archived")
    gone.archived_at = NOW - dt.timedelta(days=30)
    db.session.commit()
    return programme, empty, needs


def test_inclusion_counts_learners_once_and_hides_small_and_derivable_counts(
    app, numbers_inclusion, monkeypatch
):
    programme, empty, _needs = numbers_inclusion
    monkeypatch.setitem(app.config, "CRM_DASHBOARD_MIN_GROUP", 2)

    built = dashboard()

    assert built.min_group_size == 2
    assert built.inclusion == [
        # 1 learner with needs placed is below 2: hidden, and so is its rate.
        InclusionRow(programme.id, programme.name, 6, 3, 0.5, 3, None, None),
        InclusionRow(empty.id, empty.name, None, None, None, None, None, None),
    ]
    monkeypatch.setitem(app.config, "CRM_DASHBOARD_MIN_GROUP", 5)
    row = dashboard().inclusion[0]
    assert (row.learners, row.placed, row.learners_with_needs, row.placed_with_needs) == (
        6,
        None,
        None,
        None,
    )
    assert dashboard().min_group_size == 5
    chosen = dashboard(filters(programme_id=empty.id)).inclusion
    assert [r.programme_id for r in chosen] == [empty.id]


def test_inclusion_follows_the_officer_and_the_period(app, numbers_inclusion, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_DASHBOARD_MIN_GROUP", 1)
    nobody = make_user(Role.OFFICER)

    none_of_theirs = dashboard(filters(officer_id=nobody.id)).inclusion[0]
    assert (none_of_theirs.learners, none_of_theirs.placed) == (None, None)  # 0 is below 1
    january = filters(period_from=dt.date(2027, 1, 1), period_to=dt.date(2027, 1, 31))
    row = dashboard(january).inclusion[0]
    # In January: the learner placed in September and again in January counts once.
    assert (row.learners, row.placed, row.learners_with_needs, row.placed_with_needs) == (
        6,
        1,
        3,
        None,  # 0 with needs placed in January
    )


def test_support_needs_never_leave_the_service(app, numbers_inclusion, monkeypatch):
    _programme, _empty, needs = numbers_inclusion
    monkeypatch.setitem(app.config, "CRM_DASHBOARD_MIN_GROUP", 1)
    built = dashboard()
    assert "SECRET-NEEDS-TEXT" not in repr(built)
    stored = db.session.execute(sa.select(dashboard_facts)).all()
    assert stored and "SECRET-NEEDS-TEXT" not in repr(stored)
    assert needs.endswith("SECRET-NEEDS-TEXT-42")


@pytest.mark.parametrize(
    ("counts", "shown"),
    [
        # learners, placed, with needs, placed with needs -> as shown (rates follow)
        ((40, 25, 12, 6), (40, 25, 12, 6)),
        ((4, 3, 2, 1), (None, None, None, None)),  # every count below 5
        ((20, 12, 9, 8), (20, 12, 9, None)),  # 1 learner with needs not placed
        ((20, 12, 17, 10), (20, 12, None, None)),  # 3 without needs; 2 placed without
        ((30, 22, 10, 5), (30, 22, 10, None)),  # 3 without needs and not placed
        ((30, 20, 10, 5), (30, 20, 10, 5)),  # every difference is 5 or more
        ((12, 0, 0, 0), (12, None, None, None)),  # zero is below 5 too
        ((10, 4, 6, 0), (10, None, None, None)),  # 4 learners without needs
        ((25, 25, 6, 6), (25, 25, 6, None)),  # every learner with needs placed
    ],
)
def test_protection_hides_small_counts_and_counts_that_reveal_a_small_group(counts, shown):
    row = protect(7, "Programme", InclusionCounts(*counts), minimum=5)
    assert (row.learners, row.placed, row.learners_with_needs, row.placed_with_needs) == shown
    learners, placed, with_needs, placed_with_needs = shown
    expected_rate = placed / learners if placed is not None and learners else None
    assert row.placed_rate == expected_rate
    needs_rate = (
        placed_with_needs / with_needs if placed_with_needs is not None and with_needs else None
    )
    assert row.placed_with_needs_rate == needs_rate


# --- notes -----------------------------------------------------------------------------------


def test_notes_say_which_sections_ignore_a_filter(ctx, officer):
    programme = programme_with_outcomes()
    assert dashboard().notes == []
    by_programme = dashboard(filters(programme_id=programme.id)).notes
    assert len(by_programme) == 2
    assert "partnership funnel" in by_programme[0] and "workload" in by_programme[0]
    assert "memoranda" in by_programme[1]
    by_place = dashboard(filters(country="DE")).notes
    assert len(by_place) == 1 and "inclusion" in by_place[0].lower()
    assert dashboard(filters(sector="C")).notes == by_place
    assert dashboard(filters(officer_id=officer.id)).notes == []


# --- statements ------------------------------------------------------------------------------


def _world(officer, size):
    """`size` of everything: partnerships, placements with evaluations, follow-ups."""
    programme = programme_with_outcomes("One", "Two")
    host = make_organisation(officer, nace_code="25", country="DE")
    one, two = outcomes_of(programme)
    for n in range(size):
        partnership(officer, at(f"2026-1{n % 3}-0{n % 9 + 1}"), PARTNERSHIP_PATH)
        record = placement(
            learner(officer, programme),
            dt.date(2026, 11, 1 + n),
            ("requested", "matched"),
            organisation=host,
        )
        evaluation(record, at("2027-01-05"), 3, {one: 4, two: 2})
        _follow_up(officer, NOW - dt.timedelta(days=n))
    return programme


def test_build_dashboard_sends_the_same_statements_whatever_the_data(
    ctx, officer, count_statements
):
    def statements_for(programme):
        counted = {}
        for name, chosen in {
            "none": PERIOD,
            "programme": filters(programme_id=programme.id),
            "officer": filters(officer_id=officer.id),
            "two": filters(sector="C", country="DE"),
            "four": filters(
                programme_id=programme.id, sector="C", country="DE", officer_id=officer.id
            ),
        }.items():
            with count_statements() as counter:
                service.build_dashboard(chosen, NOW)
            counted[name] = counter.count
        return counted

    small = _world(officer, 1)
    service.refresh(NOW)
    with_little = statements_for(small)
    larger = _world(officer, 4)
    service.refresh(NOW)
    with_more = statements_for(larger)

    assert with_little == with_more
    assert max(with_more.values()) <= 12


def test_the_first_dashboard_refreshes_when_nothing_was_ever_counted(ctx, officer):
    partnership(officer, at("2026-11-03"))
    built = service.build_dashboard(PERIOD, NOW)
    assert built.computed_at == NOW
    assert built.partnership_funnel.started == 1
    again = service.build_dashboard(PERIOD, NOW + dt.timedelta(minutes=5))
    assert again.computed_at == NOW  # the stored numbers, not counted again


# --- the demo data set, counted another way --------------------------------------------------


def _demo_filter_sets(records: Recount, period: Filters) -> list[Filters]:
    """No filter, each programme, each officer, the commonest sector and country, and
    mixes of two to four filters."""
    sectors = Counter(sector_of(o) for o in records.organisations.values())
    countries = Counter(o.country for o in records.organisations.values())
    sector, country = sectors.most_common(1)[0][0], countries.most_common(1)[0][0]
    programmes = [p.id for p in records.programmes]
    officers = sorted({p.officer_id for p in records.placements})
    sets = [period, replace(period, sector=sector), replace(period, country=country)]
    sets += [replace(period, programme_id=p) for p in programmes]
    sets += [replace(period, officer_id=o) for o in officers]
    sets += [
        replace(period, programme_id=programmes[0], country=country),
        replace(period, officer_id=officers[0], sector=sector),
        replace(period, programme_id=programmes[0], officer_id=officers[0]),
        replace(
            period,
            programme_id=programmes[0],
            sector=sector,
            country=country,
            officer_id=officers[0],
        ),
        replace(period, period_from=period.period_to.replace(day=1)),  # one month
    ]
    return sets


def _same(shown: dict, counted: dict) -> bool:
    """The same keys, counts and (to rounding) averages: shown (count, average) against
    counted (count, average)."""
    return shown.keys() == counted.keys() and all(
        shown[k][0] == counted[k][0] and shown[k][1] == pytest.approx(counted[k][1]) for k in shown
    )


def test_dashboard_numbers_against_hand_counted_demo_data(app, ctx, monkeypatch):
    load_demo()
    db.session.commit()
    monkeypatch.setitem(app.config, "CRM_DASHBOARD_MIN_GROUP", 2)
    now = utcnow()
    service.refresh(now)
    records = Recount.load()
    period = service.default_filters(provider_today(now))
    assert records.partnerships and records.placements

    for chosen in _demo_filter_sets(records, period):
        built = service.build_dashboard(chosen, now)
        for funnel in (built.partnership_funnel, built.placement_funnel):
            started, expected = records.funnel(funnel.workflow, chosen)
            assert (funnel.started, stages(funnel)) == (started, expected), chosen
        assert {m.month: m.count for m in built.placements_per_month if m.count} == {
            month: n
            for month, n in records.per_month(chosen).items()
            if built.placements_per_month[0].month <= month <= built.placements_per_month[-1].month
        }, chosen
        satisfaction = {m.month: (m.evaluations, m.average) for m in built.satisfaction}
        shown = {month: v for month, v in satisfaction.items() if v[0]}
        assert _same(shown, records.satisfaction(chosen)), chosen
        skills = {(s.programme_id, s.outcome_id): (s.ratings, s.average) for s in built.skills_gap}
        assert _same(skills, records.skills(chosen)), chosen
        ranks = [(s.average, -s.ratings) for s in built.skills_gap]
        assert ranks == sorted(ranks)
        steady = current_config().bands.steady
        assert [r.partnership_id for r in built.at_risk] == records.at_risk(chosen, now, steady)
        today = provider_today(now)
        expiring = records.expiring(chosen, today, service.EXPIRING_DAYS)
        assert [a.agreement_id for a in built.expiring_agreements] == expiring, chosen
        counts = records.inclusion(chosen)
        assert built.inclusion == [
            protect(
                row.programme_id,
                row.programme_name,
                counts.get(row.programme_id, InclusionCounts()),
                2,
            )
            for row in built.inclusion
        ], chosen
        listed = {p.id for p in records.programmes if p.archived_at is None}
        if chosen.programme_id:
            listed &= {chosen.programme_id}
        assert {row.programme_id for row in built.inclusion} == listed

    workload = {
        w.officer_id: (w.open_follow_ups, w.overdue_follow_ups, w.past_sla)
        for w in service.build_dashboard(period, now).workload
    }
    assert workload == records.workload(now)
    assert any(sum(counts) for counts in workload.values())
