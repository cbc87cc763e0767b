"""Search folding beyond ASCII, duplicate keys with dotted legal forms, and review fixes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.activities.models import ActivityKind
from crm.auth.service import LoginRefused, authenticate
from crm.contacts.service import set_archived
from crm.core.text import fold
from crm.db import utcnow
from crm.extensions import db
from crm.organisations.models import Organisation, Tag
from crm.organisations.service import OrganisationValues, create_organisation, name_key
from tests.core.helpers import listed_organisations
from tests.factories import make_activity, make_contact, make_organisation
from tests.register.forms import organisation_form


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Łódź", "lodz"),
        ("Wrocław", "wroclaw"),
        ("Øresund Æble", "oresund aeble"),
        ("Αθήνα", "αθηνα"),
        ("Straße", "strasse"),
        ("São João", "sao joao"),
    ],
)
def test_fold_keeps_every_letter(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Jansen B.V.", "Jansen BV"),
        ("Rossi S.r.l.", "ROSSI SRL"),
        ("Kowalski sp. z o.o.", "Kowalski"),
        ("Müller GmbH & Co. KG", "Muller"),
        ("Παπαδόπουλος Α.Ε.", "ΠΑΠΑΔΟΠΟΥΛΟΣ"),
    ],
)
def test_legal_forms_with_dots_compare_alike(one, other):
    assert name_key(one) == name_key(other)


def test_greek_and_polish_names_are_found_by_search(ctx, login_as, officer):
    make_organisation(officer, legal_name="Ζυθοποιία Αθηνών Α.Ε.", city="Αθήνα", country="GR")
    make_organisation(officer, legal_name="Huta Łódź S.A.", city="Łódź", country="PL")
    client = login_as(officer)
    greek = client.get("/organisations/?q=αθηνα").get_data(as_text=True)
    polish = client.get("/organisations/?q=lodz").get_data(as_text=True)
    assert listed_organisations(greek) == ["Ζυθοποιία Αθηνών Α.Ε."]
    assert listed_organisations(polish) == ["Huta Łódź S.A."]


def test_duplicate_warning_for_dotted_legal_form(ctx, login_as, officer):
    make_organisation(officer, legal_name="Jansen B.V.", country="NL")
    client = login_as(officer)
    page = client.post_form("/organisations/new", organisation_form(legal_name="Jansen BV"))
    assert "duplicate-warning" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 1


def test_a_tag_given_twice_is_one_tag(ctx, officer):
    values = OrganisationValues(
        legal_name="Tagged Ltd", nace_code="25", country="IE", tags=("metal", "metal")
    )
    create_organisation(values, officer)
    db.session.commit()
    assert db.session.scalars(sa.select(Tag.name)).all() == ["metal"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Tag)) == 1


def test_duplicate_reason_is_kept_only_when_a_duplicate_existed(ctx, officer):
    values = OrganisationValues(legal_name="Unique Works Ltd", nace_code="25", country="IE")
    organisation = create_organisation(values, officer, duplicate_reason="just in case")
    assert organisation.duplicate_reason == ""
    again = create_organisation(
        OrganisationValues(legal_name="Unique Works", nace_code="25", country="IE"),
        officer,
        duplicate_reason="a second site in Cork",
    )
    assert again.duplicate_reason == "a second site in Cork"


def test_lock_message_uses_the_singular_for_one_minute(ctx, app, officer):
    now = utcnow()
    for _ in range(app.config["CRM_LOGIN_MAX_FAILURES"]):
        with pytest.raises(LoginRefused):
            authenticate(officer.email, "wrong", now=now)
        now += dt.timedelta(minutes=2)
    locked_until = (
        now - dt.timedelta(minutes=2) + dt.timedelta(minutes=app.config["CRM_LOGIN_LOCK_MINUTES"])
    )
    with pytest.raises(LoginRefused) as refused:
        authenticate(officer.email, "password", now=locked_until - dt.timedelta(seconds=30))
    assert str(refused.value) == "Too many failed attempts. Try again in 1 minute."


def test_archived_contact_page_offers_no_activity_form(ctx, login_as, officer):
    organisation = make_organisation(officer)
    contact = make_contact(organisation)
    from crm.contacts.service import get_contact

    set_archived(get_contact(contact.id), True, officer)
    db.session.commit()
    page = login_as(officer).get(f"/contacts/{contact.id}").get_data(as_text=True)
    assert 'id="archived-note"' in page
    assert 'id="activity-form"' not in page


def test_older_timeline_entries_are_reachable(ctx, app, login_as, officer):
    organisation = make_organisation(officer)
    start = utcnow() - dt.timedelta(days=200)
    for day in range(105):
        make_activity(
            organisation,
            officer,
            kind=ActivityKind.NOTE,
            occurred_at=start + dt.timedelta(days=day),
            subject=f"Note {day:03d}",
        )
    client = login_as(officer)
    first = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "Note 104" in first and "Note 004" not in first
    assert 'id="older-entries"' in first
    import re

    older_url = (
        re.search(r'href="([^"]+)" id="older-entries"', first).group(1).replace("&amp;", "&")
    )
    older = client.get(older_url).get_data(as_text=True)
    assert "Note 004" in older and "Note 000" in older and "Note 104" not in older
