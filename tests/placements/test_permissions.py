"""Who may do what with a placement: its officer, managers and admins change and move it;
other officers read it; everyone else is sent to the login."""

from __future__ import annotations

import pytest

from crm.auth.models import Role
from crm.workflow.models import WorkflowTransition
from tests.core.helpers import count_rows, flashes, fresh, text
from tests.factories import make_user
from tests.partnerships.pages import next_steps
from tests.placements.support import SPRING, in_database, placements_of


@pytest.fixture
def colleague(ctx):
    """Another placement officer, who neither looks after the learner nor the placement."""
    return make_user(Role.OFFICER, name="Colin Colleague")


def fire_form(placement, transition: str, comment: str = "") -> dict[str, str]:
    return {"transition": transition, "version": str(placement.lock_version), "comment": comment}


def page_after(client, response) -> str:
    assert response.status_code == 302, text(response)[:500]
    return text(client.get(response.location))


def test_another_officer_reads_the_placement_with_the_steps_disabled(
    ctx, login_as, colleague, world
):
    placement = world.placement("ready")
    html = text(login_as(colleague).get(f"/placements/{placement.id}"))
    steps = next_steps(html)
    assert steps
    assert all(s.reasons == ["You are not allowed to do this."] for s in steps.values())
    assert 'id="edit-placement"' not in html
    assert "checklist-item" not in html  # shown, not tickable
    assert "Induction day planned with the supervisor" in html


def test_another_officer_can_neither_move_tick_edit_nor_match(ctx, login_as, colleague, world):
    placement = world.placement("ready")
    before = in_database(placement)
    client = login_as(colleague)
    response = client.post_form(
        f"/placements/{placement.id}/fire", fire_form(placement, "cancel", "Mine now.")
    )
    assert flashes(page_after(client, response)) == ["You are not allowed to do this."]
    assert (
        client.post_form(
            f"/placements/{placement.id}/checklist", {"item": "insurance_checked", "ticked": "1"}
        ).status_code
        == 404
    )
    assert client.get(f"/placements/{placement.id}/edit").status_code == 404
    assert (
        client.post_form(f"/placements/{placement.id}/edit", {"hours_target": "1"}).status_code
        == 404
    )
    learner = world.learner.id
    assert client.get(f"/placements/new?learner_id={learner}").status_code == 404
    assert client.post_form(f"/placements/new?learner_id={learner}", {}).status_code == 404
    assert client.get(f"/placements/match?learner_id={learner}").status_code == 404
    form = {"organisation_id": str(world.organisation.id), "placement_id": str(placement.id)}
    assert client.post_form(f"/placements/match?learner_id={learner}", form).status_code == 404
    assert in_database(placement) == before
    assert count_rows(WorkflowTransition) == 0
    assert len(placements_of(world.learner)) == 1


def test_the_officer_of_the_placement_but_not_of_the_learner_moves_it(
    ctx, login_as, colleague, world
):
    placement = world.placement("matched", officer_id=colleague.id)
    client = login_as(colleague)
    assert client.get(f"/placements/{placement.id}/edit").status_code == 200
    response = client.post_form(
        f"/placements/{placement.id}/fire", fire_form(placement, "postpone", "Until May.")
    )
    assert flashes(page_after(client, response)) == ["Moved to Postponed."]
    # …but requesting and matching for the learner stays with the learner's officer.
    assert client.get(f"/placements/match?learner_id={world.learner.id}").status_code == 404


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_do_everything(ctx, login_as, role, world):
    placement = world.placement("ready")
    client = login_as(make_user(role))
    assert client.get(f"/placements/{placement.id}/edit").status_code == 200
    response = client.post_form(
        f"/placements/{placement.id}/checklist", {"item": "insurance_checked", "ticked": "1"}
    )
    assert response.location == f"/placements/{placement.id}#stage"
    assert fresh(placement).checklist == {"ready": ["insurance_checked"]}
    response = client.post_form(
        f"/placements/{placement.id}/fire", fire_form(placement, "cancel", "Ended.")
    )
    assert flashes(page_after(client, response)) == ["Moved to Cancelled."]
    assert client.get(f"/placements/match?learner_id={world.learner.id}").status_code == 200
    response = client.post_form(
        f"/placements/match?learner_id={world.learner.id}",
        {
            "organisation_id": str(world.organisation.id),
            "start_date": SPRING[0].isoformat(),
            "end_date": SPRING[1].isoformat(),
        },
    )
    assert flashes(page_after(client, response)) == ["Matched to Werkzeugbau Kern GmbH."]
    assert [p.state for p in placements_of(world.learner)] == ["cancelled", "matched"]


def test_anonymous_visitors_are_sent_to_the_login(ctx, client, world):
    placement = world.placement()
    before = in_database(placement)
    for url in (
        "/placements/",
        "/placements/board",
        f"/placements/{placement.id}",
        f"/placements/{placement.id}/edit",
        f"/placements/new?learner_id={world.learner.id}",
        f"/placements/match?learner_id={world.learner.id}",
    ):
        assert client.get(url).location.startswith("/login"), url
    response = client.post_form(
        f"/placements/{placement.id}/fire", fire_form(placement, "cancel", "Anonymous.")
    )
    assert response.location.startswith("/login")
    assert in_database(placement) == before


def test_a_post_without_csrf_token_is_refused(ctx, login_as, world):
    placement = world.placement()
    client = login_as(world.officer)
    for url, data in [
        (f"/placements/{placement.id}/fire", fire_form(placement, "cancel", "No token.")),
        (f"/placements/{placement.id}/edit", {"hours_target": "5"}),
        (f"/placements/match?learner_id={world.learner.id}", {"organisation_id": "1"}),
        (f"/placements/new?learner_id={world.learner.id}", {}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 400, url
    assert in_database(placement)[0] == "requested"
    assert len(placements_of(world.learner)) == 1


def test_unknown_placements_and_learners_answer_404(ctx, login_as, manager):
    client = login_as(manager)
    assert client.get("/placements/999999").status_code == 404
    assert client.get("/placements/999999/edit").status_code == 404
    form = {"transition": "cancel", "version": "1", "comment": "x"}
    assert client.post_form("/placements/999999/fire", form).status_code == 404
    assert client.get("/placements/new?learner_id=999999").status_code == 404
    assert client.get("/placements/new").status_code == 404
    assert client.get("/placements/match?learner_id=nonsense").status_code == 404
