"""Jinja filters and globals: dates in the user's time zone, translated labels."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Flask, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale, to_user_timezone
from flask_babel import gettext as _

from crm.core.locales import country_name, language_name, ui_language_choices


def _localtime(value: dt.datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)  # Flask-Babel converts to the user's time zone


def _localdate(value: dt.date | dt.datetime | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = to_user_timezone(value).date()
    return format_date(value, fmt)


def _ago(value: dt.datetime | None) -> str:
    if value is None:
        return _("never")
    from flask_babel import format_timedelta

    # Babel words the direction itself ("3 days ago", "vor 3 Tagen"): a "%s ago" template
    # cannot be made grammatical in every language.
    return format_timedelta(value - dt.datetime.now(dt.UTC), add_direction=True)


def _number(value: Any) -> str:
    """A number in the user's locale: 1,234.5 / 1.234,5; whole numbers without decimals."""
    if value is None:
        return ""
    return format_decimal(value)


def url_with(**changes: Any) -> str:
    """The current URL with some query arguments changed (None removes one)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return f"{request.path}?{query}" if query else request.path


def endpoint_with(endpoint: str, **changes: Any) -> str:
    """A URL for another page keeping the current query arguments, some changed."""
    from flask import url_for

    args: dict[str, Any] = request.args.to_dict(flat=True)
    for key, value in changes.items():
        if value is None or value == "":
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint, **args)


def _id_name_pairs(records: Iterable[Any]) -> list[tuple[Any, Any]]:
    """(id, name) pairs for a select, e.g. of users."""
    return [(record.id, record.name) for record in records]


def _self_pairs(values: Iterable[Any]) -> list[tuple[Any, Any]]:
    """(value, value) pairs for a select whose options show their own value."""
    return [(value, value) for value in values]


def install_formatting(app: Flask) -> None:
    """Register filters and globals used by every template."""
    app.jinja_env.filters["localtime"] = _localtime
    app.jinja_env.filters["localdate"] = _localdate
    app.jinja_env.filters["ago"] = _ago
    app.jinja_env.filters["number"] = _number
    app.jinja_env.filters["id_name_pairs"] = _id_name_pairs
    app.jinja_env.filters["self_pairs"] = _self_pairs
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["url_with"] = url_with
    app.jinja_env.globals["endpoint_with"] = endpoint_with
    app.jinja_env.globals["country_name"] = country_name
    app.jinja_env.globals["language_name"] = language_name
    app.jinja_env.globals["language_choices"] = ui_language_choices
