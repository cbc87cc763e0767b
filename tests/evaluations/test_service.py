"""Recording evaluations: the employer's (rows, ratings, capacity pledge, state, e-mail) and the
learner's feedback (no transition), each spending its link once."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.activities.models import Activity, ActivityKind
from crm.db import utcnow
from crm.evaluations import service as evaluations
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.organisations.models import CapacityPeriod, Organisation
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from tests.evaluations.support import (
    EVIDENCE,
    employer_values,
    evaluations_stored,
    learner_values,
    link_row,
    outbox,
)
from tests.placements.support import history_of, in_database

# A moment of the decision (the timeline refuses activities in the future).
NOW = utcnow().replace(microsecond=0)


def pledge_of(organisation_id: int) -> tuple[int, CapacityPeriod]:
    row = db.session.execute(
        sa.select(Organisation.capacity_pledge, Organisation.capacity_period).where(
            Organisation.id == organisation_id
        )
    ).one()
    return row.capacity_pledge, row.capacity_period


def notes_on(organisation_id: int) -> list[Activity]:
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.organisation_id == organisation_id, Activity.kind == ActivityKind.NOTE)
            .order_by(Activity.id)
        )
    )


# --- the employer ----------------------------------------------------------------------------


def test_the_evaluation_is_stored_with_a_rating_per_active_skill(world):
    evaluation = evaluations.submit_employer_evaluation(
        world.link, employer_values(world), EVIDENCE, now=NOW
    )

    assert evaluation is not None
    db.session.expire_all()
    (stored,) = evaluations_stored(world.placement)
    assert stored.kind == EvaluationKind.EMPLOYER
    assert stored.link_id == world.link.id
    assert stored.evaluator_name == "Sven Supervisor"
    assert stored.programme_id == world.placement.programme_id
    assert stored.organisation_id == world.placement.organisation_id
    assert stored.satisfaction == 4
    assert stored.comments == "Keen and careful."
    assert (stored.host_again, stored.host_again_count, stored.host_again_period) == (
        True,
        2,
        CapacityPeriod.TERM,
    )
    assert stored.submitted_at == NOW
    ratings = dict(
        db.session.execute(
            sa.select(EvaluationRating.outcome_id, EvaluationRating.rating).where(
                EvaluationRating.evaluation_id == stored.id
            )
        ).all()
    )
    # The third skill was "not observed": a row with no rating. The retired one is not rated.
    assert ratings == {world.skills[0].id: 5, world.skills[1].id: 3, world.skills[2].id: None}
    assert world.retired.id not in ratings


def test_the_link_is_spent_with_the_evidence(world):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    row = link_row(world.link)
    assert row.spent_at == NOW
    assert row.decision == evaluations.EMPLOYER_DECISION
    assert row.decided_ip == "203.0.113.7"
    assert row.decided_user_agent == "Mozilla/5.0 (Phone) TestBrowser/1.0"
    assert row.decision_data == {"satisfaction": 4, "host_again": True}


def test_the_placement_is_evaluated_by_the_employer(world):
    before = len(history_of(world.placement))

    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    assert in_database(world.placement)[0] == "evaluated"
    history = history_of(world.placement)
    assert len(history) == before + 1
    entry = history[-1]
    assert (entry.transition, entry.from_state, entry.to_state) == (
        "evaluate",
        "completed",
        "evaluated",
    )
    assert entry.actor_kind == "employer"
    assert entry.actor_user_id is None
    assert entry.actor_label == "Sven Supervisor"
    assert entry.occurred_at == NOW


def test_would_host_again_makes_the_answer_the_capacity_pledge(world):
    organisation_id = world.placement.organisation_id
    assert pledge_of(organisation_id) == (2, CapacityPeriod.YEAR)

    evaluations.submit_employer_evaluation(
        world.link,
        employer_values(world, host_again_count=3, host_again_from=dt.date(2027, 9, 1)),
        EVIDENCE,
        now=NOW,
    )

    assert pledge_of(organisation_id) == (3, CapacityPeriod.TERM)
    (note,) = notes_on(organisation_id)
    assert note.subject == "Capacity pledge changed by the employer's evaluation"
    assert "3 learners per term from 1 September 2027" in note.body
    assert "was 2 learners per school year" in note.body
    assert "Lena Lernend" in note.body
    assert note.contact_id == world.placement.supervisor_id
    assert note.author_id is None
    assert note.occurred_at == NOW
    (stored,) = evaluations_stored(world.placement)
    assert stored.host_again_from == dt.date(2027, 9, 1)


def test_would_not_host_again_sets_the_pledge_to_zero(world):
    organisation_id = world.placement.organisation_id

    evaluations.submit_employer_evaluation(
        world.link,
        # What was typed under "if yes" is not kept when the answer is no.
        employer_values(world, host_again=False, host_again_count=7),
        EVIDENCE,
        now=NOW,
    )

    assert pledge_of(organisation_id) == (0, CapacityPeriod.YEAR)
    (stored,) = evaluations_stored(world.placement)
    assert stored.host_again is False
    assert (stored.host_again_count, stored.host_again_period, stored.host_again_from) == (
        None,
        None,
        None,
    )
    (note,) = notes_on(organisation_id)
    assert "no learners" in note.body


def test_an_unchanged_pledge_leaves_no_note(world):
    organisation_id = world.placement.organisation_id

    evaluations.submit_employer_evaluation(
        world.link,
        employer_values(world, host_again_count=2, host_again_period=CapacityPeriod.YEAR),
        EVIDENCE,
        now=NOW,
    )

    assert pledge_of(organisation_id) == (2, CapacityPeriod.YEAR)
    assert notes_on(organisation_id) == []


def test_the_officer_is_emailed_in_their_language(world):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    (message,) = outbox()
    officer = world.sent.world.officer
    assert message.to_email == officer.email
    assert message.user_id == officer.id
    assert message.language == officer.locale
    assert (message.record_type, message.record_id) == ("placement", world.placement.id)
    assert message.subject == (
        "Evaluation received: Lena Lernend at Werkzeugbau Kern GmbH (4 of 5)"
    )
    assert "Overall satisfaction: 4 of 5" in message.body_text
    assert "Would host again: yes, 2 learners per term" in message.body_text
    assert f"/placements/{world.placement.id}#evaluations" in message.body_text
    assert f"/placements/{world.placement.id}#evaluations" in message.body_html


def test_a_german_officer_gets_the_email_in_german(world):
    officer = world.sent.world.officer
    officer.locale = "de"
    db.session.commit()

    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    (message,) = outbox()
    assert message.language == "de"
    assert '<html lang="de">' in message.body_html


def test_no_email_for_an_officer_who_left(world):
    officer = world.sent.world.officer
    officer.is_active_account = False
    db.session.commit()

    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    assert outbox() == []
    assert in_database(world.placement)[0] == "evaluated"


def test_a_second_submission_of_the_link_changes_nothing(world):
    first = evaluations.submit_employer_evaluation(
        world.link, employer_values(world), EVIDENCE, now=NOW
    )
    counts = _counts(world.placement.id)

    second = evaluations.submit_employer_evaluation(
        world.link,
        employer_values(world, satisfaction=1, host_again=False),
        EVIDENCE,
        now=NOW + dt.timedelta(seconds=1),
    )

    assert first is not None and second is None
    assert _counts(world.placement.id) == counts
    assert pledge_of(world.placement.organisation_id) == (2, CapacityPeriod.TERM)
    assert link_row(world.link).spent_at == NOW


def _counts(placement_id: int) -> tuple[int, int, int, int]:
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Evaluation)) or 0,
        db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationRating)) or 0,
        db.session.scalar(
            sa.select(sa.func.count()).where(WorkflowTransition.record_id == placement_id)
        )
        or 0,
        db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0,
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"satisfaction": 0}, "satisfaction"),
        ({"satisfaction": 6}, "satisfaction"),
        ({"host_again_count": 0}, "host_again_count"),
        ({"host_again_count": 51}, "host_again_count"),
        ({"host_again_count": None}, "host_again_count"),
        ({"host_again_period": None}, "host_again_period"),
    ],
)
def test_answers_out_of_range_are_refused_before_the_link_is_spent(world, changes, field):
    with pytest.raises(evaluations.EvaluationError) as refused:
        evaluations.submit_employer_evaluation(
            world.link, employer_values(world, **changes), EVIDENCE, now=NOW
        )

    assert refused.value.field == field
    assert link_row(world.link).spent_at is None
    assert evaluations_stored(world.placement) == []


def test_every_skill_needs_an_answer(world):
    values = employer_values(world)
    ratings = dict(values.ratings)
    del ratings[world.skills[1].id]

    with pytest.raises(evaluations.EvaluationError) as refused:
        evaluations.submit_employer_evaluation(
            world.link, employer_values(world, ratings=ratings), EVIDENCE, now=NOW
        )

    assert refused.value.field == f"skill_{world.skills[1].id}"
    assert link_row(world.link).spent_at is None


def test_a_rating_out_of_the_scale_is_refused(world):
    ratings = {**employer_values(world).ratings, world.skills[0].id: 9}

    with pytest.raises(evaluations.EvaluationError):
        evaluations.submit_employer_evaluation(
            world.link, employer_values(world, ratings=ratings), EVIDENCE, now=NOW
        )


def test_only_active_skills_are_asked(world):
    asked = evaluations.outcomes_to_rate(world.placement.programme_id)

    assert [o.text for o in asked] == [s.text for s in world.skills]


def test_a_link_of_another_purpose_cannot_carry_an_evaluation(world):
    with pytest.raises(ValueError, match="cannot carry"):
        evaluations.submit_employer_evaluation(
            world.feedback, employer_values(world), EVIDENCE, now=NOW
        )
    with pytest.raises(ValueError, match="cannot carry"):
        evaluations.submit_learner_feedback(world.link, learner_values(), EVIDENCE, now=NOW)

    assert link_row(world.link).spent_at is None
    assert link_row(world.feedback).spent_at is None


# --- the learner -----------------------------------------------------------------------------


def test_the_learners_feedback_is_stored_and_the_placement_stays(world):
    before = len(history_of(world.placement))

    evaluation = evaluations.submit_learner_feedback(
        world.feedback, learner_values(), EVIDENCE, now=NOW
    )

    assert evaluation is not None
    db.session.expire_all()
    (stored,) = evaluations_stored(world.placement)
    assert stored.kind == EvaluationKind.LEARNER
    assert stored.evaluator_name == "Lena Lernend"
    assert stored.satisfaction == 5
    assert stored.host_again is True  # recommends the workplace
    assert stored.comments == "Friendly team.\n\nMore time on the CNC machine."
    assert stored.link_id == world.feedback.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EvaluationRating)) == 0
    assert in_database(world.placement)[0] == "completed"
    assert len(history_of(world.placement)) == before
    row = link_row(world.feedback)
    assert (row.spent_at, row.decision, row.decided_ip) == (NOW, "feedback", "203.0.113.7")
    assert row.decision_data == {
        "satisfaction": 5,
        "objectives": 4,
        "went_well": "Friendly team.",
        "could_be_better": "More time on the CNC machine.",
        "recommends": True,
    }
    # The employer's link is untouched.
    assert link_row(world.link).spent_at is None


def test_the_officer_is_told_of_the_learners_feedback(world):
    evaluations.submit_learner_feedback(
        world.feedback, learner_values(recommends=False), EVIDENCE, now=NOW
    )

    (message,) = outbox()
    assert message.to_email == world.sent.world.officer.email
    assert message.subject == "Feedback from Lena Lernend on the placement at Werkzeugbau Kern GmbH"
    assert "Recommends the workplace to other learners: no" in message.body_text


def test_the_learner_may_answer_after_the_employer(world):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)

    evaluation = evaluations.submit_learner_feedback(
        world.feedback, learner_values(), EVIDENCE, now=NOW
    )

    assert evaluation is not None
    kinds = [e.kind for e in evaluations_stored(world.placement)]
    assert kinds == [EvaluationKind.EMPLOYER, EvaluationKind.LEARNER]
    assert in_database(world.placement)[0] == "evaluated"


def test_the_learners_second_submission_changes_nothing(world):
    evaluations.submit_learner_feedback(world.feedback, learner_values(), EVIDENCE, now=NOW)

    again = evaluations.submit_learner_feedback(
        world.feedback, learner_values(satisfaction=1), EVIDENCE, now=NOW
    )

    assert again is None
    assert [e.satisfaction for e in evaluations_stored(world.placement)] == [5]
    assert len(outbox()) == 1


@pytest.mark.parametrize("changes", [{"satisfaction": 0}, {"objectives": 6}])
def test_learner_answers_out_of_range_are_refused(world, changes):
    with pytest.raises(evaluations.EvaluationError):
        evaluations.submit_learner_feedback(
            world.feedback, learner_values(**changes), EVIDENCE, now=NOW
        )

    assert link_row(world.feedback).spent_at is None


# --- reading ---------------------------------------------------------------------------------


def test_evaluations_are_read_in_two_statements_whatever_their_ratings(world, count_statements):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)
    evaluations.submit_learner_feedback(world.feedback, learner_values(), EVIDENCE, now=NOW)
    placement_id = world.placement.id
    db.session.commit()
    db.session.expunge_all()

    with count_statements() as counter:
        found = evaluations.evaluations_of(placement_id)
        shown = [
            (
                e.kind,
                e.link.decision_data if e.link else None,
                [(r.outcome.text, r.outcome.position, r.rating) for r in e.ratings],
            )
            for e in found
        ]

    assert counter.count == 2
    assert [kind for kind, _data, _ratings in shown] == [
        EvaluationKind.EMPLOYER,
        EvaluationKind.LEARNER,
    ]
    assert sorted(shown[0][2], key=lambda r: r[1]) == [
        ("Reads technical drawings", 1, 5),
        ("Assembles gearboxes safely", 2, 3),
        ("Works in a team", 3, None),
    ]
    assert shown[1][1]["objectives"] == 4


def test_evaluations_of_another_placement_are_not_shown(world):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE, now=NOW)
    other = db.session.scalar(sa.select(sa.func.max(Placement.id))) + 1

    assert evaluations.evaluations_of(other) == []
    assert len(evaluations.evaluations_of(world.placement.id)) == 1
