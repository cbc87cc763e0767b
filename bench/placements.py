"""Which placement pages the `placements` benchmark asks for, chosen from the data set.

The same rules pick the pages on the demo data set and at scale, so that their statement
counts can be compared: the list's first page, the list filtered by the most common stage,
a search for a learner's full name (the least common of 40 sampled), the board, the page of
the logged-in officer's learner with the most placements, and matching one of that officer's
learners who waits for a placement to organisations with free places.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from bench.inprocess import Session


def placement_pages(session: Session, login: str) -> dict[str, dict[str, Any]]:
    """Name -> {"url", "kind" (list, detail or match), "note"} for this data set."""
    from crm.auth.models import User
    from crm.extensions import db
    from crm.learners.models import Learner
    from crm.placements import listing
    from crm.placements.models import Placement

    with session.context():
        officer_id = db.session.scalar(sa.select(User.id).where(User.email == login))
        state, in_state = db.session.execute(
            sa.select(Placement.state, sa.func.count())
            .group_by(Placement.state)
            .order_by(sa.func.count().desc(), Placement.state)
            .limit(1)
        ).one()
        names = db.session.execute(
            sa.select(Learner.first_name, Learner.last_name)
            .where(Learner.archived_at.is_(None), Learner.id.in_(sa.select(Placement.learner_id)))
            .order_by(Learner.id)
        ).all()
        step = max(1, len(names) // 40)
        best: tuple[str, int] | None = None
        for first, last in names[::step]:
            query = f"{first} {last}"
            total = listing.list_placements(listing.PlacementFilters(query=query), 1, 50).total
            if total >= 1 and (best is None or total < best[1]):
                best = (query, total)
        if best is None:
            raise RuntimeError("no learner's name finds a placement")
        own = sa.select(Learner.id).where(Learner.officer_id == officer_id)
        busiest = db.session.execute(
            sa.select(Placement.learner_id, sa.func.count())
            .where(Placement.learner_id.in_(own))
            .group_by(Placement.learner_id)
            .order_by(sa.func.count().desc(), Placement.learner_id)
            .limit(1)
        ).one()
        waiting = db.session.scalar(
            sa.select(Placement.learner_id)
            .where(Placement.learner_id.in_(own), Placement.state == "requested")
            .order_by(Placement.learner_id)
            .limit(1)
        )
        to_match = waiting if waiting is not None else busiest[0]
    query, matches = best
    return {
        "list_first_page": {"url": "/placements/", "kind": "list"},
        "filter_state": {
            "url": "/placements/?" + urlencode({"state": state}),
            "kind": "list",
            "note": f"state={state} (the most common) matches {in_state} placements",
        },
        "search_learner_name": {
            "url": "/placements/?" + urlencode({"q": query}),
            "kind": "list",
            "note": f"q={query!r} matches {matches} placements",
        },
        "board": {"url": "/placements/board", "kind": "list"},
        "learner_busiest": {
            "url": f"/learners/{busiest[0]}",
            "kind": "detail",
            "note": f"learner {busiest[0]} with {busiest[1]} placements (the officer's most)",
        },
        "match_learner": {
            "url": f"/placements/match?learner_id={to_match}",
            "kind": "match",
            "note": f"learner {to_match}"
            + (" with a placement request" if waiting is not None else ""),
        },
    }
