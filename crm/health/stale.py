"""Mark health scores stale when something they depend on changes: one hook for every service.

An `after_flush` listener looks at the objects the flush wrote: a partnership that moved,
an activity logged, a placement matched or moved, a follow-up added, completed or moved,
a link answered or ended, an evaluation submitted, a memorandum signed or expired, a
capacity pledge changed. UPDATE and DELETE statements run through the session (a link
spent, follow-ups closed by a transition) bypass the flush: a `do_orm_execute` listener
reads, before the statement runs, the organisations whose rows it changes. Both only note the
partnerships concerned (by their own id, or by their organisation's); the note is written
with one UPDATE just before the transaction commits (`before_commit`), so that the
partnership rows are locked only for the commit itself — an earlier UPDATE would hold them
for the whole transaction and make two decisions about one organisation wait on each other
(or on the row locks they take afterwards). The frequent job (crm.health.jobs) recomputes
the marked partnerships. A rolled-back transaction forgets its notes. Services need not know
the score exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from crm.activities.models import Activity
from crm.agreements.models import Agreement
from crm.db import utcnow
from crm.evaluations.models import Evaluation
from crm.extensions import CRMSession
from crm.followups.models import FollowUp
from crm.links.models import ActionLink
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.models import Placement

# Per kind of object: the attributes whose change matters (None: any change), and whether
# a new or deleted object matters. A link's creation changes nothing until it is answered
# or expires; an organisation's only through its pledge.
WATCHED: dict[type[Any], tuple[frozenset[str] | None, bool]] = {
    Partnership: (frozenset({"state", "state_entered_at", "memorandum_signed_on"}), True),
    Activity: (None, True),
    Placement: (
        frozenset({"state", "organisation_id", "start_date", "end_date", "period_held"}),
        True,
    ),
    FollowUp: (frozenset({"status", "due_at", "organisation_id"}), True),
    ActionLink: (frozenset({"spent_at", "ended_at", "expires_at", "organisation_id"}), False),
    Evaluation: (frozenset({"satisfaction", "kind", "submitted_at", "organisation_id"}), True),
    Agreement: (frozenset({"state", "expires_on"}), True),
    Organisation: (frozenset({"capacity_pledge", "capacity_period"}), False),
}
# At most this many ids in one IN list (SQLite's and PostgreSQL's parameter limits).
CHUNK = 500


def _changed(obj: Any, attributes: frozenset[str] | None) -> bool:
    state = sa.inspect(obj)
    if attributes is None:
        return True
    return any(state.attrs[name].history.has_changes() for name in attributes)


def _organisation_ids(obj: Any) -> Iterable[int | None]:
    """The organisation now and, when the change moved it, before."""
    if isinstance(obj, Organisation):
        return [obj.id]
    history = sa.inspect(obj).attrs.organisation_id.history
    return [obj.organisation_id, *history.deleted]


def affected(session: Session) -> tuple[set[int], set[int]]:
    """(partnership ids, organisation ids) whose scores the pending flush changes."""
    partnerships: set[int] = set()
    organisations: set[int] = set()
    for group, is_new_or_deleted in (
        (session.new, True),
        (session.deleted, True),
        (session.dirty, False),
    ):
        for obj in group:
            watched = WATCHED.get(type(obj))
            if watched is None:
                continue
            attributes, created_or_deleted_counts = watched
            if is_new_or_deleted:
                if not created_or_deleted_counts:
                    continue
            elif not _changed(obj, attributes):
                continue
            if isinstance(obj, Partnership):
                if obj.id is not None:
                    partnerships.add(obj.id)
            else:
                organisations.update(i for i in _organisation_ids(obj) if i is not None)
    return partnerships, organisations


_PENDING = "health_stale_pending"


def _pending(session: Session) -> tuple[set[int], set[int]]:
    """The (partnership ids, organisation ids) this transaction will mark at its commit."""
    return session.info.setdefault(_PENDING, (set(), set()))


@sa.event.listens_for(CRMSession, "after_flush")
def _note_stale(session: Session, _flush: UOWTransaction) -> None:
    partnerships, organisations = affected(session)
    pending = _pending(session)
    pending[0].update(partnerships)
    pending[1].update(organisations)


@sa.event.listens_for(CRMSession, "before_commit")
def _mark_stale(session: Session) -> None:
    session.flush()  # what the commit would flush is noted too
    partnerships, organisations = session.info.pop(_PENDING, (set(), set()))
    if partnerships or organisations:
        mark_stale(session.connection(), partnerships, organisations)


@sa.event.listens_for(CRMSession, "after_rollback")
def _forget_stale(session: Session) -> None:
    session.info.pop(_PENDING, None)


@sa.event.listens_for(CRMSession, "do_orm_execute")
def _mark_stale_on_bulk_change(state: ORMExecuteState) -> Any:
    """`session.execute(update(ActionLink)...)` and the like bypass the flush: mark the
    partnerships of the organisations whose rows the statement changes (any column: such
    statements are few, e.g. a link spent or ended, follow-ups closed by a transition)."""
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    model = state.bind_mapper.class_
    if model not in WATCHED or model is Partnership:
        return None
    key = Organisation.id if model is Organisation else model.organisation_id
    where = state.statement.whereclause  # type: ignore[attr-defined]
    organisations = sa.select(key).where(key.is_not(None))
    if where is not None:
        organisations = organisations.where(where)
    # Read before the statement runs: afterwards its rows may no longer match (a link's
    # UPDATE WHERE spent_at IS NULL) or be gone. Marking for a statement that then changes
    # nothing costs one needless recomputation. A plain SELECT: it locks nothing.
    ids = state.session.connection().execute(organisations.distinct()).scalars()
    _pending(state.session)[1].update(i for i in ids if i is not None)
    return None


def mark_stale(
    connection: sa.Connection, partnership_ids: Iterable[int], organisation_ids: Iterable[int]
) -> None:
    """Mark these partnerships, and every partnership of these organisations, stale now."""
    table = Partnership.__table__
    for column, ids in ((table.c.id, partnership_ids), (table.c.organisation_id, organisation_ids)):
        ordered = sorted(set(ids))  # a fixed order, so that two writers lock rows alike
        for start in range(0, len(ordered), CHUNK):
            _mark(connection, column.in_(ordered[start : start + CHUNK]))


def mark_stale_where(connection: sa.Connection, organisations: sa.Select[Any]) -> None:
    """Mark the partnerships of the organisations `organisations` selects stale now."""
    _mark(connection, Partnership.__table__.c.organisation_id.in_(organisations.scalar_subquery()))


def _mark(connection: sa.Connection, condition: sa.ColumnElement[bool]) -> None:
    table = Partnership.__table__
    connection.execute(
        sa.update(table)
        .where(condition)
        # Not a change of the partnership itself: keep updated_at as it was.
        .values(health_stale_at=utcnow(), updated_at=table.c.updated_at)
    )
