"""The demo's action links, the officers' follow-ups they left, and the evaluations."""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import re
from collections import Counter, defaultdict
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import url_for
from markupsafe import escape

from crm.auth.models import User
from crm.contacts.models import Contact
from crm.db import utcnow
from crm.demo.answers import EMPLOYER_DECISIONS, JOB_MINUTES
from crm.demo.demo import DEMO_PASSWORD, demo_plan, load_demo
from crm.demo.learners import DEMO_STORIES, demo_learner_plan
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.evaluations.service import LEARNER_DECISION
from crm.extensions import db
from crm.followups import jobs as follow_up_jobs
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Learner, ProgrammeOutcome
from crm.links import jobs as link_jobs
from crm.links import purposes
from crm.links import service as links
from crm.links.models import ActionLink, LinkEnd, LinkPurpose
from crm.links.service import LinkStatus
from crm.organisations.models import Organisation
from crm.outbox.models import OutboxMessage, OutboxStatus
from crm.outbox.service import LINK_VALUE
from crm.partnerships.service import definition as partnership_definition
from crm.placements.adapter import definition as placement_definition
from crm.placements.confirmation import DeclineReason
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition

DOCUMENTATION_NETWORKS = (
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("198.51.100.0/24"),
)


@pytest.fixture
def demo(ctx):
    load_demo()
    db.session.flush()


def _placements() -> dict[int, Placement]:
    return {p.id: p for p in db.session.scalars(sa.select(Placement))}


def _links() -> dict[int, list[ActionLink]]:
    rows = db.session.scalars(sa.select(ActionLink).order_by(ActionLink.id))
    per_placement: dict[int, list[ActionLink]] = defaultdict(list)
    for link in rows:
        assert link.record_type == "placement"
        per_placement[link.record_id].append(link)
    return per_placement


def _steps() -> dict[int, list[WorkflowTransition]]:
    rows = db.session.scalars(
        sa.select(WorkflowTransition)
        .where(WorkflowTransition.record_type == "placement")
        .order_by(WorkflowTransition.occurred_at, WorkflowTransition.id)
    )
    per_placement: dict[int, list[WorkflowTransition]] = defaultdict(list)
    for row in rows:
        per_placement[row.record_id].append(row)
    return per_placement


def _sends(steps: list[WorkflowTransition], purpose: LinkPurpose) -> list[WorkflowTransition]:
    """The steps whose effects sent a link of the purpose."""
    wf = placement_definition()
    return [
        row
        for row in steps
        if any(
            call.name == "send_action_link" and call.params["purpose"] == purpose.value
            for call in wf.transition(row.transition).effects
        )
    ]


# --- open links and their invitations --------------------------------------------------------


def test_placements_awaiting_the_employer_have_an_open_link_whose_email_leads_to_its_page(
    demo, client, make_client, app
):
    now = utcnow()
    reader = make_client()
    reader.login("officer@demo.test", DEMO_PASSWORD)
    mailbox = reader.get("/outbox/").get_data(as_text=True)
    per_placement = _links()
    steps = _steps()
    awaiting = [p for p in _placements().values() if p.state == "awaiting_employer"]
    waiting = {
        message.template_values[LINK_VALUE]: message
        for message in db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
        if message.template_values and LINK_VALUE in message.template_values
    }

    assert len(awaiting) == sum(s.count for s in DEMO_STORIES if s.target == "awaiting_employer")
    opened = 0
    for placement in awaiting:
        confirm = [
            link
            for link in per_placement[placement.id]
            if link.purpose == LinkPurpose.CONFIRM_PLACEMENT
        ]
        link = confirm[-1]
        # Sent when the officer asked the employer, valid for the configured days.
        assert link.created_at == placement.state_entered_at == steps[placement.id][-1].occurred_at
        assert link.expires_at == link.created_at + dt.timedelta(days=app.config["CRM_LINK_DAYS"])
        assert link.created_by_id == placement.officer_id
        assert link.contact_id == placement.supervisor_id
        reminders = sum(
            1 for days in links.REMINDER_DAYS if link.created_at + dt.timedelta(days=days) < now
        )
        assert link.reminders_sent in (reminders, reminders - 1)  # the job may be due now
        if link.reminders_sent:
            assert link.last_sent_at > link.created_at + dt.timedelta(days=links.REMINDER_DAYS[0])
        else:
            assert link.last_sent_at == link.created_at
        state = links.status(link, link.purpose, placement.id, now)
        if state == LinkStatus.EXPIRED:
            assert link.id not in waiting
            continue
        assert state == LinkStatus.OPEN
        opened += 1
        # The invitation waits in the development mailbox, with the link written in: anyone
        # trying the demo reads it there and follows the link as the employer.
        message = waiting[link.id]
        assert (message.kind, message.to_email) == ("link_confirm_placement", link.recipient_email)
        assert str(escape(message.subject)) in mailbox
        shown = reader.get(f"/outbox/{message.id}")
        assert shown.status_code == 200
        address = links.link_url(link)
        assert str(escape(address)) in shown.get_data(as_text=True)
        with app.test_request_context():
            path = url_for("portal.link", **links.link_path_values(link))
        assert urlsplit(address).path == path
        response = client.get(path)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        learner = db.session.get(Learner, placement.learner_id)
        page = response.get_data(as_text=True)
        assert learner.first_name in page
        assert learner.last_name not in page
    assert opened >= 3


def test_someone_trying_the_demo_confirms_as_the_employer_and_evaluates(demo, client):
    now = utcnow()
    placements = _placements()
    open_links = [
        link
        for own in _links().values()
        for link in own
        if links.status(link, link.purpose, link.record_id, now) == LinkStatus.OPEN
    ]
    confirm = next(x for x in open_links if x.purpose == LinkPurpose.CONFIRM_PLACEMENT)
    evaluate = next(x for x in open_links if x.purpose == LinkPurpose.EVALUATE_PLACEMENT)
    supervisor = db.session.get(Contact, confirm.contact_id)
    path = urlsplit(links.link_url(confirm)).path

    response = client.post_form(
        path,
        {
            "decision": "confirm",
            "first_name": supervisor.first_name,
            "last_name": supervisor.last_name,
            "email": supervisor.email,
            "phone": supervisor.phone,
        },
    )

    assert response.status_code in (302, 303), response.get_data(as_text=True)[:1000]
    db.session.expire_all()
    placement = db.session.get(Placement, confirm.record_id)
    assert placement.state == "confirmed"
    assert db.session.get(ActionLink, confirm.id).decision == "confirm"
    assert client.get(path).status_code == 200  # the answered page
    page = client.get(urlsplit(links.link_url(evaluate)).path)
    assert page.status_code == 200
    outcome = db.session.scalar(
        sa.select(ProgrammeOutcome.text).where(
            ProgrammeOutcome.programme_id == placements[evaluate.record_id].programme_id
        )
    )
    assert str(escape(outcome)) in page.get_data(as_text=True)


def test_one_placement_awaiting_the_employer_has_an_expired_link_and_an_open_follow_up(demo):
    now = utcnow()
    per_placement = _links()
    subject = purposes.spec(LinkPurpose.CONFIRM_PLACEMENT).expired_subject()
    expired = []
    for placement in _placements().values():
        if placement.state != "awaiting_employer":
            continue
        link = per_placement[placement.id][-1]
        if links.status(link, link.purpose, placement.id, now) == LinkStatus.EXPIRED:
            expired.append((placement, link))

    assert len(expired) == 1
    placement, link = expired[0]
    assert link.spent_at is None and link.ended_at is None
    assert link.expiry_handled_at is not None and link.expiry_handled_at >= link.expires_at
    assert link.reminders_sent == len(links.REMINDER_DAYS)
    follow_up = db.session.scalar(
        sa.select(FollowUp).where(
            FollowUp.record_type == "placement", FollowUp.record_id == placement.id
        )
    )
    assert follow_up.subject == subject
    assert follow_up.status == FollowUpStatus.OPEN
    assert follow_up.assignee_id == placement.officer_id
    assert follow_up.created_at == follow_up.due_at == link.expiry_handled_at
    assert follow_up.created_by_rule == "placement.link_expired"


def test_completed_placements_have_evaluation_and_feedback_links(demo):
    now = utcnow()
    per_placement = _links()
    steps = _steps()
    completed = [p for p in _placements().values() if p.state == "completed"]
    waiting = Counter(
        db.session.scalars(
            sa.select(OutboxMessage.kind).where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    )

    open_ones = Counter()
    for placement in completed:
        completed_at = steps[placement.id][-1].occurred_at
        for purpose in (LinkPurpose.EVALUATE_PLACEMENT, LinkPurpose.LEARNER_FEEDBACK):
            own = [link for link in per_placement[placement.id] if link.purpose == purpose]
            assert own[0].created_at == completed_at
            # The officer sent new links in place of expired ones, each superseding the last.
            for old, new in itertools.pairwise(own):
                assert old.expiry_handled_at < old.ended_at == new.created_at
                assert (old.end_reason, new.created_by_id) == (
                    LinkEnd.SUPERSEDED,
                    placement.officer_id,
                )
            state = links.status(own[-1], purpose, placement.id, now)
            if purpose == LinkPurpose.EVALUATE_PLACEMENT:
                assert state in (LinkStatus.OPEN, LinkStatus.EXPIRED)  # an answer evaluates
            else:
                assert state in (LinkStatus.OPEN, LinkStatus.EXPIRED, LinkStatus.SPENT)
            open_ones[purpose] += state == LinkStatus.OPEN
    assert open_ones[LinkPurpose.EVALUATE_PLACEMENT] >= 1
    assert waiting["link_evaluate_placement"] == open_ones[LinkPurpose.EVALUATE_PLACEMENT]
    assert waiting["link_learner_feedback"] == open_ones[LinkPurpose.LEARNER_FEEDBACK]


# --- what became of the links ------------------------------------------------------------------


def test_spent_links_match_the_employers_steps(demo):
    per_placement = _links()
    steps = _steps()
    placements = _placements()
    employer_steps = 0

    for placement_id, rows in steps.items():
        own = per_placement[placement_id]
        for row in rows:
            if row.actor_kind != "employer":
                continue
            employer_steps += 1
            spent = [link for link in own if link.spent_at == row.occurred_at]
            assert len(spent) == 1, (placement_id, row.transition)
            link = spent[0]
            assert link.decision == EMPLOYER_DECISIONS[row.transition]
            assert link.organisation_id == row.organisation_id
            assert link.recipient_name == row.actor_label
            assert link.created_at < link.spent_at < link.expires_at
            assert any(
                ipaddress.ip_address(link.decided_ip) in network
                for network in DOCUMENTATION_NETWORKS
            )
            assert "Mobile" in link.decided_user_agent
            if row.transition == "decline":
                reason = DeclineReason(link.decision_data["reason"])
                assert row.comment == f"{reason.label}: {link.decision_data['details']}"
            elif row.transition == "propose_dates":
                proposal = link.decision_data
                start = dt.date.fromisoformat(proposal["start_date"])
                assert start > placements[placement_id].start_date
                assert proposal["note"] in row.comment
            elif row.transition == "confirm":
                assert link.decision_data["email"] == link.recipient_email
        for link in own:  # every link answered by the employer has its step
            if link.spent_at is not None and link.decision != LEARNER_DECISION:
                assert any(
                    r.actor_kind == "employer" and r.occurred_at == link.spent_at for r in rows
                ), (placement_id, link.decision)
    assert employer_steps >= 20
    answered = {r.transition for rows in steps.values() for r in rows if r.actor_kind == "employer"}
    assert answered == {"confirm", "decline", "propose_dates", "evaluate"}


def test_links_live_and_end_as_the_service_and_its_jobs_leave_them(demo):
    now = utcnow()
    placements = _placements()
    steps = _steps()
    reasons = Counter()

    for placement_id, own in _links().items():
        placement = placements[placement_id]
        rows = steps[placement_id]
        for link in own:
            spec = purposes.spec(link.purpose)
            reasons[link.end_reason] += 1
            assert links.find(links.token_for(link)) == link  # the token works, and is unique
            sent_by = [r.occurred_at for r in _sends(rows, link.purpose)]
            asked_again = [other.fresh_requested_at for other in own if other.fresh_requested_at]
            sent_again = [  # by the officer, in place of an expired link
                other.ended_at
                for other in own
                if other.purpose == link.purpose
                and other.end_reason == LinkEnd.SUPERSEDED
                and other.fresh_requested_at is None
                and other.expiry_handled_at is not None
            ]
            if link.created_by_id is not None:
                assert link.created_by_id == placement.officer_id
                assert link.created_at in sent_by + sent_again
            else:  # a fresh link its recipient asked for on the expired link's page
                assert link.created_at in asked_again
            if link.spent_at is None and link.ended_at is None:
                # Live links are those whose placement still waits for their answer.
                assert placement.state in spec.open_states, (placement_id, link.purpose)
            if link.end_reason == LinkEnd.CLOSED:
                assert link.ended_at in [r.occurred_at for r in rows]
            if link.end_reason == LinkEnd.SUPERSEDED:
                assert link.ended_at in sent_by + asked_again + sent_again
            if link.expiry_handled_at is not None:
                assert link.expires_at <= link.expiry_handled_at <= now
            end = min(t for t in (link.spent_at, link.ended_at, link.expires_at, now) if t)
            due = [link.created_at + dt.timedelta(days=d) for d in links.REMINDER_DAYS]
            assert link.reminders_sent <= sum(1 for moment in due if moment < end)
            assert link.last_sent_at >= link.created_at
    assert reasons[LinkEnd.CLOSED] and reasons[LinkEnd.SUPERSEDED]
    assert not reasons[LinkEnd.REVOKED] and not reasons[LinkEnd.CHANGED]


def test_the_link_and_follow_up_jobs_find_nothing_the_demo_left_undone(demo):
    """Reminders, expiries and the officers' reminders are as the jobs would have left them:
    their first run sends only reminders that fell due today (the demo is planned up to
    midnight)."""
    now = utcnow()
    midnight = dt.datetime.combine(now.date(), dt.time(), dt.UTC)
    due_today = []
    for link in db.session.scalars(sa.select(ActionLink)):
        if link.spent_at or link.ended_at or link.expires_at <= now:
            continue
        due = [link.created_at + dt.timedelta(days=d) for d in links.REMINDER_DAYS]
        missing = [moment for moment in due if moment <= now][link.reminders_sent :]
        assert all(moment > midnight - dt.timedelta(minutes=JOB_MINUTES[1]) for moment in missing)
        due_today += missing[:1]

    assert link_jobs.send_link_reminders(now=now).handled == len(due_today)
    assert link_jobs.handle_expired_links(now=now).handled == 0
    assert follow_up_jobs.send_due_reminders(now=now).reminded == 0


def test_follow_ups_come_from_expired_links_and_the_workflow(demo):
    wf = placement_definition()
    scheduled = {
        f"{wf.name}.{t.name}"
        for t in wf.transitions
        if any(call.name == "schedule_follow_up" for call in t.effects)
    }
    per_placement = _links()
    placements = _placements()
    steps = _steps()
    follow_ups = list(
        db.session.scalars(sa.select(FollowUp).where(FollowUp.record_type == "placement"))
    )

    assert follow_ups
    for follow_up in follow_ups:
        placement = placements[follow_up.record_id]
        assert follow_up.assignee_id == placement.officer_id
        if follow_up.created_by_rule in scheduled:
            continue
        if follow_up.created_by_rule == "":  # the officer's own (crm.demo.demo_outcomes)
            assert follow_up.created_by_id == placement.officer_id
            continue
        own = per_placement[follow_up.record_id]
        if follow_up.created_by_rule == "placement.link_expired":
            link = next(x for x in own if x.expiry_handled_at == follow_up.created_at)
            assert follow_up.subject == purposes.spec(link.purpose).expired_subject()
        else:
            assert follow_up.created_by_rule == "placement.link_fresh_requested"
            link = next(x for x in own if x.created_at == follow_up.created_at)
            assert link.created_by_id is None
        assert follow_up.organisation_id == link.organisation_id
        # The first later step that closes the workflow's follow-ups closed it, unless the
        # officer had ticked it off before.
        closing = [
            row.occurred_at
            for row in steps[follow_up.record_id]
            if row.occurred_at >= follow_up.created_at
            and any(
                call.name == "close_follow_ups" for call in wf.transition(row.transition).effects
            )
        ]
        if follow_up.status == FollowUpStatus.OPEN:
            # Still to do: the link expired unanswered and the placement still waits.
            assert not closing
            assert link.spent_at is None and link.ended_at is None
            assert placement.state in purposes.spec(link.purpose).open_states
        else:
            assert follow_up.created_at <= follow_up.completed_at <= utcnow()
            if follow_up.completed_by_id is None:
                assert follow_up.completed_at == closing[0]
            else:
                assert follow_up.completed_by_id == placement.officer_id
                assert not closing or follow_up.completed_at < closing[0]
    open_in = {placements[f.record_id].state for f in follow_ups if f.status == "open"}
    assert "awaiting_employer" in open_in  # the employer to call (the expired link's story)


# --- evaluations -----------------------------------------------------------------------------


def test_evaluated_placements_have_the_employers_evaluation_with_a_rating_per_skill(demo):
    placements = _placements()
    steps = _steps()
    per_placement = _links()
    evaluations = list(db.session.scalars(sa.select(Evaluation)))
    ratings: dict[int, dict[int, int | None]] = defaultdict(dict)
    for rating in db.session.scalars(sa.select(EvaluationRating)):
        ratings[rating.evaluation_id][rating.outcome_id] = rating.rating
    outcomes: dict[int, set[int]] = defaultdict(set)
    for programme_id, outcome_id in db.session.execute(
        sa.select(ProgrammeOutcome.programme_id, ProgrammeOutcome.id)
    ):
        outcomes[programme_id].add(outcome_id)
    employer = {e.placement_id: e for e in evaluations if e.kind == EvaluationKind.EMPLOYER}
    evaluated = {p.id for p in placements.values() if p.state == "evaluated"}

    assert set(employer) == evaluated
    for placement_id, evaluation in employer.items():
        placement = placements[placement_id]
        step = steps[placement_id][-1]
        assert step.transition == "evaluate"
        assert evaluation.submitted_at == step.occurred_at
        assert evaluation.programme_id == placement.programme_id
        assert evaluation.organisation_id == placement.organisation_id
        assert set(ratings[evaluation.id]) == outcomes[placement.programme_id]
        assert any(value is not None for value in ratings[evaluation.id].values())
        if step.actor_kind == "employer":  # through the link, which it spent
            link = db.session.get(ActionLink, evaluation.link_id)
            assert link.purpose == LinkPurpose.EVALUATE_PLACEMENT
            assert link.spent_at == step.occurred_at and link.record_id == placement_id
            assert link.decision_data["satisfaction"] == evaluation.satisfaction
        else:  # the officer entered what the employer said
            assert evaluation.link_id is None
        # The organisation's capacity pledge is the answer to "would you host again?".
        organisation = db.session.get(Organisation, evaluation.organisation_id)
        assert evaluation.host_again == (organisation.capacity_pledge > 0)
        if evaluation.host_again:
            assert evaluation.host_again_count == organisation.capacity_pledge
            assert evaluation.host_again_period == organisation.capacity_period
        evaluation_links = [
            link
            for link in per_placement[placement_id]
            if link.purpose == LinkPurpose.EVALUATE_PLACEMENT
        ]
        assert evaluation_links and all(link.spent_at or link.ended_at for link in evaluation_links)
    every_rating = [value for own in ratings.values() for value in own.values()]
    assert None in every_rating and set(every_rating) - {None} <= {1, 2, 3, 4, 5}
    satisfaction = Counter(e.satisfaction for e in employer.values())
    assert satisfaction[4] + satisfaction[5] > len(employer) / 2
    assert satisfaction[2] + satisfaction[3] >= 1
    assert sum(1 for e in employer.values() if e.comments) > len(employer) / 2
    assert sum(1 for e in employer.values() if e.link_id) > len(employer) / 2


def test_some_learners_gave_feedback_through_their_link(demo):
    evaluations = [
        e for e in db.session.scalars(sa.select(Evaluation)) if e.kind == EvaluationKind.LEARNER
    ]
    placements = _placements()

    assert len(evaluations) >= 3
    for evaluation in evaluations:
        placement = placements[evaluation.placement_id]
        link = db.session.get(ActionLink, evaluation.link_id)
        learner = db.session.get(Learner, placement.learner_id)
        assert placement.state in ("completed", "evaluated")
        assert link.purpose == LinkPurpose.LEARNER_FEEDBACK
        assert link.learner_id == learner.id and link.recipient_email == learner.email
        assert (link.decision, link.spent_at) == (LEARNER_DECISION, evaluation.submitted_at)
        assert link.decision_data["satisfaction"] == evaluation.satisfaction
        assert link.decision_data["recommends"] == evaluation.host_again
        assert evaluation.evaluator_name == learner.name
        assert not db.session.scalar(
            sa.select(sa.func.count())
            .select_from(EvaluationRating)
            .where(EvaluationRating.evaluation_id == evaluation.id)
        )


def test_officers_open_the_placements_with_links_and_evaluations(demo, make_client):
    placements = _placements()
    officers = {u.id: u.email for u in db.session.scalars(sa.select(User))}
    shown = {}
    for placement in placements.values():
        shown.setdefault(placement.state, placement)

    clients = {}
    for state, placement in sorted(shown.items()):
        email = officers[placement.officer_id]
        if email not in clients:
            clients[email] = make_client()
            clients[email].login(email, DEMO_PASSWORD)
        response = clients[email].get(f"/placements/{placement.id}")
        assert response.status_code == 200, (state, response.get_data(as_text=True)[:500])
        page = response.get_data(as_text=True)
        assert not re.search(r"/l/[a-z]+/\d+/[A-Za-z0-9_-]{43}", page)  # no token for staff


# --- the plan ----------------------------------------------------------------------------------


def test_demo_answers_are_the_same_every_time(ctx):
    today = utcnow().date()
    pw, lw = partnership_definition(), placement_definition()
    first = demo_learner_plan(today, demo_plan(today), pw, lw)
    second = demo_learner_plan(today, demo_plan(today), pw, lw)

    assert first.answers == second.answers
    assert [p.history.steps for p in first.placements] == [
        p.history.steps for p in second.placements
    ]
    assert sum(len(a.links) for a in first.answers) > len(first.placements)


def test_demo_answers_tell_their_stories_whatever_the_day(ctx):
    """Open links to try, one expired link to chase, evaluations mostly but not all happy:
    on any day of the year (the tests above see only the day they run)."""
    pw, lw = partnership_definition(), placement_definition()
    for offset in range(0, 365, 7):
        today = dt.date(2027, 1, 5) + dt.timedelta(days=offset)
        plan = demo_learner_plan(today, demo_plan(today), pw, lw)
        now = dt.datetime.combine(today, dt.time(), dt.UTC)
        newest = defaultdict(list)
        satisfaction = []
        for item, answers in zip(plan.placements, plan.answers, strict=True):
            own = {link.purpose: link for link in answers.links}  # the newest of each
            for purpose, link in own.items():
                newest[(item.history.state, purpose)].append(link)
            satisfaction += [
                e.satisfaction for e in answers.evaluations if e.kind == EvaluationKind.EMPLOYER
            ]
        confirm = newest[("awaiting_employer", LinkPurpose.CONFIRM_PLACEMENT)]
        expired = [link for link in confirm if not link.is_open_at(now)]
        assert len(confirm) - len(expired) >= 3, today
        assert len(expired) == 1 and expired[0].follow_up.completed_at is None, today
        evaluation = newest[("completed", LinkPurpose.EVALUATE_PLACEMENT)]
        assert any(link.is_open_at(now) for link in evaluation), today
        assert len(satisfaction) == sum(s.count for s in DEMO_STORIES if s.target == "evaluated")
        assert min(satisfaction) <= 3 < 4 <= max(satisfaction), today


def test_demo_command_says_where_to_answer_as_an_employer(app, ctx):
    result = app.test_cli_runner().invoke(args=["crm", "demo"])

    assert result.exit_code == 0, result.output
    queued = db.session.scalar(
        sa.select(sa.func.count(OutboxMessage.id)).where(OutboxMessage.kind.like("link_%"))
    )
    assert queued and f"{queued} links to employers and learners are waiting" in result.output
    assert "/outbox/" in result.output
