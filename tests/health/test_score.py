"""The score's components on constructed cases: points lost and the reason a person reads.

No database: the inputs are built here. Reasons read in British English, the default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from crm.health.config import load_config, parse_text
from crm.health.score import (
    ComponentScore,
    HealthInputs,
    Memorandum,
    points_lost,
    reason_text,
    score_partnership,
)
from tests.workflow.support import PACK_DIR, PARTNERSHIP

CONFIG = load_config(PACK_DIR).config
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def inputs(**changes: Any) -> HealthInputs:
    """An active partnership doing well on every count, with some fields changed."""
    base = HealthInputs(
        partnership_id=1,
        state="active",
        state_entered_at=days_ago(100),
        started_at=days_ago(400),
        last_two_way_at=days_ago(5),
        memorandum=Memorandum(signed=True, expires_on=TODAY + dt.timedelta(days=400)),
        capacity_pledge=2,
        capacity_period="year",
        placements_hosted=2,
        evaluations=2,
        satisfaction_total=9,
        links_answered=2,
        answer_days_total=3.0,
    )
    return dataclasses.replace(base, **changes)


def component(key: str, **changes: Any) -> ComponentScore:
    health = score_partnership(inputs(**changes), CONFIG, PARTNERSHIP, NOW, TODAY)
    return next(c for c in health.components if c.key == key)


# (component, changed inputs, points lost, the reason as read)
CASES: dict[str, tuple[str, dict[str, Any], int, str]] = {
    # Two-way contact: full within 30 days, -5 after 30, -10 after 60, -20 after 90.
    "contact today": ("contact", {"last_two_way_at": days_ago(0.2)}, 0, "two-way contact today"),
    "contact a day ago": (
        "contact",
        {"last_two_way_at": days_ago(1)},
        0,
        "last two-way contact 1 day ago",
    ),
    "contact 30 days ago": (
        "contact",
        {"last_two_way_at": days_ago(30)},
        0,
        "last two-way contact 30 days ago",
    ),
    "contact 31 days ago": (
        "contact",
        {"last_two_way_at": days_ago(31)},
        5,
        "no two-way contact for 31 days",
    ),
    "contact 61 days ago": (
        "contact",
        {"last_two_way_at": days_ago(61)},
        10,
        "no two-way contact for 61 days",
    ),
    "contact 94 days ago": (
        "contact",
        {"last_two_way_at": days_ago(94)},
        20,
        "no two-way contact for 94 days",
    ),
    "never, partnership young": (
        "contact",
        {"last_two_way_at": None, "started_at": days_ago(1), "state": "approached"},
        0,
        "no two-way contact since the partnership started 1 day ago",
    ),
    "never, partnership old": (
        "contact",
        {"last_two_way_at": None, "started_at": days_ago(200)},
        20,
        "no two-way contact since the partnership started 200 days ago",
    ),
    "contact not counted while identified": (
        "contact",
        {"state": "identified", "last_two_way_at": None},
        0,
        "not counted in the “Identified” stage",
    ),
    # Stage progress against the SLA (active: 365 days; approached: 30).
    "within the SLA": (
        "stage",
        {"state": "approached", "state_entered_at": days_ago(12)},
        0,
        "day 12 of 30 in the “Approached” stage",
    ),
    "on the SLA's last day": (
        "stage",
        {"state": "approached", "state_entered_at": days_ago(30)},
        0,
        "day 30 of 30 in the “Approached” stage",
    ),
    "a day over": (
        "stage",
        {"state": "approached", "state_entered_at": days_ago(31)},
        5,
        "1 day over the 30-day limit of the “Approached” stage",
    ),
    "15 days over": (
        "stage",
        {"state": "approached", "state_entered_at": days_ago(45)},
        10,
        "15 days over the 30-day limit of the “Approached” stage",
    ),
    "31 days over": (
        "stage",
        {"state": "approached", "state_entered_at": days_ago(61)},
        15,
        "31 days over the 30-day limit of the “Approached” stage",
    ),
    # The memorandum (counted when active, under review, dormant).
    "valid for long": ("agreement", {}, 0, "memorandum valid until 20 Jul 2027"),
    "expiring within 90 days": (
        "agreement",
        {"memorandum": Memorandum(signed=True, expires_on=TODAY + dt.timedelta(days=60))},
        5,
        "memorandum expires in 60 days, on 14 Aug 2026",
    ),
    "expiring within 30 days": (
        "agreement",
        {"memorandum": Memorandum(signed=True, expires_on=TODAY + dt.timedelta(days=1))},
        10,
        "memorandum expires in 1 day, on 16 Jun 2026",
    ),
    "expires today": (
        "agreement",
        {"memorandum": Memorandum(signed=True, expires_on=TODAY)},
        10,
        "memorandum expires today",
    ),
    "signed without expiry": (
        "agreement",
        {"memorandum": Memorandum(signed=True, open_ended=True)},
        0,
        "memorandum signed, with no expiry date",
    ),
    "signed but its date passed": (
        "agreement",
        {"memorandum": Memorandum(signed=True, expires_on=TODAY - dt.timedelta(days=3))},
        15,
        "memorandum expired on 12 Jun 2026",
    ),
    "expired": (
        "agreement",
        {"memorandum": Memorandum(expired_on=dt.date(2026, 1, 31))},
        15,
        "memorandum expired on 31 Jan 2026",
    ),
    "only the date recorded": (
        "agreement",
        {"memorandum": Memorandum(signed_on=dt.date(2025, 9, 1))},
        0,
        "memorandum signed on 1 Sept 2025, no expiry date recorded",
    ),
    "none": ("agreement", {"memorandum": Memorandum()}, 15, "no signed memorandum"),
    "not expected yet": (
        "agreement",
        {"state": "agreeing", "memorandum": Memorandum()},
        0,
        "not counted in the “Agreeing” stage",
    ),
    # Placements hosted in the last 12 months against the pledge.
    "pledge met": ("placements", {}, 0, "2 of 2 pledged placements hosted in the last 12 months"),
    "pledge exceeded": (
        "placements",
        {"placements_hosted": 5},
        0,
        "5 of 2 pledged placements hosted in the last 12 months",
    ),
    "half the pledge": (
        "placements",
        {"capacity_pledge": 4},
        5,
        "2 of 4 pledged placements hosted in the last 12 months",
    ),
    "a third of the pledge": (
        "placements",
        {"capacity_pledge": 6},
        10,
        "2 of 6 pledged placements hosted in the last 12 months",
    ),
    "none of a per-term pledge": (
        "placements",
        {"capacity_pledge": 1, "capacity_period": "term", "placements_hosted": 0},
        15,
        "0 of 3 pledged placements hosted in the last 12 months",
    ),
    "a pledge of one": (
        "placements",
        {"capacity_pledge": 1, "placements_hosted": 1},
        0,
        "1 of 1 pledged placement hosted in the last 12 months",
    ),
    "no pledge": ("placements", {"capacity_pledge": 0}, 0, "no capacity pledge recorded"),
    # Employer satisfaction (1 to 5), average of the last 24 months.
    "satisfied": (
        "satisfaction",
        {},
        0,
        "average employer satisfaction 4.5 of 5 from 2 evaluations",
    ),
    "just below 4": (
        "satisfaction",
        {"evaluations": 3, "satisfaction_total": 11},
        5,
        "average employer satisfaction 3.7 of 5 from 3 evaluations",
    ),
    "3.95 shows as 4.0": (
        "satisfaction",
        {"evaluations": 20, "satisfaction_total": 79},
        0,
        "average employer satisfaction 4.0 of 5 from 20 evaluations",
    ),
    "one unhappy employer": (
        "satisfaction",
        {"evaluations": 1, "satisfaction_total": 1},
        15,
        "average employer satisfaction 1.0 of 5 from 1 evaluation",
    ),
    "no evaluations": (
        "satisfaction",
        {"evaluations": 0, "satisfaction_total": 0},
        0,
        "no employer evaluations in the last 24 months",
    ),
    # Answers to links: average days, and 3 points per link left to expire.
    "quick answers": ("responsiveness", {}, 0, "2 links answered, after 1.5 days on average"),
    "slow answers": (
        "responsiveness",
        {"links_answered": 1, "answer_days_total": 8.25},
        6,
        "1 link answered, after 8.2 days on average",
    ),
    "answers and an expired link": (
        "responsiveness",
        {"links_expired": 1},
        3,
        "2 links answered, after 1.5 days on average; 1 expired unanswered",
    ),
    "only expired links, capped at the weight": (
        "responsiveness",
        {"links_answered": 0, "answer_days_total": 0.0, "links_expired": 4},
        10,
        "4 expired unanswered",
    ),
    "no links": (
        "responsiveness",
        {"links_answered": 0, "answer_days_total": 0.0},
        0,
        "no links answered or expired in the last 12 months",
    ),
    # Overdue follow-ups: -4 from one, -7 from three, -10 from five.
    "none overdue": ("follow_ups", {}, 0, "no overdue follow-ups"),
    "one overdue": (
        "follow_ups",
        {"overdue_follow_ups": 1, "oldest_overdue_at": days_ago(3)},
        4,
        "1 overdue follow-up, due 12 Jun 2026",
    ),
    "three overdue": (
        "follow_ups",
        {"overdue_follow_ups": 3, "oldest_overdue_at": days_ago(20)},
        7,
        "3 overdue follow-ups, the oldest due 26 May 2026",
    ),
    "six overdue": (
        "follow_ups",
        {"overdue_follow_ups": 6, "oldest_overdue_at": days_ago(20)},
        10,
        "6 overdue follow-ups, the oldest due 26 May 2026",
    ),
}


@pytest.mark.parametrize(("key", "changes", "lost", "reason"), CASES.values(), ids=CASES.keys())
def test_component(key: str, changes: dict[str, Any], lost: int, reason: str) -> None:
    scored = component(key, **changes)
    assert (scored.lost, scored.text) == (lost, reason)
    assert scored.weight == getattr(CONFIG.components, key).weight


def test_a_healthy_partnership_scores_100_and_every_component_explains_itself() -> None:
    health = score_partnership(inputs(), CONFIG, PARTNERSHIP, NOW, TODAY)
    assert health.score == 100
    assert [c.key for c in health.components] == [
        "contact",
        "stage",
        "agreement",
        "placements",
        "satisfaction",
        "responsiveness",
        "follow_ups",
    ]
    assert [c.label for c in health.components] == [
        "Two-way contact",
        "Stage progress",
        "Memorandum",
        "Placements hosted",
        "Employer satisfaction",
        "Answers to links",
        "Overdue follow-ups",
    ]
    assert sum(c.weight for c in health.components) == 100


def test_the_score_is_100_minus_every_point_lost_with_the_points_shown() -> None:
    health = score_partnership(
        inputs(
            last_two_way_at=days_ago(94),
            memorandum=Memorandum(),
            overdue_follow_ups=1,
            oldest_overdue_at=days_ago(2),
        ),
        CONFIG,
        PARTNERSHIP,
        NOW,
        TODAY,
    )
    assert health.score == 100 - 20 - 15 - 4
    lost = [c.text_with_points for c in health.components if c.lost]
    assert lost == [
        "no two-way contact for 94 days: \N{MINUS SIGN}20",
        "no signed memorandum: \N{MINUS SIGN}15",
        "1 overdue follow-up, due 13 Jun 2026: \N{MINUS SIGN}4",
    ]
    assert CONFIG.band_of(health.score) == "steady"


def test_everything_wrong_at_once_scores_0_not_less() -> None:
    health = score_partnership(
        inputs(
            state="dormant",
            state_entered_at=days_ago(200),
            last_two_way_at=None,
            memorandum=Memorandum(),
            satisfaction_total=2,
            links_expired=5,
            overdue_follow_ups=9,
            oldest_overdue_at=days_ago(40),
        ),
        CONFIG,
        PARTNERSHIP,
        NOW,
        TODAY,
    )
    lost = {c.key: c.lost for c in health.components}
    assert lost == {
        "contact": 20,
        "stage": 15,
        "agreement": 15,
        "placements": 0,  # not counted while dormant
        "satisfaction": 15,
        "responsiveness": 10,
        "follow_ups": 10,
    }
    assert health.score == 15
    assert CONFIG.band_of(health.score) == "stalling"


def test_a_closed_partnership_has_no_score() -> None:
    health = score_partnership(inputs(state="closed"), CONFIG, PARTNERSHIP, NOW, TODAY)
    assert health.score is None
    assert health.components == ()


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (100, "thriving"),
        (80, "thriving"),
        (79, "steady"),
        (60, "steady"),
        (59, "at_risk"),
        (40, "at_risk"),
        (39, "stalling"),
        (0, "stalling"),
        (None, None),
    ],
)
def test_bands(score: int | None, band: str | None) -> None:
    assert CONFIG.band_of(score) == band


def test_points_are_shown_with_a_minus_sign() -> None:
    assert points_lost(20) == "\N{MINUS SIGN}20"
    assert points_lost(0) == "0"


def test_the_stored_form_reads_back_the_same() -> None:
    scored = component("contact", last_two_way_at=days_ago(94))
    assert ComponentScore.from_json(scored.as_json()) == scored
    assert scored.as_json() == {
        "key": "contact",
        "weight": 20,
        "lost": 20,
        "reason": "contact_none_for",
        "params": {"days": 94},
    }


def test_a_reason_written_by_a_newer_version_shows_its_code() -> None:
    assert reason_text("moon_phase", {}) == "moon_phase"


# --- weights from the file -----------------------------------------------------------------


def custom(text: str) -> Any:
    config, problems = parse_text(text, "custom.yaml")
    assert not problems, problems
    return config


def test_weights_and_steps_come_from_the_file() -> None:
    text = (PACK_DIR / "health.yaml").read_text(encoding="utf-8")
    # Contact weighs 35 and loses everything after 14 days; follow-ups are switched off.
    text = text.replace(
        "  contact:\n    weight: 20\n    states: [approached, needs_analysed, agreeing, active, "
        "under_review, dormant]\n    steps:\n"
        "      - {after_days: 30, points: 5}\n"
        "      - {after_days: 60, points: 10}\n"
        "      - {after_days: 90, points: 20}\n",
        "  contact:\n    weight: 30\n    steps:\n      - {after_days: 14, points: 30}\n",
    ).replace(
        "  follow_ups:\n    weight: 10\n    steps:\n"
        "      - {at_least: 1, points: 4}\n"
        "      - {at_least: 3, points: 7}\n"
        "      - {at_least: 5, points: 10}\n",
        "  follow_ups:\n    weight: 0\n    steps:\n      - {at_least: 1, points: 0}\n",
    )
    config = custom(text)
    health = score_partnership(
        inputs(last_two_way_at=days_ago(15), overdue_follow_ups=8, oldest_overdue_at=days_ago(9)),
        config,
        PARTNERSHIP,
        NOW,
        TODAY,
    )
    contact = next(c for c in health.components if c.key == "contact")
    assert (contact.weight, contact.lost, contact.text) == (
        30,
        30,
        "no two-way contact for 15 days",
    )
    assert "follow_ups" not in {c.key for c in health.components}  # weight 0: not shown
    assert health.score == 70


def test_bands_come_from_the_file() -> None:
    text = (PACK_DIR / "health.yaml").read_text(encoding="utf-8")
    config = custom(
        text.replace("thriving: 80", "thriving: 90")
        .replace("steady: 60", "steady: 75")
        .replace("at_risk: 40", "at_risk: 50")
    )
    assert [config.band_of(s) for s in (90, 89, 75, 74, 50, 49)] == [
        "thriving",
        "steady",
        "steady",
        "at_risk",
        "at_risk",
        "stalling",
    ]
    assert config.band_range("steady") == (75, 89)
    assert config.band_range("stalling") == (0, 49)
