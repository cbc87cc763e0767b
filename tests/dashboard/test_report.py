"""The dashboard as a PDF report, read back with pypdf: the filters and freshness on top,
every section's heading and numbers, bar charts drawn on the server, in the user's language."""

from __future__ import annotations

import re
import shutil

import pytest
from flask import request

from crm.core.pdf import render_html
from crm.dashboard import charts, export, report
from crm.dashboard.forms import filter_form
from crm.extensions import db
from tests.dashboard.ui_support import sample_dashboard
from tests.factories import make_programme
from tests.pdf.support import metadata, qpdf_check, text_of

SECTION_TITLES = [
    "Partnership funnel",
    "Placement funnel",
    "Stalled and at-risk partnerships",
    "Workload per officer",
    "Placements per month",
    "Employer satisfaction",
    "Agreements expiring soon",
    "Skills gap",
    "Inclusion",
]


def fetch(client, url: str = "/dashboard/report.pdf?from=2025-01&to=2025-12") -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="dashboard-')
    return bytes(response.get_data())


def test_the_report_holds_every_section_with_its_numbers(
    login_as, manager, shown, refreshed_every_ten_minutes
):
    programme = make_programme(name="Bakery", code="BAK2")
    data = fetch(
        login_as(manager),
        f"/dashboard/report.pdf?from=2025-01&to=2025-12&programme={programme.id}&country=PT",
    )
    text = text_of(data)
    assert metadata(data)["/Title"] == "Dashboard report"
    assert metadata(data)["/Lang"] == "en"
    # On top: what was counted, and how fresh the figures are (in the user's time zone).
    assert "Figures as of 05/01/2026, 07:40, refreshed every 10 minutes." in text
    assert "Period January 2025 – December 2025" in text
    assert "Programme Bakery (BAK2)" in text
    assert "Country Portugal" in text
    assert "Sector All sectors" in text and "Officer Everyone" in text
    assert "ignore the programme" in text  # the notes
    positions = [text.index(title) for title in SECTION_TITLES]
    assert positions == sorted(positions)
    assert "Researched 32 7 78.0%" in text
    assert "Matched 23 2 85.2%" in text
    assert "702 Padaria Lusitana, Lda. Piet Officer Approached 55 at risk" in text
    assert "Olga Officer 14 3 2" in text
    assert "July 2025 34" in text
    assert "March 2025 3 3.7" in text
    assert "Feinmechanik Rheinland GmbH Signed 1 Feb 2026 27" in text
    assert "Read technical drawings 2.3 8" in text
    assert "Bakery (BAK2) 22 17 77.3% fewer than 5 fewer than 5 —" in text
    assert "fewer than 5 learners is shown only as “fewer than 5”" in text


def test_the_report_is_in_german_for_a_german_reader(login_as, manager, shown):
    manager.locale = "de"
    db.session.commit()
    text = text_of(fetch(login_as(manager)))
    assert "Seite 1 von" in text
    assert "Januar 2025 – Dezember 2025" in text  # months in German
    assert "Bildungsgang" in text and "Land" in text  # labels from the German catalogue
    assert "März 2025 3 3,7" in text  # a decimal comma
    assert "Page 1 of" not in text


def test_charts_are_drawn_on_the_server(ctx, manager, shown):
    dashboard = sample_dashboard()
    form = filter_form(request.args)
    form.validate()
    html = render_html(
        report.TEMPLATE,
        {
            "d": dashboard,
            "facts": report.filter_facts(dashboard, form),
            "freshness": "fresh",
            "tables": export.tables(dashboard),
            "charts": charts.report_charts(dashboard, str, lambda v: f"{v:.1f}"),
            "show": export.display_text,
            "fewer_than": export.fewer_than,
            "title": "Dashboard report",
            "author": "College",
            "subject": "",
        },
        language="en",
    )
    drawn = re.findall(r'<svg class="bars".*?</svg>', html, re.S)
    # Funnels, placements per month, satisfaction, skills gap: not the lists of names.
    assert len(drawn) == 5
    months = drawn[2]
    assert "<title>Placements per month</title>" in months
    widths = [float(w) for w in re.findall(r'<rect class="bar" [^>]*width="([\d.]+)"', months)]
    assert len(widths) == 12
    assert max(widths) == widths[6]  # July, 34 placements: the longest bar
    assert widths[1] == 0  # February: none
    assert widths[0] == pytest.approx(widths[6] * 3 / 34, abs=0.1)
    assert "<script" not in html.replace("&lt;script", "")  # the hostile name is text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_names_print_as_text(login_as, manager, shown):
    text = text_of(fetch(login_as(manager)))
    assert "<script>alert(1)</" in text  # printed, not run or dropped
    assert "Piet <b>Officer</b>" in text


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_qpdf_finds_no_error(login_as, manager, shown, tmp_path):
    assert qpdf_check(fetch(login_as(manager)), tmp_path) is None


def test_officers_and_visitors_get_no_report(login_as, officer, client, shown):
    assert login_as(officer).get("/dashboard/report.pdf").status_code == 404
    assert client.get("/dashboard/report.pdf").status_code == 302
    assert not shown.filters


def test_the_real_service_gives_a_report(login_as, admin):
    text = text_of(fetch(login_as(admin), "/dashboard/report.pdf"))
    for title in SECTION_TITLES:
        assert title in text
