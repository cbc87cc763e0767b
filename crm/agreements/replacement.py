"""Replacing an agreement with another: the `supersede` step ("Replace with another agreement")
and what follows it.

A placement that relies on its agreement — it waits for the signatures (agreement out), or is
ready or under way on the strength of them — is never left without one: replacing its
agreement issues the replacement at once, as sending the agreement does (a new agreement,
version 1, every party asked to sign by link), in the replaced agreement's language and with
its terms, the placement's details as they are now. A partnership's memorandum is prepared and
checked before it is issued: replacing it while the memorandum is being agreed prepares the new
draft with the same terms, for the officer to check and issue. Otherwise the agreement is only
superseded: a placement not yet confirmed sends its agreement when it is, and one that is over,
on hold or cancelled needs none.

`replace` also serves an agreement superseded before replacements were made, whose placement
was left waiting without a live agreement. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.agreements import service as agreements
from crm.agreements.models import Agreement, AgreementKind
from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.links.models import LinkEnd
from crm.links.service import end_open_links
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow

# The placement stages in which the placement relies on its agreement.
RELYING_STAGES = frozenset({"agreement_out", "ready", "in_progress"})
# Agreements that still count for their placement or partnership (a draft included).
LIVE_STATES = agreements.OPEN_STATES | {"signed"}


class Replacement(enum.StrEnum):
    """What replacing an agreement brings."""

    NONE = "none"  # nothing: the subject does not need another agreement now
    ISSUE = "issue"  # a placement agreement, issued for signature at once
    PREPARE = "prepare"  # a draft memorandum with the same terms, for the officer to issue


def replacement_for(agreement: Agreement) -> Replacement:
    """What replacing the agreement brings now (for a superseded agreement: what its
    replacement would bring, if none was made)."""
    if agreement.state in ("expired", "terminated") or _live_other(agreement):
        return Replacement.NONE
    if agreement.state == "superseded" and replaced_by(agreement) is not None:
        return Replacement.NONE
    if agreement.kind == AgreementKind.PLACEMENT:
        stage = _state_of(Placement, agreement.placement_id)
        return Replacement.ISSUE if stage in RELYING_STAGES else Replacement.NONE
    stage = _state_of(Partnership, agreement.partnership_id)
    return Replacement.PREPARE if stage in agreements.MEMORANDUM_STAGES else Replacement.NONE


def supersede(
    agreement: Agreement,
    acting: User,
    *,
    comment: str = "",
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Agreement | None:
    """The officer replaces the agreement with another: supersede it, end its signing links,
    and issue or prepare its replacement where one is due (see the module). The replacement,
    or None.

    WorkflowError if the step is refused; AgreementError (one too) if the replacement cannot
    be issued, e.g. a party without an e-mail address: the caller then rolls back, so that
    the agreement is not superseded either.
    """
    now = now or utcnow()
    workflow.fire(
        agreement,
        "supersede",
        user=acting,
        expected_version=expected_version,
        comment=comment,
        now=now,
    )
    end_open_links("agreement", agreement.id, LinkEnd.CLOSED, acting=acting, now=now)
    return replace(agreement, acting, now=now)


def replace(
    agreement: Agreement, acting: User, *, now: dt.datetime | None = None
) -> Agreement | None:
    """Issue (placement) or prepare (memorandum) the replacement of a superseded agreement,
    with its language and terms; None when none is due.

    The placement's or partnership's row is locked first, so that two officers replacing at
    the same moment make one replacement: the second finds it and makes none.
    """
    if agreement.state != "superseded":
        raise agreements.AgreementError(_("Only a superseded agreement is replaced."))
    now = now or utcnow()
    if agreement.kind == AgreementKind.PLACEMENT:
        from crm.placements.service import get_placement

        assert agreement.placement_id is not None
        placement = get_placement(agreement.placement_id)
        assert placement is not None
        db.session.refresh(placement, with_for_update={"of": Placement})
        if replacement_for(agreement) != Replacement.ISSUE:
            return None
        draft = agreements.create_for_placement(placement, acting, now)
        _copy_terms(agreement, draft)
        # Sending the agreement reuses the draft: version 1 rendered, every party asked.
        agreements.issue_for_placement(placement, acting=acting, now=now)
        return draft
    partnership = db.session.get(Partnership, agreement.partnership_id)
    assert partnership is not None
    db.session.refresh(partnership, with_for_update={"of": Partnership})
    if replacement_for(agreement) != Replacement.PREPARE:
        return None
    draft = agreements.create_for_partnership(partnership, acting, now)
    _copy_terms(agreement, draft)
    return draft


def replaced_by(agreement: Agreement) -> Agreement | None:
    """The agreement made for the same placement or partnership after this superseded one."""
    if agreement.state != "superseded":
        return None
    return db.session.scalar(
        sa.select(Agreement)
        .where(_same_subject(agreement), Agreement.id > agreement.id)
        .order_by(Agreement.id)
        .limit(1)
    )


def _copy_terms(replaced: Agreement, draft: Agreement) -> None:
    """The replacement says what the replaced agreement said, in its language."""
    draft.language = replaced.language
    draft.terms = dict(replaced.terms or {})
    db.session.flush()


def _live_other(agreement: Agreement) -> bool:
    """Whether another agreement of the same placement or partnership still counts."""
    return (
        db.session.scalar(
            sa.select(Agreement.id)
            .where(
                _same_subject(agreement),
                Agreement.id != agreement.id,
                Agreement.state.in_(LIVE_STATES),
            )
            .limit(1)
        )
        is not None
    )


def _same_subject(agreement: Agreement) -> sa.ColumnElement[bool]:
    if agreement.placement_id is not None:
        return Agreement.placement_id == agreement.placement_id
    return Agreement.partnership_id == agreement.partnership_id


def _state_of(model: type[Placement] | type[Partnership], record_id: int | None) -> str | None:
    if record_id is None:
        return None
    return db.session.scalar(sa.select(model.state).where(model.id == record_id))
