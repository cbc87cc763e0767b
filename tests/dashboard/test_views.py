"""The dashboard page: who may see it, its filters, every section with hand-picked numbers,
hidden small counts, escaping, "Refresh now", the charts' data and the SQL statement count."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import pytest

from crm.dashboard import export, service
from crm.dashboard.data import Filters
from crm.db import utcnow
from crm.extensions import db
from crm.health.service import provider_today, recompute
from tests.core.helpers import field_error, flashes, form_field, section, text
from tests.dashboard.ui_support import sample_dashboard
from tests.factories import make_learner, make_organisation, make_programme, make_user
from tests.health.support import active_partnership, call, days_ago
from tests.partnerships.pages import plain
from tests.workflow.support import make_partnership

VENDOR = Path(__file__).resolve().parents[2] / "crm" / "static" / "vendor"
CHART_JS = "/static/vendor/chartjs-4.6.2/chart.umd.min.js"


def today() -> dt.date:
    return provider_today(utcnow())


def page(client, url: str = "/dashboard/") -> str:  # type: ignore[no-untyped-def]
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return text(response)


def card(html: str, key: str) -> str:
    """A section's text, tags removed."""
    return plain(section(html, key, "section"))


# --- who may see it ----------------------------------------------------------------------------


def test_managers_and_admins_see_the_dashboard_and_its_link(login_as, manager, admin, shown):
    for user in (manager, admin):
        html = page(login_as(user))
        assert '<h1 class="h3 mb-0">Dashboard</h1>' in html
        assert 'id="nav-dashboard"' in html


def test_officers_get_not_found_and_no_link(login_as, officer, shown):
    client = login_as(officer)
    for url in ("/dashboard/", "/dashboard/?from=2025-01"):
        assert client.get(url).status_code == 404
    assert client.post_form("/dashboard/refresh").status_code == 404
    assert 'id="nav-dashboard"' not in text(client.get("/organisations/"))
    assert not shown.filters


def test_anonymous_visitors_are_sent_to_log_in(client, shown):
    response = client.get("/dashboard/?programme=1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert not shown.filters


# --- filters -----------------------------------------------------------------------------------


def test_without_filters_the_dashboard_counts_the_last_12_months(login_as, manager, shown):
    html = page(login_as(manager))
    assert shown.last == service.default_filters(today())
    first = shown.last.period_from
    assert form_field(html, "from")["value"] == f"{first:%Y-%m}"
    assert form_field(html, "to")["value"] == f"{today():%Y-%m}"
    assert form_field(html, "from")["type"] == "month"
    assert 'id="filter-errors"' not in html


def test_every_filter_reaches_the_service(login_as, manager, officer, shown):
    programme = make_programme(name="Mechatronics", code="MEC3")
    url = (
        f"/dashboard/?from=2024-03&to=2025-02&programme={programme.id}"
        f"&sector=C&country=PT&officer={officer.id}"
    )
    html = page(login_as(manager), url)
    assert shown.last == Filters(
        period_from=dt.date(2024, 3, 1),
        period_to=dt.date(2025, 2, 28),
        programme_id=programme.id,
        sector="C",
        country="PT",
        officer_id=officer.id,
    )
    # The form shows what was chosen, and the exports and the report keep it.
    assert form_field(html, "from")["value"] == "2024-03"
    assert re.search(rf'<option selected value="{programme.id}">Mechatronics \(MEC3\)', html)
    assert re.search(r'<option selected value="PT">Portugal</option>', html)
    assert re.search(rf'<option selected value="{officer.id}">Olga Officer</option>', html)
    csv_link = section(html, "at-risk-csv", "a")
    for part in ("from=2024-03", "to=2025-02", f"programme={programme.id}", "sector=C"):
        assert part in csv_link
        assert part in section(html, "report-pdf", "a")
    assert "Period: March 2024 – February 2025" in plain(html)


def test_a_missing_month_is_filled_in(login_as, manager, shown):
    client = login_as(manager)
    page(client, "/dashboard/?from=2024-03")
    this_month = today().replace(day=1)
    assert shown.last.period_from == dt.date(2024, 3, 1)
    assert shown.last.period_to.replace(day=1) == this_month
    html = page(client, "/dashboard/?to=2025-06")
    assert (shown.last.period_from, shown.last.period_to) == (
        dt.date(2024, 7, 1),
        dt.date(2025, 6, 30),
    )
    assert form_field(html, "from")["value"] == "2024-07"  # the form says what was counted


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-13", "from", "Enter a month as YYYY-MM, e.g. 2026-01."),
        ("to=June", "to", "Enter a month as YYYY-MM, e.g. 2026-12."),
        ("from=1999-12", "from", "Choose a month from 2000 to 2099."),
        ("from=2025-06&to=2025-05", "to", "The last month must not be before the first."),
        ("from=2019-01&to=2024-01", "to", "Choose a period of at most 5 years."),
        ("programme=999999", "programme", "Choose a programme from the list."),
        ("programme=abc", "programme", "Choose a programme from the list."),
        ("sector=ZZ", "sector", "Choose a sector from the list."),
        ("country=XX", "country", "Choose a country from the list."),
        ("officer=999999", "officer", "Choose an officer from the list."),
    ],
)
def test_a_wrong_filter_is_marked_and_the_default_dashboard_shown(
    login_as, manager, shown, query, field, message
):
    html = page(login_as(manager), f"/dashboard/?{query}")
    assert field_error(html, field) == message
    assert "is-invalid" in form_field(html, field)["class"]
    assert form_field(html, field)["aria-describedby"] == f"{field}-error"
    assert "the dashboard shows the last 12 months for everyone" in plain(
        section(html, "filter-errors", "div")
    )
    assert shown.last == service.default_filters(today())
    # Nothing wrong travels on to the exports, the report or the refresh button.
    assert "?" not in section(html, "report-pdf", "a")
    assert 'action="/dashboard/refresh"' in html
    assert 'id="partnership-funnel"' in html  # the sections are still there


def test_a_five_year_period_is_allowed(login_as, manager, shown):
    page(login_as(manager), "/dashboard/?from=2020-01&to=2024-12")
    assert (shown.last.period_from, shown.last.period_to) == (
        dt.date(2020, 1, 1),
        dt.date(2024, 12, 31),
    )


# --- the sections ------------------------------------------------------------------------------


def test_the_funnels_show_reached_current_and_conversion(login_as, manager, shown):
    html = page(login_as(manager))
    funnel = card(html, "partnership-funnel")
    assert "Partnership funnel" in funnel
    assert "41 partnerships started in the period." in funnel
    assert "Stage Reached In it now Conversion" in funnel
    assert "Identified 41 6 —" in funnel
    assert "Researched 32 7 78.0%" in funnel  # 32 of 41
    assert "Approached 24 5 75.0%" in funnel
    assert "Closed (final) 4 4 —" in funnel
    placements = card(html, "placement-funnel")
    assert "27 placements started in the period." in placements
    assert "Matched 23 2 85.2%" in placements
    assert "In progress 19 11 82.6%" in placements


def test_at_risk_partnerships_link_to_their_page(login_as, manager, shown):
    html = page(login_as(manager))
    table = section(html, "at-risk-table", "table")
    assert '<a class="fw-medium at-risk-link" href="/partnerships/701">' in table
    assert '<a class="fw-medium at-risk-link" href="/partnerships/702">' in table
    rows = plain(table)
    assert (
        "Health score 38 · stalling no two-way contact for 94 days Active 123 past SLA Olga Officer"
    ) in rows
    assert (
        "Padaria Lusitana, Lda. Health score 55 · at risk memorandum expires in 20 days "
        "Approached 12 no Piet Officer"
    ) in rows
    assert "<caption" in table and '<th scope="col">' in table


def test_workload_months_satisfaction_agreements_skills(login_as, manager, shown):
    html = page(login_as(manager))
    workload = card(html, "workload")
    assert "Officer Open follow-ups Overdue follow-ups Records past SLA" in workload
    assert "Olga Officer 14 3 2" in workload
    months = card(html, "placements-per-month")
    assert "January 2025 3" in months and "July 2025 34" in months and "December 2025 4" in months
    satisfaction = card(html, "satisfaction")
    assert "January 2025 0 —" in satisfaction
    assert "March 2025 3 3.7" in satisfaction
    assert "October 2025 2 5.0" in satisfaction
    agreements = section(html, "expiring-agreements-table", "table")
    assert 'href="/agreements/811"' in agreements
    assert (
        "Placement agreement: Ana Lima Feinmechanik Rheinland GmbH Signed 1 Feb 2026 27"
        in plain(agreements)
    )
    skills = card(html, "skills-gap")
    assert "Mechatronics (MEC3) Read technical drawings 2.3 8" in skills  # 2.26, one decimal
    assert "Bakery (BAK2) Food hygiene 3.9 16" in skills
    rows = plain(section(html, "skills-gap-table", "table"))
    assert rows.index("Read technical drawings") < rows.index("Food hygiene")  # worst first


def test_inclusion_shows_small_groups_as_fewer_than_n(login_as, manager, shown):
    html = page(login_as(manager))
    inclusion = card(html, "inclusion")
    assert (
        "So that no learner can be singled out, a group of fewer than 5 learners is shown "
        "only as “fewer than 5”, and no percentage is worked out from it."
    ) in inclusion
    assert "Mechatronics (MEC3) 40 30 75.0% 12 6 50.0%" in inclusion
    assert "Bakery (BAK2) 22 17 77.3% fewer than 5 fewer than 5 —" in inclusion

    shown.dashboard = sample_dashboard(min_group_size=10)
    inclusion = card(page(login_as(manager)), "inclusion")
    assert "Bakery (BAK2) 22 17 77.3% fewer than 10 fewer than 10 —" in inclusion


def test_empty_sections_say_so(login_as, manager):
    html = page(login_as(manager))
    for key in ("at-risk", "workload", "skills-gap", "expiring-agreements", "inclusion"):
        assert f'id="{key}-empty"' in html, key
        assert f'id="{key}-csv"' in html  # an empty table still exports (its headings)


def test_names_are_printed_as_text(login_as, manager, shown):
    html = page(login_as(manager))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in section(html, "at-risk", "section")
    assert "Piet &lt;b&gt;Officer&lt;/b&gt;" in section(html, "workload-table", "table")
    # In the chart data too: JSON inside a script block cannot close it.
    data = section(html, "chart-data-workload", "script")
    assert "<b>" not in data and "\\u003cb\\u003e" in data


def test_notes_period_and_freshness(login_as, manager, shown, refreshed_every_ten_minutes):
    html = page(login_as(manager), "/dashboard/?from=2025-01&to=2025-12")
    assert "ignore the programme" in plain(section(html, "dashboard-notes", "div"))
    assert plain(section(html, "freshness", "p")) == (
        "Figures as of 05/01/2026, 07:40, refreshed every 10 minutes."  # Brussels time
    )
    assert "Period: January 2025 – December 2025" in plain(html)


def test_freshness_without_a_scheduled_refresh(login_as, manager, shown, monkeypatch):
    from crm.core import jobs

    others = [j for j in jobs.JOBS if not j.function.__module__.startswith("crm.dashboard")]
    monkeypatch.setattr(jobs, "JOBS", others)
    html = page(login_as(manager))
    assert plain(section(html, "freshness", "p")) == "Figures as of 05/01/2026, 07:40."


# --- charts ------------------------------------------------------------------------------------


def test_charts_are_drawn_from_json_blocks_by_the_apps_own_scripts(login_as, manager, shown):
    client = login_as(manager)
    response = client.get("/dashboard/")
    html = text(response)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in scripts:
        # Either a file of this site, or data that no browser runs: no inline code.
        assert 'src="/static/' in attributes or 'type="application/json"' in attributes
        if "src=" in attributes:
            assert not body.strip()
    assert f'<script src="{CHART_JS}" defer></script>' in html
    assert '<script src="/static/js/dashboard.js" defer></script>' in html
    assert "style=" not in html[html.index("<main") :]  # the CSP forbids inline styles

    months = json.loads(
        re.sub(
            r"^<script[^>]*>|</script>$",
            "",
            section(html, "chart-data-placements-per-month", "script"),
        )
    )
    assert months["kind"] == "bar"
    assert months["labels"][:2] == ["Jan 2025", "Feb 2025"]
    assert months["series"][0]["data"] == [3, 0, 5, 8, 13, 21, 34, 2, 1, 7, 6, 4]
    chart = section(html, "chart-placements-per-month", "div")
    assert 'aria-hidden="true"' in chart  # decoration: the table holds the numbers
    assert "inclusion" not in set(re.findall(r'id="chart-data-([\w-]+)"', html))

    for url in (CHART_JS, "/static/js/dashboard.js"):
        asset = client.get(url)
        assert asset.status_code == 200
        asset.close()


def test_vendored_files_match_their_recorded_checksums():
    sums = sorted(VENDOR.glob("*.sha256"))
    assert {p.name for p in sums} >= {"bootstrap-5.3.8.sha256", "chartjs-4.6.2.sha256"}
    for listing in sums:
        for line in listing.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            path = VENDOR / name
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, name
        folder = VENDOR / listing.name.removesuffix(".sha256")
        listed = {line.split(maxsplit=1)[1] for line in listing.read_text().splitlines()}
        present = {f"{folder.name}/{p.name}" for p in folder.iterdir()}
        assert present == listed, f"files in {folder.name} without a checksum (or missing)"
    chart = (VENDOR / "chartjs-4.6.2" / "chart.umd.min.js").read_text()
    assert chart.startswith("/*!\n * Chart.js v4.6.2\n")
    assert "MIT License" in (VENDOR / "chartjs-4.6.2" / "LICENSE").read_text()


# --- refresh now -------------------------------------------------------------------------------


@pytest.fixture
def refreshes(monkeypatch: pytest.MonkeyPatch) -> list[dt.datetime | None]:
    calls: list[dt.datetime | None] = []
    monkeypatch.setattr(service, "refresh", lambda now=None: calls.append(now))
    return calls


def test_refresh_now_refreshes_and_returns_to_the_same_filters(login_as, manager, shown, refreshes):
    client = login_as(manager)
    html = page(client, "/dashboard/?from=2025-01&to=2025-06&sector=C&country=")
    form = section(html, "refresh-form", "form")
    assert 'method="post"' in form and 'name="csrf_token"' in form
    action = re.search(r'action="([^"]+)"', form).group(1).replace("&amp;", "&")
    assert action == "/dashboard/refresh?from=2025-01&to=2025-06&sector=C"

    response = client.post_form(action)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/?from=2025-01&to=2025-06&sector=C"
    assert len(refreshes) == 1
    back = page(client, response.headers["Location"])
    assert "The figures have been refreshed." in flashes(back)
    assert shown.last.sector == "C"


def test_refresh_needs_the_forms_token(login_as, manager, refreshes):
    client = login_as(manager)
    response = client.post("/dashboard/refresh", data={})
    assert response.status_code == 400
    response = client.post("/dashboard/refresh", data={"csrf_token": "forged"})
    assert response.status_code == 400
    assert refreshes == []
    assert client.get("/dashboard/refresh").status_code == 405


def test_refresh_keeps_only_filter_arguments(login_as, manager, refreshes):
    response = login_as(manager).post_form(
        "/dashboard/refresh?next=https://evil.test/&programme=3&from=" + "9" * 500
    )
    assert response.headers["Location"] == "/dashboard/?programme=3"


def test_refresh_with_the_real_service_works(login_as, manager):
    client = login_as(manager)
    response = client.post_form("/dashboard/refresh")
    assert response.status_code == 302
    assert "The figures have been refreshed." in flashes(page(client))


# --- statements --------------------------------------------------------------------------------


def _world(size: int, acting) -> None:  # type: ignore[no-untyped-def]
    """`size` officers, programmes, organisations with partnerships, and learners."""
    for n in range(size):
        owner = make_user("officer")
        programme = make_programme(acting=acting)
        organisation = make_organisation(owner, legal_name=f"Employer {size}-{n}")
        make_partnership(owner, "active", organisation=organisation)
        make_learner(owner, programme)


def test_the_number_of_statements_does_not_grow_with_the_data(login_as, manager, count_statements):
    client = login_as(manager)
    counts = []
    for size in (1, 6):
        _world(size, manager)
        page(client)  # warm: the first request loads what every request caches
        with count_statements() as counter:
            page(client, "/dashboard/?from=2025-01&to=2025-12")
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


def test_the_real_service_renders_every_section(login_as, manager, admin):
    programme = make_programme(acting=manager, name="Welding", code="WEL1")
    html = page(login_as(admin), f"/dashboard/?programme={programme.id}")
    for key in export.SECTIONS:
        assert f'id="{key}"' in html, key
        assert f'href="/dashboard/export/{key}.csv?programme={programme.id}"' in html, key


def test_a_partnership_at_risk_is_listed_with_its_link(login_as, manager, officer):
    """End to end with the real numbers: active for 100 days, no two-way contact for 94
    days, no memorandum, nothing hosted of the two pledged: 50, at risk."""
    scored = active_partnership(officer)
    call(scored, days_ago(94))
    recompute()
    db.session.commit()
    table = section(page(login_as(manager)), "at-risk-table", "table")
    link = f'<a class="fw-medium at-risk-link" href="/partnerships/{scored.partnership.id}">'
    assert link in table
    assert "50 · at risk" in plain(table)
    assert "no two-way contact for 94 days" in plain(table)
