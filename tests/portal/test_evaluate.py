"""The employer's evaluation page: what it shows, that opening it changes nothing, its
validation, and that a link answers once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
import time_machine

from crm.db import utcnow
from crm.evaluations.models import EvaluationKind
from crm.extensions import db
from crm.learners.models import Learner
from crm.links import service as links
from crm.links.models import ActionLink
from crm.organisations.models import CapacityPeriod, Organisation
from crm.workflow.service import fire
from tests.evaluations.support import (
    Evaluated,
    employer_form,
    evaluations_stored,
    link_row,
    outbox,
    with_skills,
)
from tests.placements.support import AUTUMN, history_of, in_database
from tests.portal.support import Sent, link_path


@pytest.fixture
def world(evaluation_sent: Sent) -> Evaluated:
    """The shared completed placement, its programme given three skills and a retired one."""
    return with_skills(evaluation_sent)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field_id: str) -> str:
    """The error message shown under a field (empty if none)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def is_checked(html: str, name: str, value: str) -> bool:
    """Whether the radio button `name` = `value` is chosen on the page."""
    pattern = rf'<input checked id="[^"]+" name="{re.escape(name)}" type="radio" value="{value}"'
    return re.search(pattern, html) is not None


def nothing_decided(world: Evaluated) -> bool:
    return (
        link_row(world.link).spent_at is None
        and evaluations_stored(world.placement) == []
        and in_database(world.placement)[0] == "completed"
        and outbox() == []
    )


# --- showing ---------------------------------------------------------------------------------


def test_the_page_shows_the_placement_and_the_programmes_active_skills(world, client):
    response = client.get(world.path)

    assert response.status_code == 200
    html = page_text(response)
    assert "How did Lena's placement go?" in html
    assert "Mechatronics" in html
    assert "1 March 2027" in html and "30 April 2027" in html
    for skill in world.skills:
        assert f"<legend>{skill.text}</legend>" in html
        assert f'name="skill_{skill.id}" type="radio" value="none"' in html
    assert world.retired.text not in html
    # Skills in the programme's order.
    positions = [html.index(skill.text) for skill in world.skills]
    assert positions == sorted(positions)
    assert "Olga Officer" in html


def test_the_page_shows_no_more_of_the_learner_than_needed(world, client):
    db.session.execute(
        sa.update(Learner)
        .where(Learner.id == world.placement.learner_id)
        .values(support_needs="Dyslexia: give written instructions (PRIVATE-NOTE)")
    )
    db.session.commit()

    html = page_text(client.get(world.path))

    assert "PRIVATE-NOTE" not in html
    assert "Lernend" not in html  # the first name only


def test_the_page_has_no_scripts_and_labels_every_answer(world, client):
    html = page_text(client.get(world.path))

    assert "<script" not in html
    assert 'for="host_again_count"' in html
    assert 'for="comments"' in html
    for option in re.findall(r'<input id="([^"]+)" name="[^"]+" type="radio"', html):
        assert f'for="{option}"' in html


def test_the_period_is_preset_to_the_organisations(world, client):
    db.session.execute(
        sa.update(Organisation)
        .where(Organisation.id == world.placement.organisation_id)
        .values(capacity_period=CapacityPeriod.TERM)
    )
    db.session.commit()

    html = page_text(client.get(world.path))

    assert is_checked(html, "host_again_period", "term")
    assert not is_checked(html, "host_again_period", "year")


def test_a_programme_without_skills_asks_only_the_rest(evaluation_sent, client):
    response = client.get(evaluation_sent.path)

    assert response.status_code == 200
    assert 'name="satisfaction"' in page_text(response)
    assert "skill_" not in page_text(response)


def test_opening_the_page_changes_nothing(world, client):
    assert client.head(world.path).status_code == 200
    assert client.get(world.path).status_code == 200
    assert client.get(world.path).status_code == 200

    assert nothing_decided(world)


def test_the_page_speaks_the_supervisors_language(world, client):
    world.link.language = "de"
    db.session.commit()

    html = page_text(client.get(world.path))

    assert '<html lang="de">' in html


# --- answering -------------------------------------------------------------------------------


def test_an_evaluation_is_taken_and_the_link_then_shows_it_was_answered(world, client):
    response = client.post_form(
        world.path,
        employer_form(world),
        headers={"User-Agent": "PhoneBrowser/2.0"},
    )

    assert response.status_code == 303
    assert response.headers["Location"].endswith(world.path)
    (evaluation,) = evaluations_stored(world.placement)
    assert evaluation.kind == EvaluationKind.EMPLOYER
    assert evaluation.satisfaction == 4
    assert in_database(world.placement)[0] == "evaluated"
    assert history_of(world.placement)[-1].actor_kind == "employer"
    row = link_row(world.link)
    assert row.decided_ip == "127.0.0.1"
    assert row.decided_user_agent == "PhoneBrowser/2.0"
    assert len(outbox()) == 1

    answered = client.get(world.path)
    assert answered.status_code == 200
    html = page_text(answered)
    assert "your evaluation was received on" in html
    assert "Your answers have been sent to the school." in html
    assert 'name="satisfaction"' not in html


def test_a_replayed_submission_changes_nothing(world, client):
    client.post_form(world.path, employer_form(world))
    transitions = len(history_of(world.placement))

    again = client.post_form(world.path, employer_form(world, satisfaction="1", host_again="no"))

    assert again.status_code == 200
    assert "your evaluation was received on" in page_text(again)
    assert [e.satisfaction for e in evaluations_stored(world.placement)] == [4]
    assert len(history_of(world.placement)) == transitions
    assert len(outbox()) == 1
    pledge = db.session.scalar(
        sa.select(Organisation.capacity_pledge).where(
            Organisation.id == world.placement.organisation_id
        )
    )
    assert pledge == 2


def test_the_pledge_follows_the_answer(world, client):
    client.post_form(
        world.path,
        employer_form(
            world, host_again_count="4", host_again_period="year", host_again_from="2027-09-01"
        ),
    )

    organisation = db.session.get(Organisation, world.placement.organisation_id)
    db.session.refresh(organisation)
    assert (organisation.capacity_pledge, organisation.capacity_period) == (4, CapacityPeriod.YEAR)
    (evaluation,) = evaluations_stored(world.placement)
    assert evaluation.host_again_from == dt.date(2027, 9, 1)


def test_no_ignores_what_was_typed_under_if_yes(world, client):
    response = client.post_form(
        world.path,
        employer_form(world, host_again="no", host_again_count="lots", host_again_from="someday"),
    )

    assert response.status_code == 303
    (evaluation,) = evaluations_stored(world.placement)
    assert evaluation.host_again is False
    assert evaluation.host_again_count is None


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"satisfaction": None}, "satisfaction", "Choose how satisfied you are, from 1 to 5."),
        ({"satisfaction": "9"}, "satisfaction", "Choose how satisfied you are, from 1 to 5."),
        ({"host_again": None}, "host_again", "Answer yes or no."),
        (
            {"host_again_count": ""},
            "host_again_count",
            "Enter how many learners you could host, from 1 to 50.",
        ),
        (
            {"host_again_count": "51"},
            "host_again_count",
            "Enter how many learners you could host, from 1 to 50.",
        ),
        (
            {"host_again_count": "two"},
            "host_again_count",
            "Enter how many learners you could host, from 1 to 50.",
        ),
        (
            {"host_again_from": "31/02/2027"},
            "host_again_from",
            "Enter a valid date, or leave it empty.",
        ),
        (
            {"host_again_from": "2020-01-01"},
            "host_again_from",
            "This date has passed: enter a date from today on.",
        ),
        ({"comments": "x" * 5001}, "comments", "Please keep this under 5000 characters."),
    ],
)
def test_a_wrong_answer_comes_back_with_its_message_and_nothing_is_decided(
    world, client, changes, field, message
):
    response = client.post_form(world.path, employer_form(world, **changes))

    assert response.status_code == 400
    html = page_text(response)
    assert error_of(html, field) == message
    assert 'id="problems"' in html
    assert f'href="#{field}"' in html
    assert nothing_decided(world)


def test_every_skill_must_be_rated_or_marked_not_observed(world, client):
    skill = world.skills[1]

    response = client.post_form(world.path, employer_form(world, **{f"skill_{skill.id}": None}))

    assert response.status_code == 400
    html = page_text(response)
    assert error_of(html, f"skill_{skill.id}") == "Rate this skill, or choose “not observed”."
    assert error_of(html, f"skill_{world.skills[0].id}") == ""
    assert nothing_decided(world)


def test_nothing_typed_is_lost_when_an_answer_is_missing(world, client):
    response = client.post_form(
        world.path,
        employer_form(
            world,
            satisfaction=None,
            comments="Très bien <b>fait</b>",
            host_again_count="3",
            host_again_from="2027-10-01",
        ),
    )

    assert response.status_code == 400
    html = page_text(response)
    assert "Très bien &lt;b&gt;fait&lt;/b&gt;</textarea>" in html
    assert 'value="3"' in html
    assert 'value="2027-10-01"' in html
    assert is_checked(html, f"skill_{world.skills[0].id}", "5")
    assert is_checked(html, f"skill_{world.skills[2].id}", "none")
    assert is_checked(html, "host_again", "yes")
    assert is_checked(html, "host_again_period", "term")
    assert not is_checked(html, "satisfaction", r"\d")


def test_a_post_without_the_forms_token_is_refused(world, client):
    response = client.post(world.path, data={**employer_form(world)})

    assert response.status_code == 400
    assert nothing_decided(world)


# --- links that do not decide ----------------------------------------------------------------


def test_a_revoked_link_does_not_decide(world, client):
    links.revoke(world.link, world.sent.world.officer)
    db.session.commit()

    response = client.post_form(world.path, employer_form(world))

    assert response.status_code == 410
    assert evaluations_stored(world.placement) == []
    assert in_database(world.placement)[0] == "completed"


def test_an_expired_link_does_not_decide(world, client):
    with time_machine.travel(utcnow() + dt.timedelta(days=15), tick=False):
        response = client.post_form(world.path, employer_form(world))

    assert response.status_code == 410
    assert evaluations_stored(world.placement) == []


def test_a_tampered_token_does_not_decide(world, client):
    token = links.token_for(world.link)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    response = client.post_form(link_path(world.link, tampered), employer_form(world))

    assert response.status_code == 410
    assert nothing_decided(world)


def test_the_evaluation_link_does_not_work_as_another_purpose_or_record(world, client):
    token = links.token_for(world.link)
    other = world.sent.world.placement("completed", start_date=AUTUMN[0], end_date=AUTUMN[1])

    as_confirm = client.post_form(
        f"/l/confirm/{world.placement.id}/{token}", {"decision": "confirm"}
    )
    as_feedback = client.post_form(
        f"/l/feedback/{world.placement.id}/{token}", {"satisfaction": "5"}
    )
    elsewhere = client.post_form(f"/l/evaluate/{other.id}/{token}", employer_form(world))

    assert [as_confirm.status_code, as_feedback.status_code, elsewhere.status_code] == [410] * 3
    assert nothing_decided(world)
    assert in_database(other)[0] == "completed"


def test_a_link_closed_when_the_officer_recorded_the_evaluation_does_not_decide(world, client):
    fire(world.placement, "evaluate", user=world.sent.world.officer)
    db.session.commit()

    response = client.post_form(world.path, employer_form(world))

    assert response.status_code == 410
    assert evaluations_stored(world.placement) == []
    assert (
        db.session.scalar(sa.select(ActionLink.spent_at).where(ActionLink.id == world.link.id))
        is None
    )
