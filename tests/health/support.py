"""Builders for health tests: a partnership with every kind of input, and readers."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.agreements.models import Agreement, AgreementKind
from crm.auth.models import User
from crm.db import utcnow
from crm.evaluations.models import Evaluation, EvaluationKind
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.health.models import PartnershipHealthDay
from crm.links.models import ActionLink, LinkPurpose
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from tests.factories import make_activity, make_learner, make_organisation, make_placement
from tests.factories import make_programme as _make_programme
from tests.workflow.support import make_partnership

_nonce = itertools.count(1)


def days_ago(days: float, now: dt.datetime | None = None) -> dt.datetime:
    return (now or utcnow()) - dt.timedelta(days=days)


@dataclass
class Scored:
    """A partnership and the organisation whose records feed its score."""

    officer: User
    organisation: Organisation
    partnership: Partnership


def active_partnership(officer: User, pledge: int = 2, **fields: Any) -> Scored:
    """An active partnership (in its stage for 100 days) with a capacity pledge."""
    organisation = make_organisation(officer, capacity_pledge=pledge)
    partnership = make_partnership(
        officer, "active", entered_at=days_ago(100), organisation=organisation, **fields
    )
    return Scored(officer, organisation, partnership)


def add_memorandum(scored: Scored, state: str, expires_on: dt.date | None) -> Agreement:
    """A memorandum of the partnership in `state` (signed, expired...) expiring then."""
    wf = workflow.current_pack().for_record("agreement")
    agreement = Agreement(
        kind=AgreementKind.PARTNERSHIP,
        partnership_id=scored.partnership.id,
        organisation_id=scored.organisation.id,
        officer_id=scored.officer.id,
        expires_on=expires_on,
        workflow_name=wf.name,
        workflow_version=wf.version,
        state=state,
    )
    db.session.add(agreement)
    db.session.commit()
    return agreement


def add_hosted(scored: Scored, count: int, state: str = "completed") -> list[Placement]:
    """`count` placements at the organisation that ended a month ago."""
    programme = _make_programme(sector="C")
    placements = []
    for n in range(count):
        learner = make_learner(scored.officer, programme, first_name=f"Learner{n}")
        end = utcnow().date() - dt.timedelta(days=30 + 60 * n)
        placements.append(
            make_placement(
                learner,
                state,
                organisation=scored.organisation,
                start_date=end - dt.timedelta(days=40),
                end_date=end,
            )
        )
    return placements


def add_evaluation(scored: Scored, placement: Placement, satisfaction: int) -> Evaluation:
    evaluation = Evaluation(
        placement_id=placement.id,
        organisation_id=scored.organisation.id,
        programme_id=placement.programme_id,
        kind=EvaluationKind.EMPLOYER,
        satisfaction=satisfaction,
        submitted_at=days_ago(10),
    )
    db.session.add(evaluation)
    db.session.commit()
    return evaluation


def add_link(
    scored: Scored,
    sent: dt.datetime,
    answered: dt.datetime | None = None,
    expires: dt.datetime | None = None,
    purpose: LinkPurpose = LinkPurpose.CONFIRM_PLACEMENT,
) -> ActionLink:
    """A link to the employer sent at `sent`, answered at `answered` (or not)."""
    nonce = f"nonce-{next(_nonce)}"
    link = ActionLink(
        token_hash=hashlib.sha256(nonce.encode()).hexdigest(),
        nonce=nonce,
        purpose=purpose,
        record_type="placement",
        record_id=1,
        organisation_id=scored.organisation.id,
        recipient_email="boss@employer.test",
        created_at=sent,
        expires_at=expires or sent + dt.timedelta(days=14),
        spent_at=answered,
        decision="confirm" if answered else "",
    )
    db.session.add(link)
    db.session.commit()
    return link


def add_follow_up(scored: Scored, due: dt.datetime) -> FollowUp:
    follow_up = FollowUp(
        subject="Call about the review",
        due_at=due,
        assignee_id=scored.officer.id,
        record_type="partnership",
        record_id=scored.partnership.id,
        organisation_id=scored.organisation.id,
    )
    db.session.add(follow_up)
    db.session.commit()
    return follow_up


def call(scored: Scored, when: dt.datetime) -> None:
    make_activity(scored.organisation, scored.officer, ActivityKind.CALL, occurred_at=when)


def stored(partnership: Partnership) -> Any:
    """(score, components, computed_at, stale_at) as the database has them."""
    return db.session.execute(
        sa.select(
            Partnership.health_score,
            Partnership.health_components,
            Partnership.health_computed_at,
            Partnership.health_stale_at,
        ).where(Partnership.id == partnership.id)
    ).one()


def history(partnership: Partnership) -> list[tuple[dt.date, int]]:
    return [
        (row.day, row.score)
        for row in db.session.execute(
            sa.select(PartnershipHealthDay.day, PartnershipHealthDay.score)
            .where(PartnershipHealthDay.partnership_id == partnership.id)
            .order_by(PartnershipHealthDay.day)
        )
    ]


def lost_by_component(partnership: Partnership) -> dict[str, int]:
    components = stored(partnership).health_components or []
    return {c["key"]: c["lost"] for c in components}


def clear_stale(*partnerships: Partnership) -> None:
    """Forget the stale marks (as if the frequent job had just run)."""
    db.session.execute(
        sa.update(Partnership.__table__)
        .where(Partnership.__table__.c.id.in_([p.id for p in partnerships]))
        .values(health_stale_at=None)
    )
    db.session.commit()


def is_stale(partnership: Partnership) -> bool:
    return stored(partnership).health_stale_at is not None
