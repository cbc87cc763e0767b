"""Placement histories for both data sets: walks through the placement workflow, timed
around the placement's dates.

A history is planned from where the placement stands now and its dates. A placement that has
started is timed from its first day: the steps before it (match, ask the employer, confirm,
agreement) are counted back from the start, completion falls on the last day or shortly
after, the evaluation follows within the stage's SLA. One that has not started is timed back
from now: it entered its stage a while ago (mostly within the stage's SLA, a few overdue),
and every earlier step lies before that. Whatever the guards of the steps ask for is filled
in (supervisor, role and objectives, guardian consent for minors, hours logged or a reason,
the pre-placement checklist), and the follow-ups the steps' effects write are derived from
the same walk, so the rows look as if the app had written them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from decimal import Decimal

from crm.demo.histories import PlannedFollowUp, planned_follow_ups
from crm.demo.programmes import ProgrammePlan
from crm.demo.stories import (
    CANCEL_DURING_REASONS,
    CANCEL_REASONS,
    DECLINE_REASONS,
    POSTPONE_REASONS,
    SHORTFALL_REASONS,
)
from crm.workflow.definitions import TransitionDef, WorkflowDef

_TO_CONFIRMED = ("match", "ask_employer", "confirm")
_TO_READY = (*_TO_CONFIRMED, "send_agreement", "agreement_signed")
_TO_STARTED = (*_TO_READY, "start")
# A first employer declined; the placement went back to be matched again.
DECLINED_FIRST = ("match", "ask_employer", "decline", "rematch")

# The ways a placement reaches each stage (the first is the usual one).
PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "requested": ((),),
    "matched": (
        ("match",),
        # The employer proposed other dates through the link: back with the officer.
        ("match", "ask_employer", "propose_dates"),
    ),
    "awaiting_employer": (("match", "ask_employer"),),
    "confirmed": (_TO_CONFIRMED,),
    "declined": (("match", "ask_employer", "decline"),),
    "agreement_out": ((*_TO_CONFIRMED, "send_agreement"),),
    "ready": (_TO_READY,),
    "in_progress": (_TO_STARTED,),
    "completed": ((*_TO_STARTED, "complete"),),
    "evaluated": ((*_TO_STARTED, "complete", "evaluate"),),
    "postponed": (
        ("match", "postpone"),
        ("match", "ask_employer", "postpone"),
        (*_TO_CONFIRMED, "postpone"),
        ("postpone",),
    ),
    "cancelled": (
        ("cancel",),
        ("match", "cancel"),
        (*_TO_CONFIRMED, "cancel"),
        (*_TO_STARTED, "cancel"),
    ),
}
NOT_STARTED = frozenset(
    {"requested", "matched", "awaiting_employer", "confirmed", "declined", "agreement_out", "ready"}
)
# Steps an employer may take through the link they are sent, and how often they do.
EMPLOYER_SHARE = {"confirm": 0.65, "decline": 0.7, "evaluate": 0.7}
OVERDUE_SHARE = 0.12
SUPERVISOR_NAMED_SHARE = 0.6  # matched placements whose supervisor is already named
DRAFTED_SHARE = 0.4  # ... whose role and objectives are already drafted
SHORTFALL_SHARE = 0.12
CONSENT_EARLY_SHARE = 0.5  # minors whose guardian consented before the agreement stage
FIRST_MINUTE, LAST_MINUTE = 7 * 60, 16 * 60  # office hours, UTC


@dataclass(slots=True)
class PlacementStep:
    """A fired transition of a planned placement."""

    transition: TransitionDef
    from_state: str
    occurred_at: dt.datetime
    actor: str  # "officer", "employer" (the supervisor, through the link) or "system"
    comment: str = ""
    first_host: bool = False  # fired while the placement was with an employer that declined


@dataclass
class PlacementHistory:
    """A placement's planned life: its steps, where it is now, and what was filled in."""

    state: str
    created_at: dt.datetime
    entered_at: dt.datetime
    steps: list[PlacementStep]
    has_host: bool  # matched to an organisation (and not sent back to be matched again)
    supervisor_named: bool
    hours_target: int
    hours_logged: Decimal = Decimal(0)
    texts: dict[str, str] = field(default_factory=dict)
    guardian_consent_on: dt.date | None = None
    checklist: dict[str, list[str]] = field(default_factory=dict)
    follow_ups: list[PlannedFollowUp] = field(default_factory=list)

    names: frozenset[str] = frozenset()  # the transitions fired

    @property
    def rematched(self) -> bool:
        """Whether a first employer declined before this one."""
        return "rematch" in self.names

    def fired(self, name: str) -> bool:
        """Whether the transition `name` was taken."""
        return name in self.names

    def fired_at(self, name: str) -> dt.datetime | None:
        """When the last `name` step happened (None: never)."""
        times = [s.occurred_at for s in self.steps if s.transition.name == name]
        return times[-1] if times else None


def workdays(start: dt.date, end: dt.date) -> int:
    """Monday-to-Friday days from `start` to `end`, both included."""
    days = (end - start).days + 1
    if days <= 0:
        return 0
    weeks, rest = divmod(days, 7)
    first = start.weekday()
    return weeks * 5 + sum(1 for i in range(rest) if (first + i) % 7 < 5)


# Planning counts time in whole minutes since 1 January 1970 (UTC): much faster than datetimes.
DAY = 24 * 60
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_DAY = _EPOCH.date().toordinal()


def minutes(moment: dt.datetime) -> int:
    """`moment` in minutes since 1970 (UTC)."""
    return int((moment - _EPOCH).total_seconds()) // 60


def day_of(day: dt.date) -> int:
    """`day` in days since 1970."""
    return day.toordinal() - _EPOCH_DAY


def moment_of(minute: int) -> dt.datetime:
    """The UTC time `minute` minutes after the start of 1970."""
    return _EPOCH + dt.timedelta(minutes=minute)


def office_time(day: dt.date, minute: int) -> dt.datetime:
    """`minute` minutes after midnight UTC on `day` (less than a day)."""
    return dt.datetime(day.year, day.month, day.day, minute // 60, minute % 60, tzinfo=dt.UTC)


class PlacementPlanner:
    """Plans placement histories on the placement workflow from one seeded random source."""

    def __init__(self, definition: WorkflowDef, rng: random.Random, now: dt.datetime):
        self.definition = definition
        self.rng = rng
        self.now = now.replace(microsecond=0)
        self.now_minute = minutes(self.now)
        self.checklist = {
            name: [item.key for item in state.checklist]
            for name, state in definition.states.items()
            if state.checklist
        }
        self._walks: dict[tuple[str, ...], list[tuple[TransitionDef, str]]] = {}
        self._names: dict[int, list[str]] = {}  # transition names of each cached walk
        self.sla = {name: state.sla_days for name, state in definition.states.items()}
        for paths in PATHS.values():
            for path in paths:
                self.walk(path)  # fail early if the workflow no longer allows a story
        self.walk(DECLINED_FIRST)

    def walk(self, names: tuple[str, ...]) -> list[tuple[TransitionDef, str]]:
        """(transition, from-state) pairs of a path from the initial state."""
        if names in self._walks:
            return self._walks[names]
        state = self.definition.initial
        walk = []
        for name in names:
            transition = self.definition.transition(name)
            if state not in self.definition.from_states_of(transition):
                raise ValueError(f"placement story {names}: no {name} from {state}")
            walk.append((transition, state))
            state = transition.to
        self._walks[names] = walk
        self._names[id(walk)] = [t.name for t, _ in walk]
        return walk

    # --- timing -----------------------------------------------------------------------------

    def number(self, low: int, high: int) -> int:
        """A whole number from `low` to `high` (randint's, without its overhead)."""
        return low + int(self.rng.random() * (high - low + 1))

    def _office(self, day: int) -> int:
        """A time in office hours on `day` (both counted as in `minutes`)."""
        return day * DAY + self.number(FIRST_MINUTE, LAST_MINUTE)

    def _before(self, later: int, days: float) -> int:
        """An office-hours time about `days` days before `later`, strictly before it."""
        moment = self._office((later - int(days * DAY)) // DAY)
        if moment >= later - 10:
            moment = later - self.number(15, 120)
        return moment

    def _after(self, earlier: int, days: float) -> int:
        """An office-hours time about `days` days after `earlier`, strictly after it."""
        moment = self._office((earlier + int(days * DAY)) // DAY)
        if moment <= earlier + 10:
            moment = earlier + self.number(15, 120)
        return moment

    def _dwell(self, state: str, leaving_by: str) -> float:
        """Days a placement stayed in `state` before the step `leaving_by`."""
        rng = self.rng
        if leaving_by == "start":
            return rng.uniform(3, 25)
        sla = self.sla[state]
        if not sla:
            return rng.uniform(2, 20)
        if rng.random() < OVERDUE_SHARE / 2:
            return sla * rng.uniform(1.0, 1.4)
        return sla * rng.uniform(0.08, 0.85)

    def _recent(self, days: float) -> int:
        """An office-hours time about `days` days ago, at least half an hour before now."""
        moment = self._office((self.now_minute - int(days * DAY)) // DAY)
        latest = self.now_minute - 30
        if moment > latest:
            moment = latest - self.number(0, 300)
        return moment

    def current_dwell(self, state: str, overdue: bool | None = None) -> float:
        """Days since the placement entered `state`: mostly within its SLA."""
        rng = self.rng
        sla = self.definition.states[state].sla_days
        if self.definition.states[state].terminal:
            return rng.uniform(1, 60)
        if not sla:
            return rng.uniform(1, 20)
        if overdue is None:
            overdue = rng.random() < OVERDUE_SHARE
        return sla * (rng.uniform(1.1, 1.8) if overdue else rng.uniform(0.05, 0.85))

    def _times(
        self, walk: list[tuple[TransitionDef, str]], start: dt.date, end: dt.date, anchor: int
    ) -> list[int] | None:
        """When each step happened (see `minutes`); None when the story does not fit the
        dates and now."""
        names = self._names[id(walk)]
        times = [0] * len(walk)
        if "start" in names:
            first = names.index("start")
            times[first] = day_of(start) * DAY + self.number(6 * 60 + 30, 8 * 60 + 30)
        else:
            first = len(walk) - 1
            if first < 0:
                return []
            times[first] = anchor
        for index in range(first - 1, -1, -1):
            dwell = self._dwell(walk[index][0].to, names[index + 1])
            times[index] = self._before(times[index + 1], dwell)
        limit = self.now_minute - 30
        for index in range(first + 1, len(walk)):
            earlier = times[index - 1]
            name = names[index]
            if name == "complete":
                late = self.rng.choice((0, 0, 0, 1, 1, 2, 3))
                moment = (day_of(end) + late) * DAY + self.number(13 * 60, LAST_MINUTE)
                times[index] = max(moment, earlier + 60)
            elif name == "cancel":  # during the placement
                room = (min(day_of(end) * DAY, limit) - earlier) / DAY
                if room < 1:
                    return None
                times[index] = self._after(earlier, self.rng.uniform(0.5, room - 0.5))
            else:  # the evaluation, within the stage's SLA when there is time
                room = (limit - earlier) / DAY
                if room <= 0.1:
                    return None
                days = min(self._dwell(walk[index][1], name), room * self.rng.uniform(0.3, 0.9))
                times[index] = min(self._after(earlier, days), limit)
        if times and times[-1] > limit:
            return None
        if any(a >= b for a, b in itertools.pairwise(times)):
            return None
        return times

    # --- the story --------------------------------------------------------------------------

    def history(
        self,
        target: str,
        start: dt.date,
        end: dt.date,
        programme: ProgrammePlan,
        *,
        minor: bool = False,
        path: int = 0,
        rematch: bool = False,
        anchor: dt.datetime | None = None,
        overdue: bool | None = None,
        consent_early: bool | None = None,
    ) -> PlacementHistory | None:
        """A placement now in `target` with the given dates; None if that cannot be.

        `path` picks one of the stage's ways in (PATHS), `rematch` puts a declined first
        match before it, `anchor` sets when the last step happened (for stories that have not
        started; default: the stage's usual time before now). A minor's guardian consents
        before the agreement is sent, and sometimes already on confirmation (`consent_early`).
        """
        rng = self.rng
        names = PATHS[target][path]
        if rematch:
            names = DECLINED_FIRST + names
        walk = self.walk(names)
        last = (
            minutes(anchor)
            if anchor is not None
            else self._recent(self.current_dwell(target, overdue))
        )
        times = self._times(walk, start, end, last)
        if times is None:
            return None
        if target in NOT_STARTED and (times[-1] if times else last) >= day_of(start) * DAY:
            return None  # it would have started by now
        if times:
            created = self._before(times[0], self._dwell(self.definition.initial, names[0]))
        else:
            created = last
        rematch_at = names.index("rematch") if "rematch" in names else -1
        steps = [
            PlacementStep(
                transition,
                source,
                moment_of(moment),
                self._actor(transition),
                self._comment(transition, source),
                first_host=index <= rematch_at,
            )
            for index, ((transition, source), moment) in enumerate(zip(walk, times, strict=True))
        ]
        history = PlacementHistory(
            state=walk[-1][0].to if walk else self.definition.initial,
            created_at=moment_of(created),
            entered_at=steps[-1].occurred_at if steps else moment_of(created),
            steps=steps,
            has_host="match" in names[rematch_at + 1 :],
            supervisor_named=False,
            hours_target=workdays(start, end) * programme.hours_per_day,
            names=frozenset(names),
        )
        if consent_early is None:
            consent_early = minor and rng.random() < CONSENT_EARLY_SHARE
        self._fill(history, programme, start, end, consent_early, minor)
        history.follow_ups = planned_follow_ups(self.definition, steps, self.now, rng)
        return history

    def _actor(self, transition: TransitionDef) -> str:
        if "officer" not in transition.by:
            return "employer" if "employer" in transition.by else "system"
        share = EMPLOYER_SHARE.get(transition.name)
        return "employer" if share and self.rng.random() < share else "officer"

    def _comment(self, transition: TransitionDef, source: str) -> str:
        if transition.comment != "required":
            return ""
        pools = {"decline": DECLINE_REASONS, "postpone": POSTPONE_REASONS}
        if transition.name == "cancel":
            pool = CANCEL_DURING_REASONS if source == "in_progress" else CANCEL_REASONS
        else:
            pool = pools.get(transition.name, (transition.label,))
        return self.rng.choice(pool)

    def _fill(
        self,
        history: PlacementHistory,
        programme: ProgrammePlan,
        start: dt.date,
        end: dt.date,
        consent_early: bool,
        minor: bool,
    ) -> None:
        """What the steps' guards needed, and the work in progress in the current stage."""
        rng = self.rng
        asked = history.fired("ask_employer")
        matched = history.has_host and history.fired("match")
        history.supervisor_named = matched and (asked or rng.random() < SUPERVISOR_NAMED_SHARE)
        if asked or (history.fired("match") and rng.random() < DRAFTED_SHARE):
            history.texts["role_description"] = rng.choice(programme.roles)
            history.texts["learning_objectives"] = "\n".join(
                rng.sample(programme.objectives, min(2, len(programme.objectives)))
            )
        if history.state == "declined":
            history.texts["decline_reason"] = history.steps[-1].comment
        if minor:
            sent = history.fired_at("send_agreement")
            confirmed = history.fired_at("confirm")
            if sent is not None:
                earliest = confirmed or sent - dt.timedelta(days=5)
                history.guardian_consent_on = (
                    earliest + (sent - earliest) * rng.uniform(0.0, 0.9)
                ).date()
            elif confirmed is not None and consent_early:
                history.guardian_consent_on = confirmed.date()
        started = history.fired_at("start")
        if started is not None:
            history.checklist["ready"] = list(self.checklist.get("ready", []))
            self._hours(history, programme, start, end)
        elif history.state in self.checklist and rng.random() < 0.7:
            items = self.checklist[history.state]
            history.checklist[history.state] = sorted(
                rng.sample(items, rng.randint(1, len(items) - 1))
            )

    def _hours(
        self, history: PlacementHistory, programme: ProgrammePlan, start: dt.date, end: dt.date
    ) -> None:
        """Hours logged: the target or a little over once done, some short with a reason."""
        rng = self.rng
        target = history.hours_target
        if history.fired("complete"):
            if rng.random() < SHORTFALL_SHARE:
                logged = target * rng.uniform(0.8, 0.97)
                history.texts["hours_shortfall_reason"] = rng.choice(SHORTFALL_REASONS)
            else:
                logged = target + rng.choice((0, 0, 0, 0.5, 1, 2, 3.5, 6))
        else:  # in progress or ended early: logged week by week
            stopped = history.entered_at if history.state == "cancelled" else self.now
            until = min(end, stopped.date())
            logged = workdays(start, until - dt.timedelta(days=2)) * programme.hours_per_day
            logged *= rng.uniform(0.85, 1.0)
        history.hours_logged = Decimal(round(logged * 2) / 2).quantize(Decimal("0.1"))
