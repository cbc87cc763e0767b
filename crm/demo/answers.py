"""The demo's action links and evaluations, planned from the placements' histories.

Planned after the placements, from a seeded random source of its own, so the placements are
the same whatever is planned here. A placement's steps say when links went out: every step
whose effects include `send_action_link` sends a link of that purpose to the recipient of the
moment (the supervisor of the employer the placement was with, or the learner), superseding
an earlier unanswered one. Each link then lives as the link service and its jobs would have
it:

- the employer's step (confirm, decline, propose other dates, evaluate) spends the link it
  answers at that moment, with the evidence the link page keeps (an address from the
  documentation ranges, a phone's browser); an answer after the link's expiry came through
  a fresh link the employer asked for on the expired link's page;
- any other step that leaves the states a link decides in closes it (the officer confirmed
  by phone, the placement was postponed);
- a link left unanswered past its expiry was handled by the expiry job a few minutes later,
  which gave the officer a follow-up; a later step that closes the workflow's follow-ups
  closes it, and the officer ticks off those left on a finished placement;
- an officer whose evaluation or feedback link expired sends a new one a few days later;
- reminders went out 3 and 7 days after a link was sent, while it was still open;
- learners answer their feedback link, or not, in their own time.

Evaluations come with their answers: the employer's rates every skill of the programme near
the overall satisfaction (a few "not observed"), a point lower for the programme's weakest
skills (`crm.demo.programmes.SKILL_TENDENCIES`), and its "would you host again?" is the
organisation's capacity pledge as it stands (the answer sets the pledge).

Links still open on the day of loading are issued through the link service
(crm.demo.answers_load), so that their invitations wait in the outbox.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask_babel import force_locale
from flask_babel import gettext as _

from crm.demo.placements import office_time
from crm.demo.programmes import PROGRAMMES_BY_CODE, skill_tendency
from crm.demo.stories import (
    DECLINE_REASON_KINDS,
    EMPLOYER_COMMENTS,
    EMPLOYER_NO_ROOM,
    LEARNER_COULD_BE_BETTER,
    LEARNER_WENT_WELL,
    PROPOSAL_NOTES,
    WEEKS_LATER,
)
from crm.evaluations.models import EvaluationKind
from crm.evaluations.service import EMPLOYER_DECISION, LEARNER_DECISION
from crm.followups.jobs import babel_locale, local_date
from crm.links.models import LinkEnd, LinkPurpose
from crm.links.purposes import SPECS
from crm.links.service import REMINDER_DAYS
from crm.organisations.models import CapacityPeriod
from crm.placements.confirmation import DECISIONS, DeclineReason
from crm.workflow.definitions import WorkflowDef

if TYPE_CHECKING:
    from crm.demo.learners import DemoPlacement
    from crm.demo.placements import PlacementHistory, PlacementStep

ANSWER_SEED = 1618
# Who a link went to: the supervisor of the employer the placement is with now, the one of
# an employer that declined before the placement was matched again, or the learner.
SUPERVISOR, FIRST_SUPERVISOR, LEARNER = "supervisor", "first_supervisor", "learner"
LEARNER_PURPOSES = frozenset({LinkPurpose.LEARNER_FEEDBACK})
# Why a link gave the officer a follow-up (the rules are the workflow's, `placement.link_*`).
EXPIRED, FRESH_REQUESTED = "link_expired", "link_fresh_requested"
JOB_MINUTES = (1, 9)  # from a reminder or an expiry falling due to the job's run
LEARNER_ANSWER_SHARE = 0.55
LEARNER_ANSWER_DAYS = (0.2, 9.0)
NOT_OBSERVED_SHARE = 0.12
COMMENT_SHARE = 0.85
HOST_AGAIN_FROM_SHARE = 0.4
# After an evaluation or feedback link expired, the officer sends a new one a few days later:
# the employer's evaluation until it comes, the learner's feedback once. An employer who did
# not confirm is called instead (the officer's follow-up says so).
RESENDS = {LinkPurpose.EVALUATE_PLACEMENT: 10, LinkPurpose.LEARNER_FEEDBACK: 1}
RESEND_DAYS = (1, 3)
TICKED_OFF_DAYS = (1, 6)  # an officer ticks off a finished placement's follow-up
OFFICE_MINUTES = (7 * 60, 16 * 60)  # office hours, UTC
# Overall satisfaction is dealt from a shuffled deck, reshuffled when it runs out, so that
# every twenty answers are mostly satisfied and a few not, whatever the day of loading.
EMPLOYER_SATISFACTION = (5,) * 8 + (4,) * 7 + (3,) * 3 + (2, 1)
LEARNER_SATISFACTION = (5,) * 7 + (4,) * 8 + (3,) * 3 + (2, 1)
# Where decisions come from: the documentation address ranges (RFC 5737) and phones.
NETWORKS = ("203.0.113", "198.51.100")
MOBILE_BROWSERS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.6478.122 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_8 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/126.0.6478.153 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Android 14; Mobile; rv:127.0) Gecko/127.0 Firefox/127.0",
    "Mozilla/5.0 (Linux; Android 12; moto g(60)) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.6422.165 Mobile Safari/537.36",
)
# The decision an employer's step writes on the link it answers (as the link pages do).
EMPLOYER_DECISIONS = {transition: decision for decision, transition in DECISIONS.values()}
EMPLOYER_DECISIONS["evaluate"] = EMPLOYER_DECISION


@dataclass
class LinkFollowUp:
    """The officer's follow-up about a link, and what became of it: made when the link
    expired unanswered, or (on a fresh link) when its recipient asked for it."""

    created_at: dt.datetime
    reason: str = EXPIRED  # EXPIRED or FRESH_REQUESTED
    completed_at: dt.datetime | None = None
    done_by_owner: bool = False  # ticked off by the officer, not closed by a later step


@dataclass
class LinkPlan:
    """One link of a placement, as it stands on the day of planning."""

    purpose: LinkPurpose
    recipient: str  # SUPERVISOR, FIRST_SUPERVISOR or LEARNER
    created_at: dt.datetime
    expires_at: dt.datetime
    job_minutes: int
    sent_by_officer: bool = True  # False: a fresh link its recipient asked for
    learner_answers_at: dt.datetime | None = None
    reminders_sent: int = 0
    last_sent_at: dt.datetime | None = None
    spent_at: dt.datetime | None = None
    decision: str = ""
    answer: dict[str, Any] | None = None  # the decision's data (a confirmation's: on loading)
    ip: str = ""
    user_agent: str = ""
    ended_at: dt.datetime | None = None
    end_reason: LinkEnd | None = None
    expiry_handled_at: dt.datetime | None = None
    fresh_requested_at: dt.datetime | None = None
    follow_up: LinkFollowUp | None = None
    resends: int = 0  # how many links of the purpose the officer sent again before this one
    resent_at: dt.datetime | None = None  # when the officer sent a new one in its place

    @property
    def is_live(self) -> bool:
        """Neither answered nor ended (it may have expired)."""
        return self.spent_at is None and self.ended_at is None

    def is_open_at(self, moment: dt.datetime) -> bool:
        """Whether the link still decides at `moment`: unanswered, not ended (a link ends when
        its record leaves the states it decides in) and not expired."""
        return self.is_live and self.expires_at > moment

    def as_of(self, moment: dt.datetime) -> LinkPlan:
        """The link at `moment`, later than planned: if it expired meanwhile, the expiry job
        has handled it (by `moment` at the latest) and the officer has a follow-up."""
        if not self.is_live or self.expiry_handled_at or self.expires_at > moment:
            return self
        handled = min(self.expires_at + dt.timedelta(minutes=self.job_minutes), moment)
        return dataclasses.replace(self, expiry_handled_at=handled, follow_up=LinkFollowUp(handled))


@dataclass(frozen=True)
class EvaluationPlan:
    """An evaluation of a placement: the employer's, or the learner's feedback."""

    kind: EvaluationKind
    submitted_at: dt.datetime
    satisfaction: int
    comments: str
    ratings: tuple[int | None, ...] = ()  # per programme outcome, in order; None: not observed
    host_again: bool | None = None  # the learner's: would recommend the workplace
    host_again_count: int | None = None
    host_again_period: CapacityPeriod | None = None
    host_again_from: dt.date | None = None
    link: int | None = None  # the position of the link that carried it, if one did


@dataclass
class PlacementAnswers:
    """A placement's links, oldest first, and its evaluations."""

    links: list[LinkPlan] = field(default_factory=list)
    evaluations: list[EvaluationPlan] = field(default_factory=list)


class Deck:
    """Cards dealt in a shuffled order, shuffled again when all are dealt."""

    def __init__(self, cards: Sequence[int], rng: random.Random):
        self.cards = list(cards)
        self.rng = rng
        self.left: list[int] = []

    def deal(self) -> int:
        """The next card."""
        if not self.left:
            self.left = self.rng.sample(self.cards, len(self.cards))
        return self.left.pop()


class AnswerPlanner:
    """Plans the links and evaluations of planned placements."""

    def __init__(
        self, definition: WorkflowDef, rng: random.Random, now: dt.datetime, link_days: int
    ):
        self.definition = definition
        self.rng = rng
        self.now = now
        self.link_days = dt.timedelta(days=link_days)
        self.employers = Deck(EMPLOYER_SATISFACTION, rng)
        self.learners = Deck(LEARNER_SATISFACTION, rng)
        self.open_states = {
            spec.purpose: spec.open_states
            for spec in SPECS.values()
            if spec.record_type == definition.record
        }

    def plan(
        self, placement: DemoPlacement, first_name: str, pledge: tuple[int, CapacityPeriod]
    ) -> PlacementAnswers:
        """The placement's links and evaluations; employer answers reword their steps'
        comments as the link pages write them."""
        history = placement.history
        answers = PlacementAnswers()
        links = answers.links
        recipient: str | None = None
        for step in history.steps:
            moment = step.occurred_at
            self._until(links, moment, answers)
            leaving = [
                link
                for link in links
                if link.is_live and step.transition.to not in self.open_states[link.purpose]
            ]
            answered = None
            if step.actor == "employer":
                answered = next((link for link in leaving if link.recipient != LEARNER), None)
                if answered is not None:
                    answered = self._answer(links, answered, step, placement, history)
            if step.transition.name == "evaluate":
                position = links.index(answered) if answered is not None else None
                evaluation = self._evaluation(step, placement, first_name, pledge, position)
                answers.evaluations.append(evaluation)
                if answered is not None:
                    answered.answer = {
                        "satisfaction": evaluation.satisfaction,
                        "host_again": evaluation.host_again,
                    }
            for link in links:  # the record left the states these links decide in
                if link.is_live and step.transition.to not in self.open_states[link.purpose]:
                    link.ended_at, link.end_reason = moment, LinkEnd.CLOSED
            if any(call.name == "close_follow_ups" for call in step.transition.effects):
                for link in links:
                    if link.follow_up and link.follow_up.completed_at is None:
                        link.follow_up.completed_at = moment
            if step.transition.name == "match":
                recipient = FIRST_SUPERVISOR if step.first_host else SUPERVISOR
            for call in step.transition.effects:
                if call.name == "send_action_link":
                    purpose = LinkPurpose(call.params["purpose"])
                    to = LEARNER if purpose in LEARNER_PURPOSES else recipient or SUPERVISOR
                    self._send(links, purpose, to, moment)
        self._until(links, self.now, answers)
        self._settle(links, history)
        return answers

    # --- what happens between steps ---------------------------------------------------------

    def _send(
        self,
        links: list[LinkPlan],
        purpose: LinkPurpose,
        recipient: str,
        moment: dt.datetime,
        resends: int = 0,
    ) -> None:
        """A new link; the purpose's earlier unanswered one is superseded."""
        for link in links:
            if link.purpose == purpose and link.is_live:
                link.ended_at, link.end_reason = moment, LinkEnd.SUPERSEDED
        link = LinkPlan(
            purpose,
            recipient,
            moment,
            moment + self.link_days,
            self.rng.randint(*JOB_MINUTES),
            resends=resends,
        )
        if recipient == LEARNER and self.rng.random() < LEARNER_ANSWER_SHARE:
            days = self.rng.uniform(*LEARNER_ANSWER_DAYS)
            link.learner_answers_at = (moment + dt.timedelta(days=days)).replace(microsecond=0)
        links.append(link)

    def _until(self, links: list[LinkPlan], moment: dt.datetime, answers: PlacementAnswers) -> None:
        """What happened to the live links before `moment`: learners' answers, expiries, and
        the new links officers sent in place of expired ones."""
        position = 0
        while position < len(links):  # a link sent again is looked at in its turn
            link = links[position]
            position += 1
            if not link.is_live:
                continue
            if link.expiry_handled_at is None:
                answer_at = link.learner_answers_at
                if answer_at is not None and answer_at < min(moment, link.expires_at):
                    answers.evaluations.append(self._feedback(link, position - 1, answer_at))
                    continue
                handled = link.expires_at + dt.timedelta(minutes=link.job_minutes)
                if handled >= moment:
                    continue
                link.expiry_handled_at = handled
                link.follow_up = LinkFollowUp(handled)
                if link.resends < RESENDS.get(link.purpose, 0):
                    day = handled.date() + dt.timedelta(days=self.rng.randint(*RESEND_DAYS))
                    link.resent_at = office_time(day, self.rng.randint(*OFFICE_MINUTES))
            if link.resent_at is not None and link.resent_at < moment:
                # The officer acted on the follow-up: "Send a new link" on the placement page.
                assert link.follow_up is not None
                link.follow_up.completed_at, link.follow_up.done_by_owner = link.resent_at, True
                self._send(links, link.purpose, link.recipient, link.resent_at, link.resends + 1)

    def _settle(self, links: list[LinkPlan], history: PlacementHistory) -> None:
        """Reminders sent while each link was open; the follow-ups an officer ticked off."""
        for link in links:
            ends = [link.expires_at, self.now]
            ends += [moment for moment in (link.spent_at, link.ended_at) if moment is not None]
            end = min(ends)
            sent = [
                link.created_at + dt.timedelta(days=days, minutes=link.job_minutes)
                for days in REMINDER_DAYS
            ]
            sent = [moment for moment in sent if moment < end]
            link.reminders_sent = len(sent)
            link.last_sent_at = sent[-1] if sent else link.created_at
            follow_up = link.follow_up
            if follow_up is None or follow_up.completed_at is not None:
                continue
            if link.ended_at is not None:  # the officer moved the placement on (postponed)
                follow_up.completed_at, follow_up.done_by_owner = link.ended_at, True
            elif self.definition.states[history.state].terminal:
                day = follow_up.created_at.date() + dt.timedelta(
                    days=self.rng.randint(*TICKED_OFF_DAYS)
                )
                ticked = office_time(day, self.rng.randint(*OFFICE_MINUTES))
                if ticked < self.now:
                    follow_up.completed_at, follow_up.done_by_owner = ticked, True

    # --- answers ----------------------------------------------------------------------------

    def _evidence(self, link: LinkPlan) -> None:
        link.ip = f"{self.rng.choice(NETWORKS)}.{self.rng.randint(2, 254)}"
        link.user_agent = self.rng.choice(MOBILE_BROWSERS)

    def _answer(
        self,
        links: list[LinkPlan],
        link: LinkPlan,
        step: PlacementStep,
        placement: DemoPlacement,
        history: PlacementHistory,
    ) -> LinkPlan:
        """Spend the link the employer's step answers (a fresh one if it had expired)."""
        moment = step.occurred_at
        if link.expires_at < moment:
            # The employer opened the expired link, asked for a fresh one on its page and
            # answered through the fresh link minutes later.
            since = link.expiry_handled_at or link.expires_at
            minutes = self.rng.randint(3, 40)
            fresh = min(moment, max(since, moment - dt.timedelta(minutes=minutes)))
            link.fresh_requested_at = fresh
            link.ended_at, link.end_reason = fresh, LinkEnd.SUPERSEDED
            link = LinkPlan(
                link.purpose,
                link.recipient,
                fresh,
                fresh + self.link_days,
                self.rng.randint(*JOB_MINUTES),
                sent_by_officer=False,
                follow_up=LinkFollowUp(fresh, FRESH_REQUESTED),
            )
            links.append(link)
        name = step.transition.name
        link.spent_at, link.decision = moment, EMPLOYER_DECISIONS[name]
        self._evidence(link)
        if name == "decline":
            kind = DECLINE_REASON_KINDS.get(step.comment, DeclineReason.OTHER.value)
            link.answer = {"reason": kind, "details": step.comment}
            step.comment = decline_comment(DeclineReason(kind), step.comment)
            if history.state == "declined" and step is history.steps[-1]:
                history.texts["decline_reason"] = step.comment
        elif name == "propose_dates":
            weeks = self.rng.randint(1, 4)
            start = placement.start + dt.timedelta(weeks=weeks)
            end = placement.end + dt.timedelta(weeks=weeks)
            note = self.rng.choice(PROPOSAL_NOTES).format(later=WEEKS_LATER[weeks])
            link.answer = {
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "note": note,
            }
            step.comment = proposal_comment(start, end, note)
        return link

    def _evaluation(
        self,
        step: PlacementStep,
        placement: DemoPlacement,
        first_name: str,
        pledge: tuple[int, CapacityPeriod],
        link: int | None,
    ) -> EvaluationPlan:
        """The employer's evaluation: skills rated near the overall satisfaction, and the
        host-again answer the organisation's capacity pledge now shows."""
        rng = self.rng
        satisfaction = self.employers.deal()
        outcomes = PROGRAMMES_BY_CODE[placement.programme].outcomes
        ratings = [
            None
            if rng.random() < NOT_OBSERVED_SHARE
            else min(
                5,
                max(
                    1,
                    satisfaction
                    + rng.choice((-1, 0, 0, 1))
                    + round(skill_tendency(placement.programme, position)),
                ),
            )
            for position in range(len(outcomes))
        ]
        if ratings and all(rating is None for rating in ratings):
            ratings[0] = satisfaction
        band = "high" if satisfaction >= 4 else "mid" if satisfaction == 3 else "low"
        comments = ""
        if rng.random() < COMMENT_SHARE:
            comments = rng.choice(EMPLOYER_COMMENTS[band]).format(name=first_name)
        count, period = pledge
        if not count:
            comments = " ".join(text for text in (comments, rng.choice(EMPLOYER_NO_ROOM)) if text)
        starting = None
        if count and rng.random() < HOST_AGAIN_FROM_SHARE:
            later = step.occurred_at.date() + dt.timedelta(days=rng.randint(30, 120))
            starting = later.replace(day=1)
        return EvaluationPlan(
            EvaluationKind.EMPLOYER,
            step.occurred_at,
            satisfaction,
            comments,
            tuple(ratings),
            host_again=count > 0,
            host_again_count=count or None,
            host_again_period=period if count else None,
            host_again_from=starting,
            link=link,
        )

    def _feedback(self, link: LinkPlan, position: int, moment: dt.datetime) -> EvaluationPlan:
        """The learner answers their feedback link."""
        rng = self.rng
        satisfaction = self.learners.deal()
        objectives = min(5, max(1, satisfaction + rng.choice((-1, 0, 0))))
        went_well = rng.choice(LEARNER_WENT_WELL) if satisfaction >= 3 else ""
        could_be_better = rng.choice(LEARNER_COULD_BE_BETTER)
        recommends = satisfaction >= 4 or (satisfaction == 3 and rng.random() < 0.5)
        link.spent_at, link.decision = moment, LEARNER_DECISION
        link.answer = {
            "satisfaction": satisfaction,
            "objectives": objectives,
            "went_well": went_well,
            "could_be_better": could_be_better,
            "recommends": recommends,
        }
        self._evidence(link)
        return EvaluationPlan(
            EvaluationKind.LEARNER,
            moment,
            satisfaction,
            "\n\n".join(text for text in (went_well, could_be_better) if text),
            host_again=recommends,
            link=position,
        )


# --- the history's words, as the link pages write them (in the officer's language) -----------


def decline_comment(reason: DeclineReason, details: str) -> str:
    """A decline through the link: the reason from the list, then the employer's words."""
    with force_locale(babel_locale("en")):
        return f"{reason.label}: {details}" if details else reason.label


def proposal_comment(start: dt.date, end: dt.date, note: str) -> str:
    """Other dates proposed through the link."""
    with force_locale(babel_locale("en")):
        dates = _(
            "Proposed dates: %(start)s – %(end)s", start=local_date(start), end=local_date(end)
        )
    return f"{dates}\n{note}" if note else dates


def plan_answers(
    placements: Sequence[DemoPlacement],
    first_names: Sequence[str],
    pledges: Sequence[tuple[int, CapacityPeriod]],
    definition: WorkflowDef,
    now: dt.datetime,
    link_days: int,
) -> list[PlacementAnswers]:
    """The links and evaluations of each placement (with its learner's first name and its
    host's capacity pledge), the same on every call."""
    planner = AnswerPlanner(definition, random.Random(ANSWER_SEED), now, link_days)
    return [
        planner.plan(placement, first_name, pledge)
        for placement, first_name, pledge in zip(placements, first_names, pledges, strict=True)
    ]
