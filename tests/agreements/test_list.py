"""The agreement list: filters (stage, kind, officer, expiring within N days, organisation),
officers see their own, a fixed number of statements, and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from crm.agreements import service as agreements
from crm.auth.models import Role
from crm.contacts.models import ContactRole
from crm.extensions import db
from tests.agreements.support import agreement_in, memorandum_partnership
from tests.core.helpers import text
from tests.factories import make_contact, make_learner, make_placement, make_user
from tests.placements.support import SPRING, employer

TODAY = dt.date(2027, 3, 10)


@pytest.fixture(autouse=True)
def _today(monkeypatch):
    monkeypatch.setattr(agreements, "local_today", lambda now=None: TODAY)


def listed(client, query: str = "") -> list[int]:
    """The ids of the agreements the list shows, in order."""
    response = client.get(f"/agreements/{query}")
    assert response.status_code == 200, text(response)[:1000]
    return [
        int(i) for i in re.findall(r'<tr class="agreement-row" data-id="(\d+)">', text(response))
    ]


def exported(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/agreements/export.csv{query}")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_filters_by_stage_kind_and_officer(login_as, manager, world):
    colleague = make_user(Role.OFFICER, name="Colin Colleague")
    draft = agreement_in("draft", world=world)
    signed = agreement_in("signed", world=world, officer=colleague)
    memorandum = agreement_in("issued", partnership=memorandum_partnership(world.officer))
    client = login_as(manager)
    assert listed(client) == [memorandum.id, signed.id, draft.id]
    assert listed(client, "?state=signed") == [signed.id]
    assert listed(client, "?kind=partnership_memorandum") == [memorandum.id]
    assert listed(client, "?kind=placement_agreement") == [signed.id, draft.id]
    assert listed(client, f"?officer={colleague.id}") == [signed.id]
    # Nonsense filters are ignored rather than failing.
    assert listed(client, "?state=nope&kind=nope&officer=x&expiring=-3") == listed(client)


def test_expiring_within_n_days_counts_today_and_the_last_day(login_as, manager, world):
    def expiring(days: int):
        return agreement_in("signed", world=world, expires_on=TODAY + dt.timedelta(days=days))

    yesterday, today, in_30, in_31 = expiring(-1), expiring(0), expiring(30), expiring(31)
    agreement_in("signed", world=world, expires_on=None)
    client = login_as(manager)
    # Soonest first.
    assert listed(client, "?expiring=30") == [today.id, in_30.id]
    assert listed(client, "?expiring=0") == [today.id]
    assert listed(client, "?expiring=31") == [today.id, in_30.id, in_31.id]
    assert yesterday.id in listed(client)


def test_search_finds_agreements_by_organisation(login_as, manager, world):
    other_organisation = employer(world.officer, legal_name="Bäckerei Sonnenschein KG")
    make_contact(other_organisation, role=ContactRole.WORKPLACE_SUPERVISOR)
    placement = make_placement(
        make_learner(world.officer, world.programme),
        "agreement_out",
        organisation=other_organisation,
        start_date=SPRING[0],
        end_date=SPRING[1],
    )
    bakery = agreement_in("issued", world=world, placement=placement)
    agreement_in("issued", world=world)
    client = login_as(manager)
    assert listed(client, "?q=backerei") == [bakery.id]
    assert listed(client, "?q=sonnen") == [bakery.id]
    assert len(listed(client, "?q=kern")) == 1


def test_officers_see_only_their_own(login_as, world):
    colleague = make_user(Role.OFFICER, name="Colin Colleague")
    mine = agreement_in("issued", world=world)
    agreement_in("issued", world=world, officer=colleague)
    client = login_as(world.officer)
    assert listed(client) == [mine.id]
    assert listed(client, f"?officer={colleague.id}") == [mine.id]
    assert [row[0] for row in exported(client)[1:]] == [str(mine.id)]
    assert "My agreements" in text(client.get("/agreements/"))


def test_the_list_pages(app, login_as, manager, world):
    app.config["CRM_PAGE_SIZE"] = 2
    try:
        made = [agreement_in("draft", world=world) for _ in range(5)]
        client = login_as(manager)
        newest_first = [a.id for a in reversed(made)]
        assert listed(client) == newest_first[:2]
        assert listed(client, "?page=3") == newest_first[4:]
        assert listed(client, "?page=99") == newest_first[4:]
    finally:
        app.config["CRM_PAGE_SIZE"] = 50


def test_statements_do_not_grow_with_the_rows(login_as, manager, world, count_statements):
    client = login_as(manager)
    partnership = memorandum_partnership(world.officer)
    counts = []
    for size in (3, 30):
        while len(listed(client)) < min(size, 50):
            agreement_in("signed", world=world, expires_on=TODAY)
            agreement_in("issued", partnership=partnership)
        with count_statements() as counter:
            assert client.get("/agreements/?expiring=10").status_code == 200
            assert client.get("/agreements/").status_code == 200
            assert client.get("/agreements/export.csv").status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts


# --- the export ---------------------------------------------------------------------------------


def test_the_export_has_the_filtered_rows(login_as, manager, world):
    signed = agreement_in("signed", world=world, expires_on=dt.date(2027, 4, 30))
    agreement_in("draft", world=world)
    response = login_as(manager).get("/agreements/export.csv?state=signed")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="agreements-{TODAY.isoformat()}.csv"'
    )
    rows = exported(login_as(manager), "?state=signed")
    assert rows[0] == [
        "Agreement",
        "Kind",
        "Organisation",
        "Learner",
        "Stage",
        "Version",
        "Officer",
        "Valid from",
        "Expires on",
    ]
    assert rows[1:] == [
        [
            str(signed.id),
            "Placement agreement",
            "Werkzeugbau Kern GmbH",
            rows[1][3],
            "Signed",
            "",
            "Olga Officer",
            "",
            "2027-04-30",
        ]
    ]
    assert rows[1][3].startswith("Learner")


@pytest.mark.parametrize(
    ("typed", "cell"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+49 Werk", "'+49 Werk"),
        ("-1 GmbH", "'-1 GmbH"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTabs GmbH", "'\tTabs GmbH"),
        ("\rCarriage GmbH", "'\rCarriage GmbH"),
        ("Plain GmbH", "Plain GmbH"),
    ],
)
def test_the_export_neutralises_formulas(login_as, manager, world, typed, cell):
    # Typed into a name the export prints: the learner's last name.
    learner = make_learner(world.officer, world.programme, first_name="", last_name="x")
    learner.first_name, learner.last_name = typed, ""
    db.session.commit()
    placement = make_placement(
        learner,
        "agreement_out",
        organisation=world.organisation,
        start_date=SPRING[0],
        end_date=SPRING[1],
    )
    agreement_in("issued", world=world, placement=placement)
    rows = exported(login_as(manager))
    assert rows[1][3] == cell
