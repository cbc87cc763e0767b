"""The list and the board past their caps, a search paged to its end, and the filters'
choices (read in one statement, as the services that own them list them)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from crm.auth.models import Role
from crm.db import utcnow
from crm.extensions import db
from crm.learners import service as learners
from crm.organisations.service import owner_filter_choices
from crm.placements import board, listing
from tests.core.helpers import text
from tests.factories import make_cohort, make_learner, make_placement, make_programme, make_user
from tests.placements.support import YEAR_START, World


@pytest.fixture
def small_caps(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """Counts stop after 3 placements on the list and 2 in a board column; pages of 2 rows."""
    monkeypatch.setattr(listing, "LIST_COUNT_CAP", 3)
    monkeypatch.setattr(board, "BOARD_COUNT_CAP", 2)
    monkeypatch.setitem(app.config, "CRM_PAGE_SIZE", 2)


def ago(days: int) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days, hours=1)


def in_turn(world: World, *placements: tuple[str, dt.datetime]) -> None:
    """Placements of the world's learner, one week each, one after another: (state, entered)."""
    for n, (state, entered) in enumerate(placements):
        start = YEAR_START + dt.timedelta(days=7 * n)
        world.placement(
            state, start_date=start, end_date=start + dt.timedelta(days=5), entered_at=entered
        )


def result_count(html: str) -> str:
    found = re.search(r'id="result-count">(.*?)</p>', html)
    assert found
    return found.group(1)


def listed_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/placements/(\d+)" class="fw-medium', html)]


def column_badges(html: str, state: str) -> tuple[str, str | None]:
    """(count, past the SLA) as a board column shows them."""
    body = re.search(rf'id="column-{state}".*?</section>', html, re.S)
    assert body
    count = re.search(r'column-count">([^<]*)<', body.group(0))
    overdue = re.search(r'title="past the stage SLA">([^<]*)<', body.group(0))
    assert count
    return count.group(1), overdue.group(1) if overdue else None


def test_board_counts_stop_at_the_cap_and_still_count_the_overdue(
    ctx, login_as, world, manager, small_caps
):
    # requested (SLA 14 days): three overdue, two not; matched (SLA 7): one overdue, two
    # not; awaiting the employer (SLA 14): two, both overdue.
    in_turn(
        world,
        *[("requested", ago(days)) for days in (30, 20, 16, 2, 1)],
        *[("matched", ago(days)) for days in (9, 3, 1)],
        *[("awaiting_employer", ago(days)) for days in (40, 15)],
    )

    html = text(login_as(manager).get("/placements/board"))

    assert column_badges(html, "requested") == ("2+", "2+")
    assert column_badges(html, "matched") == ("2+", "1")
    assert column_badges(html, "awaiting_employer") == ("2", "2")
    assert column_badges(html, "confirmed") == ("0", None)
    assert html.count("and many more") == 2


def test_the_list_says_more_than_the_cap_and_pages_to_its_end_with_or_without_a_search(
    ctx, login_as, world, manager, small_caps
):
    in_turn(world, *[("requested", ago(days)) for days in (5, 4, 3, 2, 1)])
    client = login_as(manager)

    first = text(client.get("/placements/"))
    assert result_count(first) == "Showing 1–2 of more than 3"
    beyond = text(client.get("/placements/?page=99"))
    assert result_count(beyond) == "Showing 3–4 of more than 3"

    found_first = text(client.get("/placements/?q=lernend"))
    found_beyond = text(client.get("/placements/?q=lernend&page=99"))
    assert result_count(found_first) == "Showing 1–2 of more than 3"
    assert result_count(found_beyond) == "Showing 3–4 of more than 3"
    # The same placements in the same order (longest in their stage first).
    assert listed_ids(found_first) == listed_ids(first)
    assert listed_ids(found_beyond) == listed_ids(beyond)
    assert len(listed_ids(beyond)) == 2


def test_a_search_shows_its_last_page_when_asked_past_it(ctx, login_as, world, manager):
    in_turn(world, *[("requested", ago(days)) for days in (3, 2, 1)])
    other = make_learner(world.officer, world.programme, first_name="Ole", last_name="Ober")
    make_placement(other, "matched", start_date=YEAR_START, end_date=YEAR_START)
    client = login_as(manager)
    html = text(client.get("/placements/?q=lernend&page=7"))
    assert result_count(html) == "Showing 1–3 of 3"
    assert len(listed_ids(html)) == 3
    nothing = text(client.get("/placements/?q=nobody+here&page=2"))
    assert result_count(nothing) == "No placements match."


def test_the_filters_offer_what_the_services_list(ctx, login_as, world, manager):
    retired = make_programme(manager, name="Aardvark care", code="AARD")
    retired.archived_at = utcnow()
    make_cohort(world.programme, year=2027)
    make_cohort(world.programme, year=2025, name="2025/26 (late start)")
    away = make_user(Role.OFFICER, name="Aaron Away", is_active_account=False)
    db.session.commit()

    choices = listing.filter_choices()

    assert choices.programmes == learners.programme_filter_choices()
    assert choices.cohort_groups == learners.cohort_filter_choices()
    assert choices.officers == [(user.id, user.name) for user in owner_filter_choices()]
    assert choices.programmes[-1] == (retired.id, "Aardvark care (AARD)")
    assert choices.officers[-1] == (away.id, "Aaron Away")
    mechatronics = dict(choices.cohort_groups)["Mechatronics"]
    assert [name for _id, name in mechatronics] == ["2027/28", "2026/27", "2025/26 (late start)"]
    html = text(login_as(manager).get("/placements/"))
    assert f'<option value="{away.id}" >Aaron Away</option>' in html
