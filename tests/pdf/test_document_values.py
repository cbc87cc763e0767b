"""What a version prints: the values gathered from a placement or a partnership, the
signatories, the standard terms, and rendering a version."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from crm.agreements import terms as terms_module
from crm.agreements.document import (
    TERM_FIELDS,
    default_terms,
    document_values,
    render_values,
    render_version,
    signatories,
)
from crm.agreements.models import AgreementKind, SignerParty
from crm.contacts.models import ContactRole
from crm.extensions import db
from tests.factories import make_contact
from tests.pdf.support import metadata, text_of


def test_placement_values_come_from_the_placement_learner_employer_and_officer(placed, app):
    values = document_values(placed.agreement, issued_on=dt.date(2026, 12, 6))

    assert values["kind"] == "placement_agreement"
    assert values["version"] == 1
    assert values["issued_on"] == "2026-12-06"
    assert values["title"] == "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH"
    assert values["provider"]["name"] == app.config["CRM_PROVIDER_NAME"]
    assert values["officer"]["name"] == "Olga Officer"
    assert values["learner"] == {
        "name": "Lena Lernend",
        "birth_date": "2005-05-17",
        "is_minor": False,
        "guardian_name": "",
    }
    assert values["programme"]["name"] == "Mechatronics"
    assert values["programme"]["year"]
    assert values["organisation"]["legal_name"] == "Werkzeugbau Kern GmbH"
    assert values["organisation"]["address"] == "Hafenstr. 5"
    assert values["organisation"]["country"] == "Germany"
    assert values["supervisor"]["name"] == "Sven Supervisor"
    assert values["supervisor"]["email"] == "sven@kern.test"
    assert values["placement"] == {
        "start_date": "2027-03-01",
        "end_date": "2027-04-30",
        "hours_target": 320,
        "workplace_address": "Werk 2, Hafenstr. 9, 20457 Hamburg",
        "role_description": "Assembles and tests gearboxes.",
        "learning_objectives": "Reads technical drawings.\nSets up a CNC lathe.",
    }
    assert set(values["terms"]) == {f.key for f in TERM_FIELDS[AgreementKind.PLACEMENT]}
    # JSON values only: the version stores them as they are
    assert json.loads(json.dumps(values)) == values


def test_the_employer_signs_by_its_decision_maker_with_an_email_else_the_supervisor(placed):
    parties = signatories(placed.agreement)
    assert [p.party for p in parties] == [
        SignerParty.PROVIDER,
        SignerParty.EMPLOYER,
        SignerParty.LEARNER,
    ]
    assert (parties[1].name, parties[1].email) == ("Sven Supervisor", "sven@kern.test")
    assert parties[1].contact_id == placed.world.supervisor.id
    assert parties[2].learner_id == placed.world.learner.id

    make_contact(
        placed.world.organisation,
        role=ContactRole.DECISION_MAKER,
        first_name="Nora",
        last_name="Nomail",
        email="",
    )
    decider = make_contact(
        placed.world.organisation,
        role=ContactRole.DECISION_MAKER,
        first_name="Dana",
        last_name="Decider",
        email="dana@kern.test",
        job_title="Managing director",
    )
    employer = signatories(placed.agreement)[1]

    assert (employer.name, employer.email, employer.role_title) == (
        "Dana Decider",
        "dana@kern.test",
        "Managing director",
    )
    assert employer.contact_id == decider.id
    blocks = document_values(placed.agreement)["signatories"]
    assert blocks[1] == {
        "party": "employer",
        "party_label": "Employer",
        "name": "Dana Decider",
        "role_title": "Managing director",
    }


def test_a_learner_under_18_at_the_start_adds_the_guardian(ctx, officer):
    from tests.pdf.support import placement_agreement_of
    from tests.placements.support import build_world

    world = build_world(officer)
    world.learner.birth_date = dt.date(2009, 3, 2)  # 17 on 1 March 2027, 18 the day after
    world.learner.guardian_name = "Gerda Guardian"
    world.learner.guardian_email = "gerda@home.test"
    db.session.commit()
    minor = placement_agreement_of(world)

    parties = signatories(minor.agreement)
    assert parties[-1].party == SignerParty.GUARDIAN
    assert (parties[-1].name, parties[-1].email) == ("Gerda Guardian", "gerda@home.test")
    values = document_values(minor.agreement)
    assert values["learner"]["is_minor"] is True
    assert values["learner"]["guardian_name"] == "Gerda Guardian"
    assert [s["party"] for s in values["signatories"]][-1] == "guardian"

    minor.placement.start_date = dt.date(2027, 3, 2)  # the 18th birthday
    db.session.commit()
    assert [p.party for p in signatories(minor.agreement)][-1] == SignerParty.LEARNER


def test_memorandum_values_and_signatories(memorandum):
    values = document_values(memorandum.agreement)

    assert values["kind"] == "partnership_memorandum"
    assert values["title"].startswith("Partnership memorandum — ")
    assert values["title"].endswith(" and Werkzeugbau Kern GmbH")
    assert values["valid_from"] == "2027-01-01"
    assert values["expires_on"] == "2028-12-31"
    assert [(c["name"], c["role"], c["role_label"]) for c in values["contacts"]] == [
        ("Frieda Fokus", "focal_person", "Focal person"),
        ("Dana Decider", "decision_maker", "Decision maker"),
    ]
    assert values["terms"]["duration_months"] == 24
    assert "Work placements for learners" in values["terms"]["engagement_types"]
    assert [s["party"] for s in values["signatories"]] == ["provider", "employer"]
    assert values["signatories"][1]["name"] == "Dana Decider"
    assert json.loads(json.dumps(values)) == values


def test_a_memorandum_without_a_decision_maker_is_signed_by_the_focal_person(memorandum):
    memorandum.extra["decider"].archived_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.commit()

    employer = signatories(memorandum.agreement)[1]

    assert (employer.name, employer.email) == ("Frieda Fokus", "frieda@kern.test")


def test_the_memorandum_prints_scope_engagements_duration_renewal_and_contacts(memorandum):
    rendered, values = render_version(memorandum.agreement, 1)
    text = text_of(rendered.data)

    for expected in (
        "Partnership memorandum",
        "Scope of cooperation",
        "The parties cooperate to give the provider's learners good learning at work",
        "Types of engagement",
        "Work placements for learners",
        "Apprenticeships",
        "Duration and renewal",
        "This memorandum runs for 24 months, from 1 January 2027 to 31 December 2028.",
        "renews for the same period",
        "Contacts",
        "Focal person Frieda Fokus (HR officer), frieda@kern.test",
        "Decision maker Dana Decider (Managing director), dana@kern.test",
        "Olga Officer",
        "Support for companies",
        "For Werkzeugbau Kern GmbH",
        "Name: Dana Decider",
        "Version 1",
        "Page 1 of",
    ):
        assert expected in text, expected
    assert metadata(rendered.data)["/Title"] == values["title"]


def test_render_version_returns_the_pdf_and_the_values_that_render_it_again(placed):
    rendered, values = render_version(placed.agreement, 3, issued_on=dt.date(2026, 12, 6))

    assert values["version"] == 3
    assert values == document_values(placed.agreement, number=3, issued_on=dt.date(2026, 12, 6))
    assert render_values(values).sha256 == rendered.sha256
    text = text_of(rendered.data)
    assert "Version 3" in text
    assert "issued on 6 December 2026" in text
    info = metadata(rendered.data)
    assert info["/Title"] == "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH"
    assert info["/Author"] == "Demo Vocational College"


def test_the_document_is_in_the_agreements_language(placed):
    placed.agreement.language = "de"
    db.session.commit()

    rendered, values = render_version(placed.agreement, 1)

    assert values["language"] == "de"
    assert values["organisation"]["country"] == "Deutschland"
    assert values["signatories"][1]["party_label"] == "Betrieb"
    assert metadata(rendered.data)["/Lang"] == "de"
    text = text_of(rendered.data)
    assert "1. März 2027" in text
    assert "Praktikumsvereinbarung" in text
    assert "Seite 1 von" in text
    # the standard clauses, stored in English, print in German
    english = default_terms(AgreementKind.PLACEMENT)["insurance"][0]
    german = default_terms(AgreementKind.PLACEMENT, language="de")["insurance"][0]
    assert german != english
    assert values["terms"]["insurance"][0] == german
    assert "".join(german.split()) in "".join(text.split())
    assert english not in text


# --- terms --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(AgreementKind))
def test_default_terms_fill_every_field_of_their_kind(ctx, kind):
    terms = default_terms(kind)

    assert set(terms) == {field.key for field in TERM_FIELDS[kind]}
    for field in TERM_FIELDS[kind]:
        value = terms[field.key]
        if field.kind == "list":
            assert value and all(isinstance(item, str) and item for item in value), field.key
        elif field.kind == "months":
            assert value == 24
        else:
            assert isinstance(value, str)
    assert json.loads(json.dumps(terms)) == terms


def test_default_terms_are_copies(ctx):
    terms = default_terms(AgreementKind.PLACEMENT)
    terms["insurance"].append("Changed")

    assert "Changed" not in default_terms(AgreementKind.PLACEMENT)["insurance"]


def test_standard_clauses_print_in_the_documents_language_edited_ones_as_typed(placed, monkeypatch):
    standard = default_terms(AgreementKind.PLACEMENT)["insurance"][0]
    monkeypatch.setattr(terms_module, "_", lambda text, **kw: f"[de] {text}")
    placed.agreement.terms = {
        **default_terms(AgreementKind.PLACEMENT),
        "insurance": [standard, "Covered by Allianz policy 42."],
    }
    db.session.commit()

    insurance = document_values(placed.agreement)["terms"]["insurance"]

    assert insurance == [f"[de] {standard}", "Covered by Allianz policy 42."]
    assert default_terms(AgreementKind.PLACEMENT, language="de")["insurance"][0].startswith("[de]")


def test_missing_terms_take_the_standard_clauses_and_unknown_keys_are_dropped(placed):
    placed.agreement.terms = {"special_conditions": "Bring safety boots.", "evil": "<b>x</b>"}
    db.session.commit()

    terms = document_values(placed.agreement)["terms"]

    assert terms["special_conditions"] == "Bring safety boots."
    assert terms["insurance"] == default_terms(AgreementKind.PLACEMENT)["insurance"]
    assert "evil" not in terms
