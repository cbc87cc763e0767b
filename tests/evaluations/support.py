"""Helpers for evaluation tests: a completed placement whose programme has skills to rate,
the answers an employer or a learner gives, and readers for what was stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.evaluations.models import Evaluation, EvaluationKind
from crm.evaluations.service import (
    EmployerEvaluationValues,
    Evidence,
    LearnerFeedbackValues,
)
from crm.extensions import db
from crm.learners.models import ProgrammeOutcome
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.organisations.models import CapacityPeriod
from crm.outbox.models import OutboxMessage
from tests.portal.support import Sent, link_path, newest_link

EVIDENCE = Evidence(ip="203.0.113.7", user_agent="Mozilla/5.0 (Phone) TestBrowser/1.0")
SKILLS = ("Reads technical drawings", "Assembles gearboxes safely", "Works in a team")


@dataclass
class Evaluated:
    """A completed placement: the employer's evaluation link, the learner's feedback link,
    and the programme's skills (active, in order; `retired` is no longer asked)."""

    sent: Sent
    feedback: ActionLink
    skills: list[ProgrammeOutcome]
    retired: ProgrammeOutcome

    @property
    def placement(self) -> Any:
        return self.sent.placement

    @property
    def link(self) -> ActionLink:
        return self.sent.link

    @property
    def path(self) -> str:
        """The evaluation page's address."""
        return self.sent.path

    @property
    def feedback_path(self) -> str:
        """The learner's feedback page's address."""
        return link_path(self.feedback)


def add_skills(
    programme_id: int, texts: tuple[str, ...], *, retired: str
) -> list[ProgrammeOutcome]:
    """Give a programme skills (in order) and one retired skill; the active ones."""
    outcomes = [
        ProgrammeOutcome(programme_id=programme_id, position=n, text=text)
        for n, text in enumerate(texts, start=1)
    ]
    old = ProgrammeOutcome(
        programme_id=programme_id, position=len(texts) + 1, text=retired, retired=True
    )
    db.session.add_all([*outcomes, old])
    db.session.commit()
    return outcomes


def with_skills(sent: Sent) -> Evaluated:
    """The completed placement `sent`, its programme given SKILLS and a retired skill."""
    skills = add_skills(sent.placement.programme_id, SKILLS, retired="Files paper records")
    retired = db.session.scalars(
        sa.select(ProgrammeOutcome).where(
            ProgrammeOutcome.programme_id == sent.placement.programme_id,
            ProgrammeOutcome.retired,
        )
    ).one()
    return Evaluated(
        sent, newest_link(sent.placement, LinkPurpose.LEARNER_FEEDBACK), skills, retired
    )


def employer_values(world: Evaluated, **changes: Any) -> EmployerEvaluationValues:
    """A complete employer answer: satisfied (4), skills 5, 3 and not observed, would host two
    learners per term."""
    ratings = dict(zip([s.id for s in world.skills], [5, 3, None], strict=True))
    values: dict[str, Any] = {
        "satisfaction": 4,
        "ratings": ratings,
        "comments": "Keen and careful.",
        "host_again": True,
        "host_again_count": 2,
        "host_again_period": CapacityPeriod.TERM,
        "host_again_from": None,
    }
    values.update(changes)
    return EmployerEvaluationValues(**values)


def learner_values(**changes: Any) -> LearnerFeedbackValues:
    """A complete learner answer."""
    values: dict[str, Any] = {
        "satisfaction": 5,
        "objectives": 4,
        "went_well": "Friendly team.",
        "could_be_better": "More time on the CNC machine.",
        "recommends": True,
    }
    values.update(changes)
    return LearnerFeedbackValues(**values)


def employer_form(world: Evaluated, **changes: Any) -> dict[str, Any]:
    """What a browser posts for `employer_values`' answer."""
    data: dict[str, Any] = {
        "satisfaction": "4",
        f"skill_{world.skills[0].id}": "5",
        f"skill_{world.skills[1].id}": "3",
        f"skill_{world.skills[2].id}": "none",
        "comments": "Keen and careful.",
        "host_again": "yes",
        "host_again_count": "2",
        "host_again_period": "term",
        "host_again_from": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def learner_form(**changes: Any) -> dict[str, Any]:
    """What a browser posts for `learner_values`' answer."""
    data: dict[str, Any] = {
        "satisfaction": "5",
        "objectives": "4",
        "went_well": "Friendly team.",
        "could_be_better": "More time on the CNC machine.",
        "recommends": "yes",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def evaluations_stored(placement: Any, kind: EvaluationKind | None = None) -> list[Evaluation]:
    """The placement's evaluations as the database has them."""
    query = sa.select(Evaluation).where(Evaluation.placement_id == placement.id)
    if kind is not None:
        query = query.where(Evaluation.kind == kind)
    return list(db.session.scalars(query.order_by(Evaluation.id)))


def outbox(kind: str = "evaluation_received") -> list[OutboxMessage]:
    """The queued e-mails of a kind, oldest first."""
    return list(
        db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        )
    )


def link_row(link: ActionLink) -> Any:
    """The link's decision columns as the database has them."""
    return db.session.execute(
        sa.select(
            ActionLink.spent_at,
            ActionLink.decision,
            ActionLink.decision_data,
            ActionLink.decided_ip,
            ActionLink.decided_user_agent,
        ).where(ActionLink.id == link.id)
    ).one()


def token(link: ActionLink) -> str:
    """The link's token."""
    return links.token_for(link)
