"""The health score on the pages: the partnership's score, breakdown and 12-month trend; the
list and the board sorted and filtered by it."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from crm.db import utcnow
from crm.extensions import db
from crm.health.models import PartnershipHealthDay
from crm.health.service import provider_today, recompute
from crm.partnerships.models import Partnership
from tests.core.helpers import section, text
from tests.factories import make_organisation
from tests.health.support import active_partnership, add_follow_up, add_memorandum, call, days_ago
from tests.partnerships.pages import board_columns, plain
from tests.workflow.support import make_partnership


def scores(**by_name: int) -> None:
    """Give partnerships of organisations named so a score directly (a quick arrangement)."""
    for name, score in by_name.items():
        db.session.execute(
            sa.update(Partnership.__table__)
            .where(
                Partnership.__table__.c.organisation_id.in_(
                    sa.text(f"(SELECT id FROM organisations WHERE legal_name = '{name}')")
                )
            )
            .values(health_score=score, health_components=[])
        )
    db.session.commit()


def listed(html: str) -> list[str]:
    table = section(html, "partnerships", "table")
    return [
        plain(name)
        for name in re.findall(r'<a href="/partnerships/\d+" class="fw-medium">(.*?)</a>', table)
    ]


def test_the_partnership_page_shows_score_band_breakdown_and_trend(ctx, login_as, officer):
    scored = active_partnership(officer)
    call(scored, days_ago(94))
    add_memorandum(scored, "signed", None)
    add_follow_up(scored, due=days_ago(2))
    recompute()
    today = provider_today(utcnow())
    for back, score in ((200, 90), (199, 85), (40, 70), (1, 66)):
        db.session.add(
            PartnershipHealthDay(
                partnership_id=scored.partnership.id,
                day=today - dt.timedelta(days=back),
                score=score,
            )
        )
    db.session.commit()

    html = text(login_as(officer).get(f"/partnerships/{scored.partnership.id}"))
    panel = section(html, "health", "section")
    score = plain(section(panel, "health-score", "p"))
    # 100 - 20 (contact) - 15 (no placements hosted of 2 pledged) - 4 (a follow-up) = 61
    assert score == "61 / 100 Health score 61 · steady"
    breakdown = plain(section(panel, "health-breakdown", "table"))
    assert "Two-way contact \N{MINUS SIGN}20 of 20 no two-way contact for 94 days" in breakdown
    assert "Memorandum 0 of 15 memorandum signed, with no expiry date" in breakdown
    assert "Overdue follow-ups \N{MINUS SIGN}4 of 10 1 overdue follow-up, due" in breakdown
    # The header repeats the score with its band in words.
    assert "61 · steady" in plain(html[: html.index('id="health"')])

    svg = section(panel, "health-trend", "svg")
    assert "<title" in svg and "Health score over the last 12 months" in svg
    lines = re.findall(r'<polyline class="health-line" points="([^"]+)"', svg)
    assert len(lines) == 2  # 200-199 days ago, then 40 ... today (a gap breaks the line)
    assert len(lines[0].split()) == 2
    assert len(re.findall(r'<circle class="health-dot"', svg)) == 1  # 40 days ago, alone
    assert "style=" not in panel  # the CSP forbids inline styles
    months = plain(section(panel, "health-trend-table", "details"))
    assert "The figures per month" in months
    days = {today - dt.timedelta(days=back): s for back, s in ((40, 70), (1, 66), (0, 61))}
    this_month = [s for day, s in sorted(days.items()) if day.month == today.month]
    average = round(sum(this_month) / len(this_month))
    assert (
        f"{today:%B} {today.year} {average} {min(this_month)} {max(this_month)} {this_month[-1]}"
    ) in months  # month, average, lowest, highest, last


def test_a_closed_partnership_says_it_has_no_score(ctx, login_as, officer):
    closed = make_partnership(officer, "closed")
    recompute()
    db.session.commit()
    html = text(login_as(officer).get(f"/partnerships/{closed.id}"))
    assert "No health score: the partnership is in a final stage." in plain(html)
    assert 'id="health-breakdown"' not in html


def test_a_new_partnership_says_its_score_is_coming(ctx, login_as, officer):
    fresh = make_partnership(officer)
    html = text(login_as(officer).get(f"/partnerships/{fresh.id}"))
    assert "The health score has not been computed yet; it appears within a few minutes." in (
        plain(html)
    )


def test_reasons_are_escaped(ctx, login_as, officer):
    scored = active_partnership(officer)
    db.session.execute(
        sa.update(Partnership.__table__)
        .where(Partnership.__table__.c.id == scored.partnership.id)
        .values(
            health_score=50,
            health_components=[
                {
                    "key": "stage",
                    "weight": 15,
                    "lost": 0,
                    "reason": "stage_no_sla",
                    "params": {"stage": "<script>alert(1)</script>"},
                }
            ],
        )
    )
    db.session.commit()
    html = text(login_as(officer).get(f"/partnerships/{scored.partnership.id}"))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_list_sorts_by_score_and_filters_by_band(ctx, login_as, manager, officer):
    for name in ("Alpha AG", "Beta BV", "Gamma GmbH", "Delta SA"):
        from tests.factories import make_organisation

        make_partnership(
            officer, "active", organisation=make_organisation(officer, legal_name=name)
        )
    scores(**{"Alpha AG": 85, "Beta BV": 35, "Gamma GmbH": 55})  # Delta: not scored
    client = login_as(manager)

    assert listed(text(client.get("/partnerships/?sort=health"))) == [
        "Beta BV",
        "Gamma GmbH",
        "Alpha AG",
        "Delta SA",
    ]
    assert listed(text(client.get("/partnerships/?sort=-health"))) == [
        "Alpha AG",
        "Gamma GmbH",
        "Beta BV",
        "Delta SA",
    ]
    assert listed(text(client.get("/partnerships/?band=stalling"))) == ["Beta BV"]
    assert listed(text(client.get("/partnerships/?band=at_risk"))) == ["Gamma GmbH"]
    assert listed(text(client.get("/partnerships/?band=thriving&sort=health"))) == ["Alpha AG"]
    page = text(client.get("/partnerships/?band=nonsense"))
    assert len(listed(page)) == 4  # an unknown band is ignored
    table = plain(section(page, "partnerships", "table"))
    assert "85 · thriving" in table and "35 · stalling" in table and "not scored" in table
    form = section(page, "band", "select")
    assert "at risk (40–59)" in plain(form)


def test_the_board_filters_by_band_and_orders_cards_by_score(ctx, login_as, manager, officer):
    for name in ("Alpha AG", "Beta BV", "Gamma GmbH"):
        make_partnership(
            officer,
            "active",
            entered_at=days_ago({"Alpha AG": 30, "Beta BV": 20, "Gamma GmbH": 10}[name]),
            organisation=make_organisation(officer, legal_name=name),
        )
    scores(**{"Alpha AG": 85, "Beta BV": 35, "Gamma GmbH": 38})
    client = login_as(manager)

    by_time = board_columns(text(client.get("/partnerships/board")))["active"]
    assert by_time.cards == ["Alpha AG", "Beta BV", "Gamma GmbH"]
    by_score = board_columns(text(client.get("/partnerships/board?sort=health")))["active"]
    assert by_score.cards == ["Beta BV", "Gamma GmbH", "Alpha AG"]
    stalling = board_columns(text(client.get("/partnerships/board?band=stalling")))
    assert stalling["active"].count == 2
    assert stalling["active"].cards == ["Beta BV", "Gamma GmbH"]
    assert sum(c.count for c in stalling.values()) == 2
