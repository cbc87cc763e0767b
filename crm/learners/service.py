"""Learners: who may see and change what, the list and its CSV export, changes.

`Learner.support_needs` is special-category data. Only the learner's officer, managers and
admins read it (`can_see_support_needs`). The list loads learners without it (reading it
raises) and the export reads named columns only, so neither can show it even by mistake.
Programmes and cohorts are in crm.learners.programmes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import defer, joinedload, selectinload

from crm.auth.models import User
from crm.contacts.models import ConsentBasis
from crm.core.pagination import Page, paginate
from crm.core.search import search_conditions
from crm.core.text import fold, search_terms
from crm.db import utcnow
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme

ADULT_AGE = 18
EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
# Spreadsheets run cells starting with these as formulas (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")


class LearnerError(Exception):
    """A rule about programmes, cohorts or learners was broken; fit to show the user.

    `field` names the form field the message belongs next to.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LearnerValues:
    """What a form hands the service to create or change a learner.

    `support_needs` is None when the form did not carry the field (the user may not see
    it): the stored text is then kept. `officer_id` is used only for managers and admins.
    """

    first_name: str
    last_name: str
    programme_id: int
    cohort_id: int
    consent_basis: ConsentBasis
    email: str = ""
    birth_date: dt.date | None = None
    guardian_name: str = ""
    guardian_email: str = ""
    support_needs: str | None = None
    officer_id: int | None = None


@dataclass(frozen=True)
class LearnerFilters:
    """What the learner list (and its export) is asked to show."""

    query: str = ""
    programme_id: int | None = None
    cohort_id: int | None = None
    officer_id: int | None = None
    include_archived: bool = False


# --- permissions ----------------------------------------------------------------------------


def can_edit(user: User, learner: Learner) -> bool:
    """The learner's officer, managers and admins change a learner."""
    return user.sees_everything or learner.officer_id == user.id


def can_see_support_needs(user: User, learner: Learner) -> bool:
    """Only the learner's officer, managers and admins read the learner's support needs."""
    return user.sees_everything or learner.officer_id == user.id


# --- keys and small facts -------------------------------------------------------------------


def age_on(birth_date: dt.date | None, day: dt.date) -> int | None:
    """Completed years of age on `day` (someone born on 29 February ages on 1 March)."""
    if birth_date is None:
        return None
    before_birthday = (day.month, day.day) < (birth_date.month, birth_date.day)
    return day.year - birth_date.year - int(before_birthday)


def is_minor(birth_date: dt.date | None, day: dt.date) -> bool:
    """Whether someone born on `birth_date` is under 18 on `day` (unknown: no)."""
    age = age_on(birth_date, day)
    return age is not None and age < ADULT_AGE


def sort_key(first_name: str, last_name: str) -> str:
    """The list order: by surname, then first name, without case or accents."""
    return fold(f"{last_name} {first_name}")


def learner_search_text(first_name: str, last_name: str, email: str) -> str:
    """The folded text the search box matches: names and e-mail, never support needs."""
    return " ".join(fold(part) for part in (first_name, last_name, email) if part)


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: formula-like values get a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# --- choice lists -------------------------------------------------------------------------


def programme_choices(keep_id: int | None = None) -> list[Programme]:
    """Programmes to choose from, with their cohorts: active ones, and `keep_id` if archived."""
    condition: sa.ColumnElement[bool] = Programme.archived_at.is_(None)
    if keep_id is not None:
        condition = sa.or_(condition, Programme.id == keep_id)
    return list(
        db.session.scalars(
            sa.select(Programme)
            .where(condition)
            .options(selectinload(Programme.cohorts))
            .order_by(Programme.name, Programme.id)
        )
    )


def programme_filter_choices() -> list[tuple[int, str]]:
    """(id, name) of every programme, archived ones last, for the list's filter."""
    rows = db.session.execute(
        sa.select(Programme.id, Programme.name, Programme.code).order_by(
            Programme.archived_at.is_not(None), Programme.name, Programme.id
        )
    )
    return [(id_, f"{name} ({code})") for id_, name, code in rows]


# --- learners: reading ----------------------------------------------------------------------


def get_learner(learner_id: int) -> Learner | None:
    """A learner with programme, cohort and officer (support needs included: check before
    showing them with `can_see_support_needs`)."""
    return db.session.scalar(
        sa.select(Learner)
        .where(Learner.id == learner_id)
        .options(
            joinedload(Learner.programme, innerjoin=True),
            joinedload(Learner.cohort, innerjoin=True),
            joinedload(Learner.officer, innerjoin=True),
        )
    )


def _conditions(filters: LearnerFilters) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if not filters.include_archived:
        conditions.append(Learner.archived_at.is_(None))
    conditions += search_conditions(
        Learner.search_text, Learner.id, "learner_search", search_terms(filters.query)
    )
    if filters.programme_id:
        conditions.append(Learner.programme_id == filters.programme_id)
    if filters.cohort_id:
        conditions.append(Learner.cohort_id == filters.cohort_id)
    if filters.officer_id:
        conditions.append(Learner.officer_id == filters.officer_id)
    return conditions


def list_learners(filters: LearnerFilters, page: int, per_page: int) -> Page[Learner]:
    """One page of learners with programme, cohort and officer, in two statements.

    Support needs are not loaded: reading them on a listed learner raises.
    """
    conditions = _conditions(filters)
    query = (
        sa.select(Learner)
        .where(*conditions)
        .options(
            defer(Learner.support_needs, raiseload=True),
            joinedload(Learner.programme, innerjoin=True).load_only(Programme.name, Programme.code),
            joinedload(Learner.cohort, innerjoin=True).load_only(Cohort.name),
            joinedload(Learner.officer, innerjoin=True).load_only(User.name),
        )
        .order_by(Learner.sort_name, Learner.id)
    )
    count_query = sa.select(sa.func.count()).select_from(Learner).where(*conditions)
    return paginate(query, page, per_page, count_query=count_query)


def learners_csv(filters: LearnerFilters) -> str:
    """The filtered learner list as CSV: name, e-mail, programme, cohort, officer.

    It reads those columns only; support needs (and the rest of the record) never reach it.
    """
    rows = db.session.execute(
        sa.select(
            Learner.first_name,
            Learner.last_name,
            Learner.email,
            Programme.name,
            Programme.code,
            Cohort.name,
            User.name,
        )
        .join(Programme, Programme.id == Learner.programme_id)
        .join(Cohort, Cohort.id == Learner.cohort_id)
        .join(User, User.id == Learner.officer_id)
        .where(*_conditions(filters))
        .order_by(Learner.sort_name, Learner.id)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = [_("First name"), _("Last name"), _("E-mail address"), _("Programme")]
    header += [_("Programme code"), _("Cohort"), _("Officer")]
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return out.getvalue()


def cohort_filter_choices() -> list[tuple[str, list[tuple[int, str]]]]:
    """Every cohort, grouped under its programme's name, for the list's filter."""
    rows = db.session.execute(
        sa.select(Programme.id, Programme.name, Cohort.id, Cohort.name)
        .join(Cohort.programme)
        .order_by(Programme.name, Programme.id, Cohort.starts_on.desc(), Cohort.id)
    )
    groups: dict[int, tuple[str, list[tuple[int, str]]]] = {}
    for programme_id, programme_name, cohort_id, cohort_name in rows:
        groups.setdefault(programme_id, (programme_name, []))[1].append((cohort_id, cohort_name))
    return list(groups.values())


# --- learners: writing ----------------------------------------------------------------------


def _check_learner(values: LearnerValues, learner: Learner | None, today: dt.date) -> None:
    programme = db.session.get(Programme, values.programme_id)
    if programme is None:
        raise LearnerError(_("Choose a programme."), "programme_id")
    if programme.archived_at is not None and (
        learner is None or learner.programme_id != programme.id
    ):
        raise LearnerError(_("This programme is archived."), "programme_id")
    cohort = db.session.get(Cohort, values.cohort_id)
    if cohort is None or cohort.programme_id != programme.id:
        raise LearnerError(_("Choose a cohort of the chosen programme."), "cohort_id")
    if values.birth_date is not None and values.birth_date > today:
        raise LearnerError(_("The date of birth cannot be in the future."), "birth_date")
    if values.birth_date is not None and values.birth_date < EARLIEST_BIRTH_DATE:
        raise LearnerError(_("Check the date of birth."), "birth_date")


def _officer_id(values: LearnerValues, acting: User, current: int | None) -> int:
    if not acting.sees_everything or not values.officer_id:
        return current if current is not None else acting.id
    officer = db.session.get(User, values.officer_id)
    if officer is None or (not officer.is_active_account and officer.id != current):
        raise LearnerError(_("Choose an active account."), "officer_id")
    return officer.id


def _apply_learner(learner: Learner, values: LearnerValues) -> None:
    learner.first_name = values.first_name.strip()
    learner.last_name = values.last_name.strip()
    learner.email = values.email.strip()
    learner.programme_id = values.programme_id
    learner.cohort_id = values.cohort_id
    learner.birth_date = values.birth_date
    learner.consent_basis = values.consent_basis
    learner.guardian_name = values.guardian_name.strip()
    learner.guardian_email = values.guardian_email.strip()
    learner.sort_name = sort_key(learner.first_name, learner.last_name)
    learner.search_text = learner_search_text(learner.first_name, learner.last_name, learner.email)


def create_learner(values: LearnerValues, acting: User, today: dt.date | None = None) -> Learner:
    """Add a learner; officers become the learner's officer, managers may choose one."""
    _check_learner(values, None, today or utcnow().date())
    learner = Learner(officer_id=_officer_id(values, acting, None))
    _apply_learner(learner, values)
    learner.support_needs = (values.support_needs or "").strip()
    db.session.add(learner)
    db.session.flush()
    return learner


def update_learner(
    learner: Learner, values: LearnerValues, acting: User, today: dt.date | None = None
) -> None:
    """Change a learner; support needs change only for those who may see them."""
    if not can_edit(acting, learner):
        raise PermissionError("not allowed")
    _check_learner(values, learner, today or utcnow().date())
    may_see = can_see_support_needs(acting, learner)  # before the officer changes
    _apply_learner(learner, values)
    if may_see and values.support_needs is not None:
        learner.support_needs = values.support_needs.strip()
    learner.officer_id = _officer_id(values, acting, learner.officer_id)
    db.session.flush()


def set_learner_archived(learner: Learner, archived: bool, acting: User) -> None:
    """Archive (hide from the list, keep the history) or restore a learner."""
    if not can_edit(acting, learner):
        raise PermissionError("not allowed")
    learner.archived_at = utcnow() if archived else None
    db.session.flush()


def officers() -> list[User]:
    """Active accounts that may look after learners, for the officer picker."""
    return list(
        db.session.scalars(
            sa.select(User).where(User.is_active_account.is_(True)).order_by(User.name)
        )
    )


def officer_filter_choices() -> Iterable[User]:
    """Everyone who may look after learners, deactivated accounts last."""
    return db.session.scalars(sa.select(User).order_by(User.is_active_account.desc(), User.name))
