"""Helpers for tests of action links and their pages: a placement whose supervisor has been
sent a link, and the link's token and address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.placements.models import Placement
from crm.workflow.service import fire
from tests.placements.support import World, build_world


@dataclass
class Sent:
    """A placement and the open link its recipient was sent."""

    world: World
    placement: Placement
    link: ActionLink
    token: str

    @property
    def path(self) -> str:
        """The link page's address (relative)."""
        return link_path(self.link, self.token)


def link_path(link: ActionLink, token: str | None = None) -> str:
    """`/l/<purpose>/<record>/<token>` for a link (its own token unless another is given)."""
    return f"/l/{link.purpose.slug}/{link.record_id}/{token or links.token_for(link)}"


def newest_link(placement: Placement, purpose: LinkPurpose) -> ActionLink:
    """The placement's newest link of a purpose."""
    link = db.session.scalar(
        sa.select(ActionLink)
        .where(
            ActionLink.record_type == "placement",
            ActionLink.record_id == placement.id,
            ActionLink.purpose == purpose,
        )
        .order_by(ActionLink.id.desc())
        .limit(1)
    )
    assert link is not None, f"no {purpose} link for placement {placement.id}"
    return link


def awaiting_employer(officer: Any, **fields: Any) -> Sent:
    """A placement moved to awaiting employer by its officer: the supervisor has a link."""
    world = build_world(officer)
    fields.setdefault("supervisor_id", world.supervisor.id)
    fields.setdefault("role_description", "Assembles gearboxes.")
    fields.setdefault("learning_objectives", "Reads technical drawings.")
    fields.setdefault("hours_target", 120)
    placement = world.placement("matched", **fields)
    fire(placement, "ask_employer", user=officer)
    db.session.commit()
    link = newest_link(placement, LinkPurpose.CONFIRM_PLACEMENT)
    return Sent(world, placement, link, links.token_for(link))


def completed(officer: Any, **fields: Any) -> Sent:
    """A placement completed by its officer: the supervisor has an evaluation link (and the
    learner a feedback link)."""
    world = build_world(officer)
    fields.setdefault("supervisor_id", world.supervisor.id)
    fields.setdefault("hours_target", 80)
    fields.setdefault("hours_logged", 80)
    placement = world.placement("in_progress", **fields)
    fire(placement, "complete", user=officer)
    db.session.commit()
    link = newest_link(placement, LinkPurpose.EVALUATE_PLACEMENT)
    return Sent(world, placement, link, links.token_for(link))
