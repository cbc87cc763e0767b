"""Recomputing scores from the database: every input, final stages, the daily history, the
jobs, and a fixed number of statements whatever the number of partnerships."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.db import utcnow
from crm.extensions import db
from crm.health import jobs
from crm.health.score import ComponentScore
from crm.health.service import provider_today, recompute, recompute_ids
from crm.links.models import LinkPurpose
from crm.partnerships.models import Partnership
from tests.factories import make_activity
from tests.health.support import (
    active_partnership,
    add_evaluation,
    add_follow_up,
    add_hosted,
    add_link,
    add_memorandum,
    call,
    clear_stale,
    days_ago,
    history,
    is_stale,
    lost_by_component,
    stored,
)
from tests.workflow.support import make_partnership


def reasons(partnership: Partnership) -> list[str]:
    components = stored(partnership).health_components or []
    return [ComponentScore.from_json(c).text_with_points for c in components]


def test_every_input_is_read_from_the_database(ctx, officer):
    scored = active_partnership(officer, pledge=2)
    call(scored, days_ago(94))
    make_activity(scored.organisation, officer, ActivityKind.NOTE, occurred_at=days_ago(1))
    add_memorandum(scored, "signed", utcnow().date() + dt.timedelta(days=60))
    hosted = add_hosted(scored, 1)
    add_hosted(scored, 1, state="requested")  # not hosted
    add_evaluation(scored, hosted[0], satisfaction=3)
    add_link(scored, sent=days_ago(20), answered=days_ago(12))
    add_link(scored, sent=days_ago(40), expires=days_ago(26))  # expired unanswered
    add_link(scored, sent=days_ago(20), purpose=LinkPurpose.LEARNER_FEEDBACK, expires=days_ago(1))
    add_link(scored, sent=days_ago(800), expires=days_ago(786))  # too long ago
    add_follow_up(scored, due=days_ago(3))
    add_follow_up(scored, due=days_ago(-3))  # not due yet
    elsewhere = active_partnership(officer)  # nothing at all

    run = recompute()
    db.session.commit()

    assert run.scored >= 2
    assert lost_by_component(scored.partnership) == {
        "contact": 20,
        "stage": 0,
        "agreement": 5,
        "placements": 5,
        "satisfaction": 5,
        "responsiveness": 9,
        "follow_ups": 4,
    }
    assert stored(scored.partnership).health_score == 100 - 48
    expiry = utcnow().date() + dt.timedelta(days=60)
    due = days_ago(3).date()
    assert reasons(scored.partnership) == [
        "no two-way contact for 94 days: \N{MINUS SIGN}20",
        "day 100 of 365 in the “Active” stage: 0",
        f"memorandum expires in 60 days, on {expiry.day} {expiry:%b} {expiry.year}: "
        "\N{MINUS SIGN}5",
        "1 of 2 pledged placements hosted in the last 12 months: \N{MINUS SIGN}5",
        "average employer satisfaction 3.0 of 5 from 1 evaluation: \N{MINUS SIGN}5",
        "1 link answered, after 8.0 days on average; 1 expired unanswered: \N{MINUS SIGN}9",
        f"1 overdue follow-up, due {due.day} {due:%b} {due.year}: \N{MINUS SIGN}4",
    ]
    assert reasons(elsewhere.partnership) == [
        "no two-way contact since the partnership started 0 days ago: 0",
        "day 100 of 365 in the “Active” stage: 0",
        "no signed memorandum: \N{MINUS SIGN}15",
        "0 of 2 pledged placements hosted in the last 12 months: \N{MINUS SIGN}15",
        "no employer evaluations in the last 24 months: 0",
        "no links answered or expired in the last 12 months: 0",
        "no overdue follow-ups: 0",
    ]
    assert stored(elsewhere.partnership).health_score == 70


def test_an_expired_memorandum_loses_the_whole_weight(ctx, officer):
    scored = active_partnership(officer)
    add_memorandum(scored, "expired", dt.date(2026, 1, 31))
    recompute_ids([scored.partnership.id])
    assert lost_by_component(scored.partnership)["agreement"] == 15
    assert "memorandum expired on 31 Jan 2026: \N{MINUS SIGN}15" in reasons(scored.partnership)


def test_a_partnership_in_a_final_stage_has_no_score_and_no_history(ctx, officer):
    closed = make_partnership(officer, "closed")
    run = recompute_ids([closed.id])
    db.session.commit()
    assert (run.scored, run.unscored, run.history_rows) == (0, 1, 0)
    row = stored(closed)
    assert (row.health_score, row.health_components) == (None, None)
    assert row.health_computed_at is not None
    assert history(closed) == []


def test_one_history_row_per_partnership_per_day(ctx, officer):
    scored = active_partnership(officer)
    now = utcnow()
    recompute_ids([scored.partnership.id], now=now)
    first = stored(scored.partnership).health_score
    add_follow_up(scored, due=days_ago(1))  # -4
    recompute_ids([scored.partnership.id], now=now + dt.timedelta(minutes=5))
    today = provider_today(now)
    assert history(scored.partnership) == [(today, first - 4)]

    recompute_ids([scored.partnership.id], now=now + dt.timedelta(days=1))
    assert [day for day, _score in history(scored.partnership)] == [
        today,
        provider_today(now + dt.timedelta(days=1)),
    ]


def test_the_day_is_the_providers(ctx, officer):
    scored = active_partnership(officer)
    # 23:30 UTC on 1 March is already 2 March in Brussels.
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    recompute_ids([scored.partnership.id], now=late)
    assert [day for day, _score in history(scored.partnership)] == [dt.date(2026, 3, 2)]


def test_recomputing_clears_only_marks_made_before_it_started(ctx, officer):
    scored = active_partnership(officer)
    started = utcnow()
    db.session.execute(
        sa.update(Partnership.__table__)
        .where(Partnership.__table__.c.id == scored.partnership.id)
        .values(health_stale_at=started + dt.timedelta(seconds=1))
    )
    recompute_ids([scored.partnership.id], now=started, stale_before=started)
    assert is_stale(scored.partnership)  # changed while the recomputation ran
    recompute_ids([scored.partnership.id], stale_before=started + dt.timedelta(seconds=2))
    assert not is_stale(scored.partnership)


def test_the_updated_at_of_a_partnership_is_not_touched(ctx, officer):
    scored = active_partnership(officer)
    before = db.session.scalar(
        sa.select(Partnership.updated_at).where(Partnership.id == scored.partnership.id)
    )
    call(scored, days_ago(1))  # marks it stale
    recompute_ids([scored.partnership.id])
    after = db.session.scalar(
        sa.select(Partnership.updated_at).where(Partnership.id == scored.partnership.id)
    )
    assert after == before


# --- the jobs --------------------------------------------------------------------------------


def test_the_frequent_job_recomputes_the_stale_ones_only(ctx, officer):
    stale = active_partnership(officer)
    quiet = active_partnership(officer)
    clear_stale(stale.partnership, quiet.partnership)
    call(stale, days_ago(2))
    assert is_stale(stale.partnership) and not is_stale(quiet.partnership)

    run = jobs.recompute_stale()

    assert (run.scored, run.batches) == (1, 1)
    assert stored(stale.partnership).health_score is not None
    assert stored(quiet.partnership).health_score is None
    assert not is_stale(stale.partnership)
    assert jobs.recompute_stale().scored == 0  # nothing left


def test_the_nightly_job_recomputes_what_was_not_computed_today(ctx, officer):
    done = active_partnership(officer)
    due = active_partnership(officer)
    never = active_partnership(officer)
    now = utcnow()
    recompute_ids([done.partnership.id], now=now)
    recompute_ids([due.partnership.id], now=now - dt.timedelta(days=1))
    db.session.commit()
    computed_before = stored(done.partnership).health_computed_at

    run = jobs.recompute_nightly(now=now)

    assert run.scored >= 2
    assert stored(done.partnership).health_computed_at == computed_before
    assert stored(due.partnership).health_computed_at == now
    assert stored(never.partnership).health_computed_at == now
    assert len(history(due.partnership)) == 2
    assert jobs.recompute_nightly(now=now).scored == 0


def test_the_nightly_job_works_in_batches(ctx, officer, monkeypatch):
    partnerships = [active_partnership(officer).partnership for _ in range(5)]
    monkeypatch.setattr(jobs, "NIGHTLY_BATCH", 2)
    run = jobs.recompute_nightly()
    assert run.batches >= 3
    assert all(stored(p).health_score is not None for p in partnerships)


# --- set-based --------------------------------------------------------------------------------


def test_recomputing_sends_as_many_statements_for_many_partnerships_as_for_one(
    ctx, officer, count_statements
):
    def statements() -> int:
        with count_statements() as counter:
            recompute()
        return counter.count

    first = active_partnership(officer)
    call(first, days_ago(3))
    add_follow_up(first, due=days_ago(1))
    few = statements()
    for n in range(6):
        more = active_partnership(officer)
        call(more, days_ago(n))
        add_hosted(more, 1)
        add_follow_up(more, due=days_ago(n + 1))
    assert statements() == few
