"""Each dashboard table as CSV: headings in the user's language, the numbers, the same
filters as the page, cells a spreadsheet cannot run, and the same 404 for officers."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io

import pytest

from crm.dashboard import export
from crm.dashboard.data import AtRiskPartnership, Filters
from crm.extensions import db
from tests.dashboard.ui_support import HOSTILE, sample_dashboard
from tests.factories import make_programme

EXPECTED = {
    "partnership-funnel": [
        ["Stage", "Reached", "In it now", "Conversion (%)"],
        ["Identified", "41", "6", ""],
        ["Researched", "32", "7", "78.0"],
        ["Approached", "24", "5", "75.0"],
        ["Active", "18", "17", "75.0"],
        ["Closed", "4", "4", ""],
    ],
    "placement-funnel": [
        ["Stage", "Reached", "In it now", "Conversion (%)"],
        ["Requested", "27", "3", ""],
        ["Matched", "23", "2", "85.2"],
        ["In progress", "19", "11", "82.6"],
        ["Completed", "8", "8", ""],
    ],
    "at-risk": [
        [
            "Partnership",
            "Organisation",
            "Officer",
            "Stage",
            "Health score",
            "Band",
            "Reason",
            "Days in stage",
            "Past SLA",
        ],
        [
            "701",
            HOSTILE,
            "Olga Officer",
            "Active",
            "38",
            "stalling",
            "no two-way contact for 94 days",
            "123",
            "yes",
        ],
        [
            "702",
            "Padaria Lusitana, Lda.",
            "Piet Officer",
            "Approached",
            "55",
            "at risk",
            "memorandum expires in 20 days",
            "12",
            "no",
        ],
    ],
    "workload": [
        ["Officer", "Open follow-ups", "Overdue follow-ups", "Records past SLA"],
        ["Olga Officer", "14", "3", "2"],
        ["Piet <b>Officer</b>", "9", "0", "5"],
    ],
    "placements-per-month": [
        ["Month", "Placements"],
        *[
            [f"2025-{month:02d}", str(count)]
            for month, count in zip(
                range(1, 13), [3, 0, 5, 8, 13, 21, 34, 2, 1, 7, 6, 4], strict=True
            )
        ],
    ],
    "satisfaction": [
        ["Month", "Evaluations", "Average satisfaction (1–5)"],
        ["2025-01", "0", ""],
        ["2025-02", "2", "4.50"],
        ["2025-03", "3", "3.67"],
        ["2025-04", "0", ""],
        ["2025-05", "1", "2.00"],
        ["2025-06", "4", "4.25"],
        ["2025-07", "0", ""],
        ["2025-08", "0", ""],
        ["2025-09", "6", "3.50"],
        ["2025-10", "2", "5.00"],
        ["2025-11", "1", "1.00"],
        ["2025-12", "3", "4.00"],
    ],
    "expiring-agreements": [
        ["Agreement", "Title", "Organisation", "Stage", "Expires on", "Days left"],
        [
            "811",
            "Placement agreement: Ana Lima",
            "Feinmechanik Rheinland GmbH",
            "Signed",
            "2026-02-01",
            "27",
        ],
    ],
    "skills-gap": [
        ["Programme", "Skill", "Average rating (1–5)", "Ratings"],
        ["Mechatronics (MEC3)", "Read technical drawings", "2.26", "8"],
        ["Bakery (BAK2)", "Food hygiene", "3.88", "16"],
    ],
    "inclusion": [
        [
            "Programme",
            "Learners",
            "Placed",
            "Share placed (%)",
            "Learners with support needs",
            "Placed with support needs",
            "Share placed with support needs (%)",
        ],
        ["Mechatronics (MEC3)", "40", "30", "75.0", "12", "6", "50.0"],
        ["Bakery (BAK2)", "22", "17", "77.3", "fewer than 5", "fewer than 5", ""],
    ],
}


def rows_of(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff"), "no BOM: Excel would not read the file as UTF-8"
    assert "\r\n" in body
    return list(csv.reader(io.StringIO(body[1:])))


def test_every_section_exports_its_table(login_as, manager, shown):
    assert set(EXPECTED) == set(export.SECTIONS)
    client = login_as(manager)
    for key, expected in EXPECTED.items():
        response = client.get(f"/dashboard/export/{key}.csv?from=2025-01&to=2025-12")
        assert response.status_code == 200, key
        assert response.mimetype == "text/csv"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith(f'attachment; filename="dashboard-{key}-')
        assert disposition.endswith('.csv"')
        assert rows_of(response) == expected, key


def test_the_export_uses_the_pages_filters(login_as, admin, officer, shown):
    programme = make_programme(name="Bakery", code="BAK2")
    client = login_as(admin)
    client.get(
        f"/dashboard/export/workload.csv?from=2024-02&to=2024-04&programme={programme.id}"
        f"&country=DE&officer={officer.id}"
    )
    assert shown.last == Filters(
        dt.date(2024, 2, 1), dt.date(2024, 4, 30), programme.id, None, "DE", officer.id
    )
    # Wrong filters give the default dashboard's figures, as on the page.
    response = client.get("/dashboard/export/workload.csv?from=2024-13")
    assert response.status_code == 200
    assert shown.last.programme_id is None and shown.last.period_to >= dt.date(2025, 1, 1)


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("https://evil.test","click")',
        "+49 221 123",
        "-2+3",
        "@SUM(A1:A2)",
        "\tTabbed",
        "\rReturned",
        "=cmd|' /C calc'!A0",
    ],
)
def test_formula_like_cells_are_neutralised(login_as, manager, shown, name):
    risky = AtRiskPartnership(9, name, name, name, 10, "stalling", name, 5, True)
    shown.dashboard = sample_dashboard(at_risk=[risky])
    rows = rows_of(login_as(manager).get("/dashboard/export/at-risk.csv"))
    cells = rows[1]
    for index in (1, 2, 3, 6):
        assert cells[index] == "'" + name  # shown as text, never run
    assert cells[0] == "9" and cells[4] == "10"


def test_programme_and_skill_texts_are_neutralised_too(login_as, manager, shown):
    base = sample_dashboard()
    skill = dataclasses.replace(base.skills_gap[0], programme_name="=1+1", outcome_text="@evil")
    shown.dashboard = dataclasses.replace(base, skills_gap=[skill])
    rows = rows_of(login_as(manager).get("/dashboard/export/skills-gap.csv"))
    assert rows[1][:2] == ["'=1+1", "'@evil"]


def test_headings_are_in_the_users_language(login_as, manager, shown):
    manager.locale = "de"
    db.session.commit()
    rows = rows_of(login_as(manager).get("/dashboard/export/at-risk.csv"))
    assert rows[0][1:4] == ["Organisation", "Praktikumsbetreuer/in", "Phase"]


def test_an_unknown_section_is_not_found(login_as, manager, shown):
    client = login_as(manager)
    for url in (
        "/dashboard/export/nothing.csv",
        "/dashboard/export/at-risk.xlsx",
        "/dashboard/export/..%2Fat-risk.csv",
        "/dashboard/export/.csv",
    ):
        assert client.get(url).status_code == 404, url
    assert not shown.filters


def test_officers_and_visitors_cannot_export(login_as, officer, client, shown):
    assert login_as(officer).get("/dashboard/export/workload.csv").status_code == 404
    response = client.get("/dashboard/export/workload.csv")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert not shown.filters


def test_the_real_service_exports_headings_of_empty_tables(login_as, manager):
    client = login_as(manager)
    for key in export.SECTIONS:
        rows = rows_of(client.get(f"/dashboard/export/{key}.csv"))
        assert rows[0] == EXPECTED[key][0], key
