"""The dashboard as a PDF report: the filters and how fresh the figures are, then every
section's table with a simple bar chart where one helps, in the reader's language, rendered
by crm.core.pdf (which fetches nothing but the app's print CSS)."""

from __future__ import annotations

from flask import current_app
from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from crm.core.pdf import RenderedPdf, render_pdf
from crm.dashboard import charts, export
from crm.dashboard.data import Dashboard
from crm.dashboard.forms import DashboardFilterForm

TEMPLATE = "pdf/dashboard.html"


def period_text(dashboard: Dashboard) -> str:
    """The period as the months it spans, e.g. "January 2026 to December 2026"."""
    f = dashboard.filters
    return _(
        "%(first)s – %(last)s",
        first=format_date(f.period_from, "LLLL y"),
        last=format_date(f.period_to, "LLLL y"),
    )


def filter_facts(dashboard: Dashboard, form: DashboardFilterForm) -> list[tuple[str, str]]:
    """What the figures were filtered by, as (label, value) lines."""
    if form.errors:
        form = _unfiltered(form)
    return [
        (_("Period"), period_text(dashboard)),
        (_("Programme"), form.chosen_label("programme") or _("All programmes")),
        (_("Sector"), form.chosen_label("sector") or _("All sectors")),
        (_("Country"), form.chosen_label("country") or _("All countries")),
        (_("Officer"), form.chosen_label("officer") or _("Everyone")),
    ]


def _unfiltered(form: DashboardFilterForm) -> DashboardFilterForm:
    """A wrong filter shows the default dashboard: the report names no chosen option."""
    for name in ("programme", "sector", "country", "officer"):
        getattr(form, name).data = None
    return form


def render_report(
    dashboard: Dashboard, form: DashboardFilterForm, freshness: str, *, language: str
) -> RenderedPdf:
    """The whole dashboard as a PDF in `language` (the caller's request speaks it too)."""
    provider = str(current_app.config.get("CRM_PROVIDER_NAME") or "")
    return render_pdf(
        TEMPLATE,
        {
            "d": dashboard,
            "facts": filter_facts(dashboard, form),
            "freshness": freshness,
            "tables": export.tables(dashboard),
            "charts": charts.report_charts(
                dashboard,
                number=format_decimal,
                decimal=lambda value: format_decimal(value, "#,##0.0"),
            ),
            "show": export.display_text,
            "fewer_than": export.fewer_than,
        },
        language=language,
        title=_("Dashboard report"),
        author=provider,
        subject=period_text(dashboard),
    )
