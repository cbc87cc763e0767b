"""The managers' dashboard (managers and admins; officers get the 404 of any forbidden page):
the page, "Refresh now", each table as CSV and the whole dashboard as a PDF report, all
with the same filters from the query arguments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_timedelta,
    get_locale,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from crm.auth.forms import EmptyForm
from crm.core.security import roles_required
from crm.dashboard import charts, export, report, service
from crm.dashboard.data import Dashboard
from crm.dashboard.forms import FILTER_ARGS, DashboardFilterForm, read_filters
from crm.db import utcnow
from crm.extensions import db
from crm.health.score import band_label
from crm.health.service import provider_today

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

MANAGERS = ("admin", "manager")
# A filter value longer than this is not one the form offers: it is not carried along.
ARG_LIMIT = 20


def _read() -> tuple[DashboardFilterForm, Dashboard]:
    """The filter form as sent and the dashboard for its filters (the default ones if the
    form has errors)."""
    form, filters = read_filters(request.args, provider_today(utcnow()))
    dashboard = service.build_dashboard(filters)
    # Before the first refresh the service computes the figures in this transaction: keep
    # them, so that the next request reads them (otherwise a no-op).
    db.session.commit()
    return form, dashboard


def _carried(form: DashboardFilterForm | None = None) -> dict[str, Any]:
    """The filter arguments that links and the refresh button keep (none if they were wrong)."""
    if form is not None and form.errors:
        return {}
    return {
        key: value
        for key in FILTER_ARGS
        if (value := request.args.get(key, "").strip()) and len(value) <= ARG_LIMIT
    }


def refresh_interval() -> dt.timedelta | None:
    """How often the scheduler refreshes the figures (None if no job does)."""
    from crm.core.jobs import JOBS  # (imports every area's jobs: only when needed)

    for job in JOBS:
        if getattr(job.function, "__module__", "").startswith("crm.dashboard"):
            return job.every
    return None


def freshness(computed_at: dt.datetime | None) -> str:
    """ "Figures as of …, refreshed every 10 minutes." in the user's language and zone."""
    if computed_at is None:
        return _("The figures have not been computed yet.")
    when = format_datetime(computed_at, "short")  # in the user's time zone
    every = refresh_interval()
    if every is None:
        return _("Figures as of %(time)s.", time=when)
    return _(
        "Figures as of %(time)s, refreshed every %(interval)s.",
        time=when,
        interval=format_timedelta(every),
    )


def _helpers() -> dict[str, Any]:
    """Formatting the templates need beyond the app's filters."""
    return {
        "band_label": band_label,
        "percent": export.percent,
        "decimal": lambda value: format_decimal(value, "#,##0.0"),
        "month_label": lambda first: format_date(first, "LLLL y"),
        "fewer_than": export.fewer_than,
    }


@bp.get("/")
@roles_required(*MANAGERS)
def index() -> str:
    form, dashboard = _read()
    return render_template(
        "dashboard/index.html",
        form=form,
        d=dashboard,
        charts=charts.page_charts(dashboard),
        sections=export.SECTIONS,
        carried=_carried(form),
        freshness=freshness(dashboard.computed_at),
        refresh_form=EmptyForm(),
        **_helpers(),
    )


@bp.post("/refresh")
@roles_required(*MANAGERS)
def refresh() -> BaseResponse:
    if not EmptyForm().validate_on_submit():
        abort(400)
    service.refresh()
    db.session.commit()
    flash(_("The figures have been refreshed."), "success")
    return redirect(url_for("dashboard.index", **_carried()))


@bp.get("/export/<section>.csv")
@roles_required(*MANAGERS)
def export_csv(section: str) -> Response:
    build = export.SECTIONS.get(section)
    if build is None:
        abort(404)
    _form, dashboard = _read()
    body = "\ufeff" + export.table_csv(build(dashboard))  # the BOM makes Excel read UTF-8
    today = provider_today(utcnow())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="dashboard-{section}-{today}.csv"'},
    )


def _language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "en"


@bp.get("/report.pdf")
@roles_required(*MANAGERS)
def report_pdf() -> Response:
    form, dashboard = _read()
    pdf = report.render_report(
        dashboard, form, freshness(dashboard.computed_at), language=_language()
    )
    today = provider_today(utcnow())
    return Response(
        pdf.data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="dashboard-{today}.pdf"',
            "Cache-Control": "no-store",
            "Content-Length": str(len(pdf.data)),
        },
    )
