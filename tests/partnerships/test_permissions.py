"""Who may move a partnership: its owner, managers and admins; reopening is for managers."""

from __future__ import annotations

import pytest

from crm.auth.models import Role
from crm.extensions import db
from crm.workflow.models import WorkflowTransition
from tests.core.helpers import count_rows, flashes, fresh, text
from tests.factories import make_user
from tests.partnerships.pages import next_steps
from tests.workflow.support import at, history_of, make_partnership, state_in_database

STALE = "This record was changed by someone else meanwhile. Reload the page and try again."


@pytest.fixture
def colleague(ctx):
    """Another placement officer, who does not own the partnership."""
    return make_user(Role.OFFICER, name="Colin Colleague")


@pytest.fixture
def partnership(officer):
    return make_partnership(officer, "active", entered_at=at(10))


def fire_form(partnership, transition: str, comment: str = "", version: int | None = None):
    return {
        "transition": transition,
        "version": str(partnership.lock_version if version is None else version),
        "comment": comment,
    }


def post_fire(client, partnership, transition: str, comment: str = "", version=None):
    return client.post_form(
        f"/partnerships/{partnership.id}/fire",
        fire_form(partnership, transition, comment, version),
    )


def page_after(client, response) -> str:
    """The page a redirect leads to, as the browser would show it."""
    assert response.status_code == 302, text(response)[:500]
    return text(client.get(response.location))


def test_the_owner_moves_their_partnership(ctx, login_as, officer, partnership):
    client = login_as(officer)
    response = post_fire(client, partnership, "close", "The company closed its site.")
    assert response.location == f"/partnerships/{partnership.id}"
    assert flashes(page_after(client, response)) == ["Moved to Closed."]
    assert fresh(partnership).state == "closed"
    (entry,) = history_of(partnership)
    assert (entry.actor_user_id, entry.comment) == (officer.id, "The company closed its site.")


def test_another_officer_sees_the_steps_disabled(ctx, login_as, colleague, officer):
    partnership = make_partnership(officer, "identified", entered_at=at(1))
    html = text(login_as(colleague).get(f"/partnerships/{partnership.id}"))
    steps = next_steps(html)
    assert list(steps) == ["research", "close"]
    assert [(s.available, s.reasons) for s in steps.values()] == [
        (False, ["You are not allowed to do this."]),
        (False, ["You are not allowed to do this."]),
    ]
    assert not any(s.has_comment for s in steps.values())
    assert 'id="edit-partnership"' not in html
    assert "checklist-item" not in html  # the checklist is shown, not tickable
    assert "Sector and size fit our programmes" in html


def test_another_officer_cannot_move_tick_or_edit(ctx, login_as, colleague, partnership):
    before = state_in_database(partnership)
    client = login_as(colleague)

    response = post_fire(client, partnership, "close", "Mine now.")
    assert flashes(page_after(client, response)) == ["You are not allowed to do this."]
    assert (
        client.post_form(
            f"/partnerships/{partnership.id}/checklist", {"item": "review_meeting", "ticked": "1"}
        ).status_code
        == 404
    )
    assert client.get(f"/partnerships/{partnership.id}/edit").status_code == 404
    assert (
        client.post_form(
            f"/partnerships/{partnership.id}/edit", {"title": "Hijacked", "needs_summary": "x"}
        ).status_code
        == 404
    )

    assert state_in_database(partnership) == before
    assert fresh(partnership).title == ""
    assert history_of(partnership) == []


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_move_every_partnership(ctx, login_as, role, partnership):
    client = login_as(make_user(role))
    steps = next_steps(text(client.get(f"/partnerships/{partnership.id}")))
    assert steps["close"].available
    response = post_fire(client, partnership, "close", "Programme ended.")
    assert flashes(page_after(client, response)) == ["Moved to Closed."]
    assert fresh(partnership).state == "closed"


def test_only_managers_and_admins_reopen(ctx, login_as, officer, manager):
    partnership = make_partnership(officer, "closed", entered_at=at(30))
    owner = login_as(officer)
    owner_page = text(owner.get(f"/partnerships/{partnership.id}"))
    assert next_steps(owner_page) == {}
    assert "Next steps" not in owner_page
    response = post_fire(owner, partnership, "reopen", "They are back.")
    assert flashes(page_after(owner, response)) == ["You are not allowed to do this."]
    assert fresh(partnership).state == "closed"

    boss = login_as(manager)
    steps = next_steps(text(boss.get(f"/partnerships/{partnership.id}")))
    assert list(steps) == ["reopen"]
    assert (steps["reopen"].available, steps["reopen"].has_comment) == (True, True)
    response = post_fire(boss, partnership, "reopen")
    assert flashes(page_after(boss, response)) == ["Give a reason or comment for this step."]
    assert fresh(partnership).state == "closed"
    response = post_fire(boss, partnership, "reopen", "They are back.")
    assert flashes(page_after(boss, response)) == ["Moved to Identified."]
    assert fresh(partnership).state == "identified"


def test_anonymous_visitors_are_sent_to_the_login(ctx, client, partnership):
    before = state_in_database(partnership)
    page = client.get(f"/partnerships/{partnership.id}")
    assert page.status_code == 302
    assert page.location.startswith("/login")
    for url in ("/partnerships/", "/partnerships/board", f"/partnerships/{partnership.id}/edit"):
        assert client.get(url).location.startswith("/login")
    response = post_fire(client, partnership, "close", "Anonymous.")
    assert response.status_code == 302
    assert response.location.startswith("/login")
    assert state_in_database(partnership) == before


def test_a_post_without_csrf_token_is_refused(ctx, login_as, officer, partnership):
    before = state_in_database(partnership)
    client = login_as(officer)
    response = client.post(
        f"/partnerships/{partnership.id}/fire", data=fire_form(partnership, "close", "No token.")
    )
    assert response.status_code == 400
    assert "The form has expired" in text(response)
    checklist = client.post(
        f"/partnerships/{partnership.id}/checklist", data={"item": "x", "ticked": "1"}
    )
    assert checklist.status_code == 400
    assert state_in_database(partnership) == before
    assert count_rows(WorkflowTransition) == 0


def test_a_stale_page_cannot_move_the_partnership(ctx, login_as, officer, partnership):
    client = login_as(officer)
    seen = partnership.lock_version
    fresh(partnership).title = "Changed meanwhile"
    db.session.commit()
    response = post_fire(client, partnership, "close", "Gone.", version=seen)
    assert flashes(page_after(client, response)) == [STALE]
    assert fresh(partnership).state == "active"


def test_a_blocked_step_says_why(ctx, login_as, officer):
    partnership = make_partnership(officer, "identified", entered_at=at(1))
    client = login_as(officer)
    response = post_fire(client, partnership, "research")
    assert flashes(page_after(client, response)) == [
        "Tick the checklist before moving to Researched: Sector and size fit our programmes; "
        "Website and public information reviewed.",
        "Record a focal person before moving to Researched.",
        "Record a decision maker before moving to Researched.",
    ]
    assert fresh(partnership).state == "identified"


def test_an_unreadable_step_is_refused(ctx, login_as, officer, partnership):
    client = login_as(officer)
    response = client.post_form(f"/partnerships/{partnership.id}/fire", {"transition": "close"})
    assert flashes(page_after(client, response)) == [
        "The step could not be read. Reload the page and try again."
    ]
    assert fresh(partnership).state == "active"


def test_the_owner_ticks_the_checklist(ctx, login_as, officer):
    partnership = make_partnership(officer, "identified", entered_at=at(1))
    client = login_as(officer)
    response = client.post_form(
        f"/partnerships/{partnership.id}/checklist", {"item": "fit_checked", "ticked": "1"}
    )
    assert response.status_code == 302
    assert response.location == f"/partnerships/{partnership.id}#stage"
    assert fresh(partnership).checklist == {"identified": ["fit_checked"]}
    client.post_form(
        f"/partnerships/{partnership.id}/checklist", {"item": "fit_checked", "ticked": "0"}
    )
    assert fresh(partnership).checklist == {"identified": []}
    response = client.post_form(
        f"/partnerships/{partnership.id}/checklist", {"item": "review_meeting", "ticked": "1"}
    )
    assert flashes(page_after(client, response)) == [
        "This checklist item does not belong to the current stage."
    ]
    assert fresh(partnership).checklist == {"identified": []}


def test_unknown_partnerships_answer_404(ctx, login_as, officer):
    client = login_as(officer)
    assert client.get("/partnerships/999999").status_code == 404
    form = {"transition": "close", "version": "1", "comment": "x"}
    assert client.post_form("/partnerships/999999/fire", form).status_code == 404
