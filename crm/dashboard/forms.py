"""The dashboard's filters: a GET form (period in whole months, programme, sector, country,
officer) that hands the service a plain `Filters` value."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import Field, SelectField
from wtforms.fields import MonthField
from wtforms.validators import Optional, ValidationError

from crm.core.locales import country_choices
from crm.dashboard.data import Filters
from crm.dashboard.service import default_filters
from crm.learners.service import programme_filter_choices
from crm.organisations.nace import SECTIONS
from crm.organisations.service import owner_filter_choices

# The query arguments the filters use (and that "Refresh now" and the exports carry along).
FILTER_ARGS = ("from", "to", "programme", "sector", "country", "officer")
# A longer period would only make the charts unreadable (and the numbers slower to sum).
MAX_MONTHS = 60
FIRST_MONTH = dt.date(2000, 1, 1)
LAST_MONTH = dt.date(2099, 12, 1)


def month_index(month: dt.date) -> int:
    """Months since year 0: the difference of two is the number of months between them."""
    return month.year * 12 + month.month - 1


def month_end(month: dt.date) -> dt.date:
    """The last day of `month`'s month."""
    following = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - dt.timedelta(days=1)


def _months_before(month: dt.date, count: int) -> dt.date:
    index = month_index(month) - count
    return dt.date(index // 12, index % 12 + 1, 1)


def _in_range(_form: Any, field: Field) -> None:
    if field.data is not None and not FIRST_MONTH <= field.data <= LAST_MONTH:
        raise ValidationError(_l("Choose a month from 2000 to 2099."))


def _one_of_the_choices(message: Any) -> Any:
    def check(_form: Any, field: Field) -> None:
        if field.data and field.data not in {str(value) for value, _label in field.choices}:
            raise ValidationError(message)

    return check


class DashboardFilterForm(FlaskForm):
    """What the dashboard counts: months from/to (both included) and optional narrowing."""

    class Meta:
        csrf = False  # a GET form that changes nothing: its address can be bookmarked

    period_from = MonthField(
        _l("From"),
        name="from",
        validators=[Optional(), _in_range],
        invalid_value_message=_l("Enter a month as YYYY-MM, e.g. 2026-01."),
    )
    period_to = MonthField(
        _l("To"),
        name="to",
        validators=[Optional(), _in_range],
        invalid_value_message=_l("Enter a month as YYYY-MM, e.g. 2026-12."),
    )
    programme = SelectField(
        _l("Programme"),
        validate_choice=False,
        validators=[Optional(), _one_of_the_choices(_l("Choose a programme from the list."))],
    )
    sector = SelectField(
        _l("Sector"),
        validate_choice=False,
        validators=[Optional(), _one_of_the_choices(_l("Choose a sector from the list."))],
    )
    country = SelectField(
        _l("Country"),
        validate_choice=False,
        validators=[Optional(), _one_of_the_choices(_l("Choose a country from the list."))],
    )
    officer = SelectField(
        _l("Officer"),
        validate_choice=False,
        validators=[Optional(), _one_of_the_choices(_l("Choose an officer from the list."))],
    )

    def validate_period_to(self, field: Field) -> None:
        """The period runs forwards and spans at most MAX_MONTHS months."""
        start, end = self.period_from.data, field.data
        if start is None or end is None or self.period_from.errors:
            return
        if end < start:
            raise ValidationError(_l("The last month must not be before the first."))
        if month_index(end) - month_index(start) + 1 > MAX_MONTHS:
            raise ValidationError(
                _l("Choose a period of at most %(years)d years.", years=MAX_MONTHS // 12)
            )

    def filters(self, today: dt.date) -> Filters:
        """The chosen filters; a missing month comes from the default period (the last 12
        months), or is 12 months from the other one. Call after `validate()` succeeded."""
        default = default_filters(today)
        start, end = self.period_from.data, self.period_to.data
        if start is None and end is None:
            start, end = default.period_from, dt.date(today.year, today.month, 1)
        elif start is None:
            assert end is not None
            start = _months_before(end, 11)
        elif end is None:
            end = max(dt.date(today.year, today.month, 1), start)
            if month_index(end) - month_index(start) + 1 > MAX_MONTHS:
                end = _months_before(start, -(MAX_MONTHS - 1))
        start = max(start, FIRST_MONTH)
        return Filters(
            period_from=start,
            period_to=month_end(end),
            programme_id=int(self.programme.data) if self.programme.data else None,
            sector=self.sector.data or None,
            country=self.country.data or None,
            officer_id=int(self.officer.data) if self.officer.data else None,
        )

    def chosen_label(self, name: str) -> str:
        """The text of the option chosen in the select `name` ("" when none is)."""
        field: SelectField = getattr(self, name)
        for value, label in field.choices:
            if value and str(value) == field.data:
                return str(label)
        return ""


def filter_form(args: MultiDict[str, str]) -> DashboardFilterForm:
    """The filter form read from the query arguments, its choices loaded (two statements)."""
    form = DashboardFilterForm(formdata=args if any(args.get(k) for k in FILTER_ARGS) else None)
    form.programme.choices = [("", _l("All programmes"))] + [
        (str(id_), name) for id_, name in programme_filter_choices()
    ]
    form.sector.choices = [("", _l("All sectors"))] + [
        (letter, f"{letter} — {label}") for letter, label in SECTIONS.items()
    ]
    form.country.choices = [("", _l("All countries")), *country_choices()]
    form.officer.choices = [("", _l("Everyone"))] + [
        (str(user.id), user.name) for user in owner_filter_choices()
    ]
    return form


def read_filters(args: MultiDict[str, str], today: dt.date) -> tuple[DashboardFilterForm, Filters]:
    """The form as filled in and the filters to show: the chosen ones, or the default ones
    (the last 12 months) when any field is wrong, the form then carrying its errors."""
    form = filter_form(args)
    if not form.validate():
        return form, default_filters(today)
    filters = form.filters(today)
    # The month inputs show the period counted, also where a month was left out.
    form.period_from.data = filters.period_from
    form.period_to.data = dt.date(filters.period_to.year, filters.period_to.month, 1)
    form.period_from.raw_data = form.period_to.raw_data = None
    return form, filters
