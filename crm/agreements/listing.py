"""The list of agreements (managers see all, officers their own) and its CSV export, each in
a fixed number of statements whatever the number of rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from crm.agreements.adapter import definition
from crm.agreements.models import Agreement, AgreementKind
from crm.auth.models import User
from crm.core.pagination import Page
from crm.core.search import search_conditions
from crm.core.text import search_terms
from crm.extensions import db
from crm.learners.models import Learner
from crm.learners.service import csv_cell
from crm.organisations.models import Organisation
from crm.placements.models import Placement

# "Expiring within N days" accepts up to ten years.
MAX_EXPIRING_DAYS = 3650


@dataclass(frozen=True)
class AgreementFilters:
    """What the list is asked to show. `expiring_within`: expires between today and today + N
    days (both included); `officer_id` is forced to the user's own for officers."""

    query: str = ""
    state: str = ""
    kind: str = ""
    officer_id: int | None = None
    expiring_within: int | None = None


@dataclass(frozen=True)
class AgreementRow:
    """One agreement as the list and the export show it (plain columns, not entities)."""

    id: int
    kind: AgreementKind
    state: str
    organisation_name: str
    learner_name: str  # "" for a memorandum
    officer_name: str
    current_number: int
    valid_from: dt.date | None
    expires_on: dt.date | None
    state_entered_at: dt.datetime

    @property
    def kind_label(self) -> str:
        return self.kind.label


def _filtered(filters: AgreementFilters, today: dt.date, *columns: Any) -> sa.Select[Any]:
    """`SELECT columns FROM agreements` with the filters (organisations are looked into only
    through `IN (SELECT id …)` for the search)."""
    query = sa.select(*columns).select_from(Agreement)
    query = query.where(Agreement.workflow_name == definition().name)
    if filters.state:
        query = query.where(Agreement.state == filters.state)
    if filters.kind:
        query = query.where(Agreement.kind == AgreementKind(filters.kind))
    if filters.officer_id:
        query = query.where(Agreement.officer_id == filters.officer_id)
    if filters.expiring_within is not None:
        last = today + dt.timedelta(days=filters.expiring_within)
        query = query.where(Agreement.expires_on >= today, Agreement.expires_on <= last)
    terms = search_terms(filters.query)
    if terms:
        organisations = sa.select(Organisation.id).where(
            *search_conditions(
                Organisation.search_text, Organisation.id, "organisation_search", terms
            )
        )
        query = query.where(Agreement.organisation_id.in_(organisations))
    return query


def _order(filters: AgreementFilters) -> tuple[Any, ...]:
    """Soonest expiry first when looking at expiring ones; else the newest first."""
    if filters.expiring_within is not None:
        return (Agreement.expires_on.asc(), Agreement.id.asc())
    return (Agreement.id.desc(),)


def _rows(query: sa.Select[Any]) -> Iterator[AgreementRow]:
    for row in db.session.execute(query):
        (id_, kind, state, legal, trading, first, last, officer, number, start, end, entered) = row
        yield AgreementRow(
            id=id_,
            kind=AgreementKind(kind),
            state=state,
            organisation_name=trading or legal,
            learner_name=" ".join(part for part in (first, last) if part),
            officer_name=officer,
            current_number=number,
            valid_from=start,
            expires_on=end,
            state_entered_at=entered,
        )


_ROW_COLUMNS: tuple[Any, ...] = (
    Agreement.id,
    Agreement.kind,
    Agreement.state,
    Organisation.legal_name,
    Organisation.trading_name,
    Learner.first_name,
    Learner.last_name,
    User.name,
    Agreement.current_number,
    Agreement.valid_from,
    Agreement.expires_on,
    Agreement.state_entered_at,
)


def _with_names(query: sa.Select[Any]) -> sa.Select[Any]:
    """Join what a row shows: the organisation, the learner of a placement, the officer."""
    return (
        query.join(Organisation, Organisation.id == Agreement.organisation_id)
        .join(User, User.id == Agreement.officer_id)
        .outerjoin(Placement, Placement.id == Agreement.placement_id)
        .outerjoin(Learner, Learner.id == Placement.learner_id)
    )


def list_agreements(
    filters: AgreementFilters, page: int, per_page: int, today: dt.date
) -> Page[AgreementRow]:
    """One page of agreements, in two statements (the count and the page)."""
    count_query = sa.select(sa.func.count()).select_from(
        _filtered(filters, today, Agreement.id).subquery()
    )
    total = db.session.scalar(count_query) or 0
    last_page = max(1, -(-total // per_page))
    page = min(max(1, page), last_page)
    chosen = (
        _filtered(filters, today, Agreement.id)
        .order_by(*_order(filters))
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    query = (
        _with_names(sa.select(*_ROW_COLUMNS).select_from(Agreement))
        .where(Agreement.id.in_(chosen.scalar_subquery()))
        .order_by(*_order(filters))
    )
    return Page(items=list(_rows(query)), page=page, per_page=per_page, total=total)


def agreements_csv(filters: AgreementFilters, today: dt.date, state_labels: dict[str, str]) -> str:
    """The filtered list as CSV, in one statement; every cell a spreadsheet shows as text."""
    query = _with_names(_filtered(filters, today, *_ROW_COLUMNS)).order_by(*_order(filters))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [_("Agreement"), _("Kind"), _("Organisation"), _("Learner"), _("Stage")]
    header += [_("Version"), _("Officer"), _("Valid from"), _("Expires on")]
    writer.writerow([csv_cell(h) for h in header])
    for row in _rows(query):
        writer.writerow(
            [
                csv_cell(value)
                for value in (
                    row.id,
                    row.kind_label,
                    row.organisation_name,
                    row.learner_name,
                    state_labels.get(row.state, row.state),
                    row.current_number or "",
                    row.officer_name,
                    row.valid_from.isoformat() if row.valid_from else "",
                    row.expires_on.isoformat() if row.expires_on else "",
                )
            ]
        )
    return out.getvalue()
