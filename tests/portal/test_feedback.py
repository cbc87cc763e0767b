"""The learner's feedback page: what it shows (never support needs), that opening it changes
nothing, its validation, and that answering leaves the placement where it is."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from crm.evaluations.models import EvaluationKind
from crm.extensions import db
from crm.learners.models import Learner
from crm.links.models import LinkPurpose
from crm.placements.models import Placement
from tests.evaluations.support import (
    Evaluated,
    employer_form,
    evaluations_stored,
    learner_form,
    link_row,
    outbox,
    with_skills,
)
from tests.placements.support import history_of, in_database
from tests.portal.support import Sent, link_path, newest_link


@pytest.fixture
def world(evaluation_sent: Sent) -> Evaluated:
    """The shared completed placement, with the learner's feedback link at hand."""
    return with_skills(evaluation_sent)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def error_of(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return match.group(1) if match else ""


def test_the_feedback_link_goes_to_the_learner(world):
    link = newest_link(world.placement, LinkPurpose.LEARNER_FEEDBACK)

    assert link.learner_id == world.placement.learner_id
    assert link.contact_id is None
    assert link.recipient_email.endswith("@school.test")


def test_the_page_asks_the_questions_and_never_shows_support_needs(world, client):
    db.session.execute(
        sa.update(Learner)
        .where(Learner.id == world.placement.learner_id)
        .values(support_needs="Anxiety: breaks every hour (PRIVATE-NOTE)")
    )
    db.session.execute(
        sa.update(Placement)
        .where(Placement.id == world.placement.id)
        .values(learning_objectives="Reads technical drawings.")
    )
    db.session.commit()

    response = client.get(world.feedback_path)

    assert response.status_code == 200
    html = page_text(response)
    assert "How was your placement at Werkzeugbau Kern GmbH?" in html
    assert "Hello Lena," in html
    assert "Reads technical drawings." in html  # the placement's learning objectives
    for name in ("satisfaction", "objectives", "went_well", "could_be_better", "recommends"):
        assert f'name="{name}"' in html
    assert "PRIVATE-NOTE" not in html
    assert "<script" not in html
    assert "the employer does not see them" in html


def test_opening_the_page_changes_nothing(world, client):
    assert client.head(world.feedback_path).status_code == 200
    assert client.get(world.feedback_path).status_code == 200
    assert client.get(world.feedback_path).status_code == 200

    assert link_row(world.feedback).spent_at is None
    assert evaluations_stored(world.placement) == []
    assert outbox() == []


def test_feedback_is_taken_without_moving_the_placement(world, client):
    transitions = len(history_of(world.placement))

    response = client.post_form(world.feedback_path, learner_form())

    assert response.status_code == 303
    assert response.headers["Location"].endswith(world.feedback_path)
    (evaluation,) = evaluations_stored(world.placement)
    assert evaluation.kind == EvaluationKind.LEARNER
    assert (evaluation.satisfaction, evaluation.host_again) == (5, True)
    assert in_database(world.placement)[0] == "completed"
    assert len(history_of(world.placement)) == transitions
    row = link_row(world.feedback)
    assert row.spent_at is not None and row.decided_ip == "127.0.0.1"
    assert row.decision_data["objectives"] == 4
    # The employer's evaluation link still works.
    assert link_row(world.link).spent_at is None
    assert client.get(world.path).status_code == 200

    answered = page_text(client.get(world.feedback_path))
    assert "your feedback was received on" in answered


def test_a_replayed_feedback_changes_nothing(world, client):
    client.post_form(world.feedback_path, learner_form())

    again = client.post_form(world.feedback_path, learner_form(satisfaction="1"))

    assert again.status_code == 200
    assert "your feedback was received on" in page_text(again)
    assert [e.satisfaction for e in evaluations_stored(world.placement)] == [5]
    assert len(outbox()) == 1


def test_the_learner_may_answer_after_the_employer(world, client):
    assert client.post_form(world.path, employer_form(world)).status_code == 303
    assert in_database(world.placement)[0] == "evaluated"

    response = client.post_form(world.feedback_path, learner_form())

    assert response.status_code == 303
    kinds = [e.kind for e in evaluations_stored(world.placement)]
    assert kinds == [EvaluationKind.EMPLOYER, EvaluationKind.LEARNER]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"satisfaction": None}, "satisfaction", "Choose how satisfied you are, from 1 to 5."),
        ({"objectives": "0"}, "objectives", "Choose an answer from 1 to 5."),
        ({"recommends": "maybe"}, "recommends", "Answer yes or no."),
        ({"went_well": "x" * 5001}, "went_well", "Please keep this under 5000 characters."),
    ],
)
def test_a_wrong_answer_comes_back_with_its_message(world, client, changes, field, message):
    response = client.post_form(
        world.feedback_path, learner_form(could_be_better="Shorter days", **changes)
    )

    assert response.status_code == 400
    html = page_text(response)
    assert error_of(html, field) == message
    assert f'href="#{field}"' in html
    assert "Shorter days</textarea>" in html
    assert link_row(world.feedback).spent_at is None
    assert evaluations_stored(world.placement) == []


def test_the_feedback_link_does_not_evaluate_for_the_employer(world, client):
    token = link_path(world.feedback).rsplit("/", 1)[1]

    response = client.post_form(f"/l/evaluate/{world.placement.id}/{token}", employer_form(world))

    assert response.status_code == 410
    assert evaluations_stored(world.placement) == []
    assert in_database(world.placement)[0] == "completed"
