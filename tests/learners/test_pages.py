"""The learner and programme pages: who may do what, forms and their errors."""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.contacts.models import ConsentBasis
from crm.extensions import db
from crm.learners.models import Cohort, Learner, Programme, ProgrammeOutcome
from tests.core.helpers import (
    count_rows,
    database_state,
    field_error,
    flashes,
    form_field,
    fresh,
    is_invalid,
    text,
)
from tests.factories import make_cohort, make_learner, make_programme, make_user

_LEARNER_LINK = re.compile(r'<a href="/learners/\d+" class="fw-medium">(.*?)</a>', re.S)


def listed_learners(html: str) -> list[str]:
    return [unescape(name) for name in _LEARNER_LINK.findall(html)]


def cohort_of(programme: Programme) -> Cohort:
    cohort = db.session.scalars(
        sa.select(Cohort).where(Cohort.programme_id == programme.id)
    ).first()
    assert cohort is not None
    return cohort


def learner_form(programme: Programme, cohort: Cohort, **changes) -> dict[str, str]:
    form = {
        "first_name": "Jonas",
        "last_name": "Weiß",
        "email": "jonas.weiss@school.test",
        "programme_id": str(programme.id),
        "cohort_id": str(cohort.id),
        "birth_date": "2010-04-01",
        "consent_basis": ConsentBasis.CONTRACT.value,
        "guardian_name": "Petra Weiß",
        "guardian_email": "petra@family.test",
        "support_needs": "Hearing aid; face him when speaking.",
    }
    form.update(changes)
    return form


@pytest.fixture
def colleague(ctx):
    """Another placement officer, who does not look after the learner."""
    return make_user(Role.OFFICER, name="Colin Colleague")


@pytest.fixture
def programme(manager):
    return make_programme(manager, name="Mechatronics", code="MECH-4")


@pytest.fixture
def learner(officer, programme):
    return make_learner(
        officer, programme, first_name="Lena", last_name="Kovač", support_needs="Uses a wheelchair"
    )


# --- learners: creating -------------------------------------------------------------------


def test_an_officer_adds_a_learner(ctx, login_as, officer, programme):
    client = login_as(officer)
    page = text(client.get(f"/learners/new?programme={programme.id}"))
    assert form_field(page, "csrf_token")["value"]
    assert "officer_id" not in page  # officers look after the learners they add
    assert "Confidential" in page
    assert f'<option selected value="{programme.id}">Mechatronics (MECH-4)</option>' in page
    response = client.post_form("/learners/new", learner_form(programme, cohort_of(programme)))
    assert response.status_code == 302
    learner = db.session.scalars(sa.select(Learner)).one()
    assert response.location == f"/learners/{learner.id}"
    assert (learner.name, learner.officer_id, learner.support_needs) == (
        "Jonas Weiß",
        officer.id,
        "Hearing aid; face him when speaking.",
    )
    assert learner.birth_date == dt.date(2010, 4, 1)
    assert flashes(text(client.get(response.location))) == ["Jonas Weiß added."]


def test_a_manager_chooses_the_officer(ctx, login_as, manager, officer, programme):
    client = login_as(manager)
    page = text(client.get("/learners/new"))
    assert form_field(page, "officer_id")
    assert f'<option selected value="{manager.id}">' in page  # themselves by default
    form = learner_form(programme, cohort_of(programme), officer_id=str(officer.id))
    assert client.post_form("/learners/new", form).status_code == 302
    assert db.session.scalars(sa.select(Learner.officer_id)).one() == officer.id


def test_form_errors_are_shown_next_to_their_fields(ctx, login_as, officer, programme):
    other = make_programme(name="Cooking")
    client = login_as(officer)
    form = learner_form(
        programme,
        cohort_of(other),
        first_name="",
        email="not-an-address",
        birth_date=(dt.date.today() + dt.timedelta(days=3)).isoformat(),
        consent_basis="",
    )
    response = client.post_form("/learners/new", form)
    assert response.status_code == 200
    page = text(response)
    assert "Please correct the fields marked below." in page
    assert field_error(page, "first_name") == "This field is required."
    assert field_error(page, "email") == "Enter a valid e-mail address."
    assert field_error(page, "cohort_id") == "Choose a cohort of the chosen programme."
    assert field_error(page, "birth_date") == "The date of birth cannot be in the future."
    assert field_error(page, "consent_basis") == "This field is required."
    assert is_invalid(page, "cohort_id")
    assert field_error(page, "last_name") is None
    # What was typed stays, the secret included (only the author sees this page).
    assert form_field(page, "last_name")["value"] == "Weiß"
    assert count_rows(Learner) == 0


def test_a_post_without_csrf_token_is_refused(ctx, login_as, officer, programme, learner):
    client = login_as(officer)
    before = database_state()
    response = client.post("/learners/new", data=learner_form(programme, cohort_of(programme)))
    assert response.status_code == 400
    edit = client.post(
        f"/learners/{learner.id}/edit", data=learner_form(programme, cohort_of(programme))
    )
    assert edit.status_code == 400
    assert client.post(f"/learners/{learner.id}/archive").status_code == 400
    assert client.post("/programmes/new", data={"name": "X"}).status_code == 400
    assert database_state() == before


# --- learners: who may edit ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["officer", "manager", "admin"])
def test_the_officer_managers_and_admins_edit(ctx, login_as, officer, learner, programme, role):
    user = officer if role == "officer" else make_user(Role(role))
    client = login_as(user)
    page = text(client.get(f"/learners/{learner.id}"))
    assert 'id="edit-learner"' in page
    form_page = text(client.get(f"/learners/{learner.id}/edit"))
    assert form_field(form_page, "support_needs")
    assert "Uses a wheelchair" in form_page
    assert ("officer_id" in form_page) == (role != "officer")
    form = learner_form(programme, cohort_of(programme), first_name="Lenka")
    if role != "officer":
        form["officer_id"] = str(officer.id)
    response = client.post_form(f"/learners/{learner.id}/edit", form)
    assert response.location == f"/learners/{learner.id}"
    assert flashes(text(client.get(response.location))) == ["Changes saved."]
    assert fresh(learner).first_name == "Lenka"
    assert learner.support_needs == "Hearing aid; face him when speaking."


def test_another_officer_reads_but_cannot_edit(ctx, login_as, colleague, learner, programme):
    client = login_as(colleague)
    page = text(client.get(f"/learners/{learner.id}"))
    assert "Lena Kovač" in page
    assert 'id="edit-learner"' not in page
    assert 'id="archive-learner"' not in page
    before = database_state()
    assert client.get(f"/learners/{learner.id}/edit").status_code == 404
    form = learner_form(programme, cohort_of(programme), support_needs="")
    assert client.post_form(f"/learners/{learner.id}/edit", form).status_code == 404
    assert client.post_form(f"/learners/{learner.id}/archive").status_code == 404
    assert database_state() == before
    assert fresh(learner).support_needs == "Uses a wheelchair"


def test_unknown_learners_answer_404(ctx, login_as, officer):
    client = login_as(officer)
    assert client.get("/learners/999999").status_code == 404
    assert client.get("/learners/999999/edit").status_code == 404
    assert client.post_form("/learners/999999/archive").status_code == 404


def test_anonymous_visitors_are_sent_to_the_login(ctx, client, learner):
    for url in ("/learners/", f"/learners/{learner.id}", "/learners/export.csv", "/programmes/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.location.startswith("/login")


def test_the_officer_archives_and_restores(ctx, login_as, officer, learner):
    client = login_as(officer)
    response = client.post_form(f"/learners/{learner.id}/archive")
    assert flashes(text(client.get(response.location))) == [
        "Lena Kovač is archived; the history is kept."
    ]
    assert fresh(learner).archived_at is not None
    assert listed_learners(text(client.get("/learners/"))) == []
    assert listed_learners(text(client.get("/learners/?archived=1"))) == ["Lena Kovač"]
    client.post_form(f"/learners/{learner.id}/archive", {"restore": "1"})
    assert fresh(learner).archived_at is None


# --- the learner page ---------------------------------------------------------------------


def test_the_learner_page_shows_the_programme_year_age_and_actions(ctx, login_as, officer):
    programme = make_programme(name="Hospitality", code="HOSP-3", cohort=None)
    cohort = make_cohort(
        programme, name="2026/27", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 6, 30)
    )
    today = dt.date.today()
    minor = make_learner(officer, programme, cohort, birth_date=today.replace(year=today.year - 16))
    page = text(login_as(officer).get(f"/learners/{minor.id}"))
    assert "Hospitality (HOSP-3)" in page
    assert "2026/27 · 1 Sept 2026 to 30 Jun 2027" in page
    assert "16 years old" in page
    assert 'id="under-18"' in page
    assert "Not recorded: needed before a placement agreement." in page
    assert 'id="request-placement"' in page
    assert 'id="find-organisations"' in page
    # Another officer reads the page but is not offered what would answer 404.
    other = make_user(Role.OFFICER, email="other-officer@school.test")
    page = text(login_as(other).get(f"/learners/{minor.id}"))
    assert 'id="request-placement"' not in page
    assert 'id="find-organisations"' not in page

    adult = make_learner(officer, programme, cohort, birth_date=dt.date(2000, 1, 1), email="")
    page = text(login_as(officer).get(f"/learners/{adult.id}"))
    assert 'id="under-18"' not in page


# --- the list and the export --------------------------------------------------------------


def test_the_list_searches_and_filters(ctx, login_as, officer, colleague, manager):
    cooking = make_programme(manager, name="Cooking", code="COOK-3")
    welding = make_programme(manager, name="Welding", code="WELD-2")
    first = cohort_of(welding)
    later = make_cohort(welding, manager, year=2027)
    make_learner(officer, cooking, first_name="Ana", last_name="Gonçalves")
    make_learner(colleague, welding, first, first_name="Bruno", last_name="Ferreira")
    make_learner(officer, welding, later, first_name="Chloé", last_name="Dupont")
    client = login_as(officer)

    assert listed_learners(text(client.get("/learners/"))) == [
        "Chloé Dupont",
        "Bruno Ferreira",
        "Ana Gonçalves",
    ]
    assert listed_learners(text(client.get("/learners/?q=goncalves"))) == ["Ana Gonçalves"]
    assert listed_learners(text(client.get("/learners/?q=CHLOE"))) == ["Chloé Dupont"]
    assert listed_learners(text(client.get(f"/learners/?programme={welding.id}"))) == [
        "Chloé Dupont",
        "Bruno Ferreira",
    ]
    assert listed_learners(text(client.get(f"/learners/?cohort={later.id}"))) == ["Chloé Dupont"]
    assert listed_learners(text(client.get(f"/learners/?officer={colleague.id}"))) == [
        "Bruno Ferreira"
    ]
    page = text(client.get("/learners/?q=nobody"))
    assert "No learners match." in page


def test_the_list_pages(ctx, app, login_as, officer, programme, monkeypatch):
    monkeypatch.setitem(app.config, "CRM_PAGE_SIZE", 5)
    for n in range(7):
        make_learner(officer, programme, first_name="Pat", last_name=f"Page{n}")
    client = login_as(officer)
    first = text(client.get("/learners/"))
    assert "Showing 1–5 of 7" in first
    assert 'rel="next"' in first
    second = text(client.get("/learners/?page=2"))
    assert listed_learners(second) == ["Pat Page5", "Pat Page6"]


def test_the_export_lists_the_filtered_learners(ctx, login_as, officer, colleague, programme):
    evil = make_learner(officer, programme, first_name="=HYPERLINK(1)", last_name="Evil")
    make_learner(colleague, programme, first_name="Olaf", last_name="Other")
    response = login_as(colleague).get(f"/learners/export.csv?officer={officer.id}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="learners-')
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert lines == [
        "First name,Last name,E-mail address,Programme,Programme code,Cohort,Officer",
        f"'=HYPERLINK(1),Evil,{evil.email},Mechatronics,MECH-4,2026/27,Olga Officer",
    ]


# --- programmes ---------------------------------------------------------------------------


def test_officers_read_programmes_but_do_not_change_them(ctx, login_as, officer, programme):
    client = login_as(officer)
    listing = text(client.get("/programmes/"))
    assert "Mechatronics" in listing
    assert 'id="new-programme"' not in listing
    page = text(client.get(f"/programmes/{programme.id}"))
    assert 'id="edit-programme"' not in page
    assert 'id="save-cohort"' not in page
    before = database_state()
    assert client.get("/programmes/new").status_code == 404
    assert client.post_form("/programmes/new", {"name": "X", "code": "X"}).status_code == 404
    assert client.get(f"/programmes/{programme.id}/edit").status_code == 404
    assert client.post_form(f"/programmes/{programme.id}/archive").status_code == 404
    cohort = {"name": "2030/31", "starts_on": "2030-09-01", "ends_on": "2031-07-31"}
    assert client.post_form(f"/programmes/{programme.id}/cohorts", cohort).status_code == 404
    assert database_state() == before


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_create_and_edit_programmes(ctx, login_as, role):
    client = login_as(make_user(role))
    assert form_field(text(client.get("/programmes/new")), "csrf_token")["value"]
    form = {
        "name": "Mechatronics",
        "code": "mech-4",
        "eqf_level": "4",
        "sector": "C",
        "description": "Three years, dual.",
        "outcomes": "Reads drawings\nWelds\n",
    }
    response = client.post_form("/programmes/new", form)
    programme = db.session.scalars(sa.select(Programme)).one()
    assert response.location == f"/programmes/{programme.id}"
    page = text(client.get(response.location))
    assert flashes(page) == ["Programme Mechatronics added."]
    assert "MECH-4 · EQF level 4" in page
    assert "C — Manufacturing" in page

    edit_page = text(client.get(f"/programmes/{programme.id}/edit"))
    assert "Reads drawings\nWelds</textarea>" in edit_page
    form["outcomes"] = "Welds\nPrograms PLCs"
    client.post_form(f"/programmes/{programme.id}/edit", form)
    page = text(client.get(f"/programmes/{programme.id}"))
    assert "<li>Welds</li><li>Programs PLCs</li>" in page
    assert "1 retired outcome" in page
    assert count_rows(ProgrammeOutcome) == 3


def test_programme_form_errors_are_shown_next_to_their_fields(ctx, login_as, manager, programme):
    client = login_as(manager)
    form = {
        "name": "Other",
        "code": "Mech-4",
        "eqf_level": "9",
        "sector": "",
        "outcomes": "x" * 301,
    }
    page = text(client.post_form("/programmes/new", form))
    assert field_error(page, "eqf_level") == "Number must be between 1 and 8."
    assert field_error(page, "sector") == "This field is required."
    assert field_error(page, "outcomes") == "Each outcome can be at most 300 characters long."
    form.update(eqf_level="3", sector="I", outcomes="Cooks")
    page = text(client.post_form("/programmes/new", form))
    assert field_error(page, "code") == "Another programme already has the code MECH-4."
    assert count_rows(Programme) == 1


def test_cohorts_are_added_and_edited_on_the_programme_page(ctx, login_as, manager, programme):
    client = login_as(manager)
    url = f"/programmes/{programme.id}/cohorts"
    form = {"name": "2027/28", "starts_on": "2027-09-01", "ends_on": "2028-07-31"}
    response = client.post_form(url, form)
    assert response.location == f"/programmes/{programme.id}#cohorts"
    assert flashes(text(client.get(response.location))) == ["Cohort 2027/28 saved."]

    page = text(client.post_form(url, form))
    assert field_error(page, "name") == "This programme already has a cohort named 2027/28."
    page = text(client.post_form(url, {**form, "name": "2028/29", "ends_on": "2027-08-01"}))
    assert field_error(page, "ends_on") == "The programme year must end after it starts."
    assert count_rows(Cohort) == 2

    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.name == "2027/28"))
    edit_page = text(client.get(f"/programmes/{programme.id}?cohort={cohort.id}"))
    assert form_field(edit_page, "name")["value"] == "2027/28"
    assert form_field(edit_page, "csrf_token")["value"]
    client.post_form(f"{url}/{cohort.id}", {**form, "name": "2027-28"})
    assert fresh(cohort).name == "2027-28"
    other = make_programme(manager)
    assert client.post_form(f"/programmes/{other.id}/cohorts/{cohort.id}", form).status_code == 404


def test_an_archived_programme_is_not_offered_for_new_learners(
    ctx, login_as, manager, officer, programme
):
    client = login_as(manager)
    response = client.post_form(f"/programmes/{programme.id}/archive")
    assert flashes(text(client.get(response.location))) == ["Mechatronics is archived."]
    page = text(login_as(officer).get("/learners/new"))
    assert "Mechatronics (MECH-4)" not in page
    assert "Mechatronics" not in text(client.get("/programmes/"))
    assert "Mechatronics" in text(client.get("/programmes/?archived=1"))
    client.post_form(f"/programmes/{programme.id}/archive", {"restore": "1"})
    assert fresh(programme).archived_at is None
