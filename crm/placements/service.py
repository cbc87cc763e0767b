"""Placements: requests and their details, matching one to an organisation, the panels of the
learner and organisation pages (the list and board are in crm.placements.listing).

A learner's placements that hold their period never overlap: the database refuses it (see
crm.placements.models.OVERLAP_CONSTRAINT); this service checks first for a friendly message
and turns the database's refusal into the same message when two requests race.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import joinedload, load_only

from crm.auth.models import User
from crm.contacts.models import Contact, ContactRole
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Learner, Programme
from crm.links.service import Reissued, reissue_if_changed
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership
from crm.placements.adapter import ADAPTER, definition, organisation_partnership
from crm.placements.models import OVERLAP_CONSTRAINT, Placement
from crm.workflow import service as workflow

DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for "deadlock detected"


class PlacementError(Exception):
    """A rule about placements was broken; the message is fit to show the user.

    `field` names the form field the message belongs next to ("" for the whole form).
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


# The longest a placement may last: it lies inside a programme year. Counting an
# organisation's places reads only placements that started at most this long before the
# period asked about (crm.placements.matching).
MAX_PLACEMENT_DAYS = 366

# What placement pages may read of a learner: never `support_needs` (see Learner).
LEARNER_COLUMNS = (
    Learner.first_name,
    Learner.last_name,
    Learner.programme_id,
    Learner.cohort_id,
    Learner.officer_id,
    Learner.birth_date,
)


def learner_load() -> Any:
    """`joinedload(Placement.learner, innerjoin=True)` limited to the columns pages show;
    reading any other column (support needs above all) raises instead of loading it."""
    return joinedload(Placement.learner, innerjoin=True).load_only(*LEARNER_COLUMNS, raiseload=True)


# --- permissions ----------------------------------------------------------------------------


def may_edit(user: User, placement: Placement) -> bool:
    """The placement's officer, managers and admins change and move it."""
    return ADAPTER.may_edit(user, placement)


def may_place(user: User, learner: Learner) -> bool:
    """The learner's officer, managers and admins request and match placements for them."""
    return user.sees_everything or learner.officer_id == user.id


# --- reading --------------------------------------------------------------------------------


def get_placement(placement_id: int) -> Placement | None:
    """A placement with its learner (without support needs), programme year, officer,
    organisation, supervisor and partnership.

    `workflow.fire` refreshes the record with these loader options, locking only the
    placements row (`FOR UPDATE OF placements`): the outer joins of the nullable keys are
    allowed there; the NOT NULL keys are inner joins.
    """
    return db.session.scalar(
        sa.select(Placement)
        .where(Placement.id == placement_id)
        .options(
            learner_load().joinedload(Learner.cohort, innerjoin=True),
            joinedload(Placement.programme, innerjoin=True),
            joinedload(Placement.officer, innerjoin=True),
            joinedload(Placement.organisation),
            joinedload(Placement.supervisor),
            joinedload(Placement.partnership),
        )
    )


def get_learner(learner_id: int) -> Learner | None:
    """A learner with programme and cohort, without support needs (for placement pages)."""
    return db.session.scalar(
        sa.select(Learner)
        .where(Learner.id == learner_id)
        .options(
            load_only(*LEARNER_COLUMNS, Learner.archived_at, raiseload=True),
            joinedload(Learner.programme, innerjoin=True),
            joinedload(Learner.cohort, innerjoin=True),
        )
    )


def placements_of_learner(learner_id: int) -> list[Placement]:
    """A learner's placements, newest first, with organisation and supervisor (one statement)."""
    return list(
        db.session.scalars(
            sa.select(Placement)
            .where(Placement.learner_id == learner_id)
            .options(
                joinedload(Placement.organisation).load_only(
                    Organisation.legal_name, Organisation.trading_name, Organisation.city
                ),
                joinedload(Placement.supervisor).load_only(
                    Contact.first_name, Contact.last_name, Contact.email
                ),
            )
            .order_by(
                Placement.start_date.desc().nulls_first(),
                Placement.created_at.desc(),
                Placement.id.desc(),
            )
        )
    )


def requests_of_learner(learner_id: int) -> list[Placement]:
    """A learner's placements still waiting for an organisation (the workflow's first stage)."""
    return list(
        db.session.scalars(
            sa.select(Placement)
            .where(Placement.learner_id == learner_id, Placement.state == definition().initial)
            .order_by(Placement.created_at.desc(), Placement.id.desc())
        )
    )


@dataclass(frozen=True)
class OrganisationPlacements:
    """An organisation's newest placements and how many it has in all."""

    items: list[Placement]
    total: int


def placements_of_organisation(organisation_id: int, limit: int = 20) -> OrganisationPlacements:
    """The organisation's learners past and present: the newest placements, in two statements."""
    items = db.session.scalars(
        sa.select(Placement)
        .where(Placement.organisation_id == organisation_id)
        .options(
            learner_load(),
            joinedload(Placement.programme, innerjoin=True).load_only(
                Programme.name, Programme.code
            ),
        )
        .order_by(Placement.start_date.desc().nulls_first(), Placement.id.desc())
        .limit(limit)
    ).all()
    total = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Placement)
        .where(Placement.organisation_id == organisation_id)
    )
    return OrganisationPlacements(list(items), total or 0)


def history(placement: Placement) -> list[Any]:
    """The placement's transitions, newest first."""
    return workflow.history("placement", placement.id)


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementValues:
    """The details of a placement an officer keeps (the guards read most of them)."""

    organisation_id: int | None = None
    supervisor_id: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    hours_target: int = 0
    hours_logged: Decimal = Decimal(0)
    workplace_address: str = ""
    role_description: str = ""
    learning_objectives: str = ""
    guardian_consent_on: dt.date | None = None
    hours_shortfall_reason: str = ""
    officer_id: int | None = None


def clashing_placement(
    learner_id: int, start: dt.date | None, end: dt.date | None, exclude_id: int | None = None
) -> Placement | None:
    """A placement of the learner that holds its period and overlaps these dates."""
    if start is None or end is None:
        return None
    query = (
        sa.select(Placement)
        .where(
            Placement.learner_id == learner_id,
            Placement.period_held.is_(True),
            Placement.start_date <= end,
            Placement.end_date >= start,
        )
        .options(
            joinedload(Placement.organisation).load_only(
                Organisation.legal_name, Organisation.trading_name
            )
        )
        .order_by(Placement.start_date, Placement.id)
        .limit(1)
    )
    if exclude_id is not None:
        query = query.where(Placement.id != exclude_id)
    with db.session.no_autoflush:
        return db.session.scalar(query)


def overlap_message(clash: Placement | None) -> str:
    """What to tell the user when the dates overlap another placement of the learner."""
    if clash is None or clash.start_date is None or clash.end_date is None:
        return _("The learner already has a placement in these dates.")
    organisation = clash.organisation.display_name if clash.organisation else ""
    if organisation:
        return _(
            "The learner already has a placement from %(start)s to %(end)s at %(organisation)s; "
            "the dates must not overlap.",
            start=format_date(clash.start_date),
            end=format_date(clash.end_date),
            organisation=organisation,
        )
    return _(
        "The learner already has a placement from %(start)s to %(end)s; "
        "the dates must not overlap.",
        start=format_date(clash.start_date),
        end=format_date(clash.end_date),
    )


def _check(placement: Placement, values: PlacementValues) -> None:
    """Rules on the values alone, and the friendly overlap check (the database decides)."""
    if values.start_date and values.end_date and values.end_date < values.start_date:
        raise PlacementError(_("The end date lies before the start date."), "end_date")
    if (
        values.start_date
        and values.end_date
        and (values.end_date - values.start_date).days >= MAX_PLACEMENT_DAYS
    ):
        raise PlacementError(_("A placement cannot last longer than a year."), "end_date")
    if values.hours_target < 0:
        raise PlacementError(_("The hours cannot be negative."), "hours_target")
    if values.hours_logged < 0:
        raise PlacementError(_("The hours cannot be negative."), "hours_logged")
    if values.guardian_consent_on and values.guardian_consent_on > utcnow().date():
        raise PlacementError(_("The consent date cannot be in the future."), "guardian_consent_on")
    if placement.period_held:
        clash = clashing_placement(
            placement.learner_id, values.start_date, values.end_date, placement.id
        )
        if clash is not None:
            raise PlacementError(overlap_message(clash), "start_date")


def _organisation(organisation_id: int | None) -> Organisation | None:
    if organisation_id is None:
        return None
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise PlacementError(_("Choose an organisation from the register."), "organisation_id")
    return organisation


def _supervisor(supervisor_id: int | None, organisation: Organisation | None) -> Contact | None:
    if supervisor_id is None:
        return None
    contact = db.session.get(Contact, supervisor_id)
    if (
        contact is None
        or organisation is None
        or contact.organisation_id != organisation.id
        or contact.archived_at is not None
    ):
        if organisation is None:
            message = _("Choose the organisation before its workplace supervisor.")
        else:
            message = _(
                "Choose a contact of %(organisation)s as the workplace supervisor.",
                organisation=organisation.display_name,
            )
        raise PlacementError(message, "supervisor_id")
    return contact


def organisation_address(organisation: Organisation) -> str:
    """The organisation's address as a workplace address (with the city if not in it)."""
    address = organisation.address.strip()
    if organisation.city and organisation.city not in address:
        address = f"{address}\n{organisation.city}".strip()
    return address


def _changes(placement: Placement, values: PlacementValues, acting: User) -> dict[str, Any]:
    """Check the values and work out the placement's new columns (reading only)."""
    organisation = _organisation(values.organisation_id)
    supervisor = _supervisor(values.supervisor_id, organisation)
    _check(placement, values)
    partnership_id = placement.partnership_id
    if organisation is None:
        partnership_id = None
    elif organisation.id != placement.organisation_id or partnership_id is None:
        partnership_id = db.session.scalar(
            organisation_partnership(organisation.id, Partnership.id)
        )
    address = values.workplace_address.strip()
    if not address and organisation is not None:
        address = organisation_address(organisation)
    changes: dict[str, Any] = {
        "organisation_id": organisation.id if organisation else None,
        "partnership_id": partnership_id,
        "workplace_address": address,
        "supervisor_id": supervisor.id if supervisor else None,
        "start_date": values.start_date,
        "end_date": values.end_date,
        "hours_target": values.hours_target,
        "hours_logged": values.hours_logged,
        "role_description": values.role_description.strip(),
        "learning_objectives": values.learning_objectives.strip(),
        "guardian_consent_on": values.guardian_consent_on,
        "hours_shortfall_reason": values.hours_shortfall_reason.strip(),
    }
    if acting.sees_everything and values.officer_id:
        changes["officer_id"] = values.officer_id
    return changes


def is_overlap_refusal(exc: DBAPIError) -> bool:
    """Whether the database refused a placement because it overlaps another of the learner's.

    PostgreSQL checks the exclusion constraint against rows not yet committed: when two
    transactions insert overlapping placements at the same moment, each waits for the other
    and one is chosen as the deadlock victim (SQLSTATE 40P01) instead of seeing the
    constraint's violation. Either way that one's placement is refused, the other's stands.
    """
    if isinstance(exc, IntegrityError):
        return OVERLAP_CONSTRAINT in str(exc.orig)
    return getattr(exc.orig, "sqlstate", None) == DEADLOCK_DETECTED


def _save(placement: Placement, changes: dict[str, Any]) -> None:
    """Apply the changes and flush them in a savepoint (begun before the first change, so
    that nothing of them is flushed outside it); the database's overlap refusal becomes a
    PlacementError and leaves the transaction usable."""
    try:
        with db.session.begin_nested():
            for name, value in changes.items():
                setattr(placement, name, value)
            db.session.add(placement)
            db.session.flush()
    except (IntegrityError, OperationalError) as exc:
        if not is_overlap_refusal(exc):
            raise
        clash = clashing_placement(
            placement.learner_id, changes["start_date"], changes["end_date"], placement.id
        )
        raise PlacementError(overlap_message(clash), "start_date") from None


def request_placement(
    learner: Learner, acting: User, values: PlacementValues | None = None
) -> Placement:
    """Ask for a placement for a learner: the workflow's first stage, the learner's programme,
    and the learner's officer unless a manager names another."""
    if not may_place(acting, learner):
        raise PermissionError("not allowed")
    values = values or PlacementValues()
    placement = Placement(
        learner_id=learner.id,
        programme_id=learner.programme_id,
        officer_id=learner.officer_id,
        period_held=True,
    )
    workflow.start(placement, definition())
    _save(placement, _changes(placement, values, acting))
    return placement


def update_placement(placement: Placement, values: PlacementValues, acting: User) -> list[Reissued]:
    """Change a placement's details (organisation, supervisor, dates, hours, texts).

    A link whose question changed (e.g. new dates while the employer is asked to confirm)
    stops working and a new one goes out: returns those (crm.links.service.Reissued).
    """
    if not may_edit(acting, placement):
        raise PermissionError("not allowed")
    _save(placement, _changes(placement, values, acting))
    return reissue_if_changed(placement, acting)


def values_of(placement: Placement, **changes: Any) -> PlacementValues:
    """The placement's current details, some changed."""
    current = PlacementValues(
        organisation_id=placement.organisation_id,
        supervisor_id=placement.supervisor_id,
        start_date=placement.start_date,
        end_date=placement.end_date,
        hours_target=placement.hours_target,
        hours_logged=placement.hours_logged,
        workplace_address=placement.workplace_address,
        role_description=placement.role_description,
        learning_objectives=placement.learning_objectives,
        guardian_consent_on=placement.guardian_consent_on,
        hours_shortfall_reason=placement.hours_shortfall_reason,
        officer_id=placement.officer_id,
    )
    return PlacementValues(**{**current.__dict__, **changes})


def match_placement(
    placement: Placement, organisation: Organisation, acting: User
) -> workflow.TransitionBlocked | None:
    """Put a requested placement at an organisation and fire `match` if its guards hold.

    The organisation (and its partnership) is saved either way; what still stops the match
    comes back as the TransitionBlocked, None when the placement moved on.
    """
    if not may_edit(acting, placement):
        raise PermissionError("not allowed")
    if placement.state != definition().initial:
        raise PlacementError(_("Only a requested placement can be matched to an organisation."))
    if organisation.archived_at is not None:
        raise PlacementError(_("This organisation is archived."))
    keep_supervisor = placement.supervisor_id
    if placement.organisation_id != organisation.id:
        keep_supervisor = None
    update_placement(
        placement,
        values_of(placement, organisation_id=organisation.id, supervisor_id=keep_supervisor),
        acting,
    )
    try:
        workflow.fire(placement, "match", user=acting)
    except workflow.TransitionBlocked as exc:
        return exc
    return None


def supervisors_of(organisation_id: int | None) -> list[Contact]:
    """The organisation's active contacts, workplace supervisors first."""
    if organisation_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(Contact)
            .where(Contact.organisation_id == organisation_id, Contact.archived_at.is_(None))
            .order_by(
                (Contact.role != ContactRole.WORKPLACE_SUPERVISOR),
                Contact.sort_name,
                Contact.id,
            )
        )
    )
