"""What a link page may have changed: the rows a decision or a fresh link would write, read
afresh from the database, and the plain words of a page."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.followups.models import FollowUp
from crm.links.models import ActionLink
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition


def _rows(table: Any, *where: Any) -> list[dict[str, Any]]:
    query = sa.select(table).where(*where).order_by(*table.primary_key.columns)
    return [dict(row) for row in db.session.execute(query).mappings()]


@dataclass(frozen=True)
class Snapshot:
    """Every row a link page could write, for one placement (and every message and task)."""

    placement: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    links: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    follow_ups: list[dict[str, Any]]

    @classmethod
    def of(cls, placement: Placement) -> Snapshot:
        db.session.expire_all()
        return cls(
            placement=_rows(Placement.__table__, Placement.__table__.c.id == placement.id),
            transitions=_rows(
                WorkflowTransition.__table__,
                WorkflowTransition.record_type == "placement",
                WorkflowTransition.record_id == placement.id,
            ),
            links=_rows(ActionLink.__table__),
            messages=_rows(OutboxMessage.__table__),
            follow_ups=_rows(FollowUp.__table__),
        )


def state_of(placement: Placement) -> str:
    """The placement's state as the database has it now."""
    db.session.expire_all()
    return str(db.session.scalar(sa.select(Placement.state).where(Placement.id == placement.id)))


_TAG = re.compile(r"<[^>]+>")
_CSRF = re.compile(r'name="csrf_token" value="[^"]*"')
_ACTION = re.compile(r'action="[^"]*"')


def words(response: Any) -> str:
    """The page's visible words, one space apart."""
    html = response.get_data(as_text=True)
    return " ".join(unescape(_TAG.sub(" ", html)).split())


def page_without_link(response: Any) -> str:
    """The page's HTML without what names the link (the form's address, the CSRF token)."""
    html = response.get_data(as_text=True)
    return _ACTION.sub('action=""', _CSRF.sub('name="csrf_token" value=""', html))


def another_placement_sent(sent: Any) -> Any:
    """A second placement of the same learner and employer (in autumn) awaiting the employer,
    with its own confirmation link (a second `awaiting_employer` would duplicate the
    organisation)."""
    from crm.links import service as links
    from crm.links.models import LinkPurpose
    from crm.workflow.service import fire
    from tests.placements.support import AUTUMN
    from tests.portal.support import Sent, newest_link

    world = sent.world
    placement = world.placement(
        "matched",
        start_date=AUTUMN[0],
        end_date=AUTUMN[1],
        supervisor_id=world.supervisor.id,
        role_description="Maintains presses.",
        learning_objectives="Reads wiring diagrams.",
        hours_target=100,
    )
    fire(placement, "ask_employer", user=world.officer)
    db.session.commit()
    link = newest_link(placement, LinkPurpose.CONFIRM_PLACEMENT)
    return Sent(world, placement, link, links.token_for(link))
