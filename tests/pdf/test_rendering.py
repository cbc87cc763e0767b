"""Rendering a placement agreement from its values: text, pages, header and footer,
metadata, PDF/A, fonts, language; and the same values always give the same bytes."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import threading

import pytest

from crm.agreements.document import render_values
from crm.config import PROJECT_ROOT as ROOT
from tests.pdf.support import embedded_files, fonts, metadata, page_texts, qpdf_check, reader, xmp
from tests.pdf.values import placement_values

A4 = (595.28, 841.89)  # points


@pytest.fixture
def rendered(ctx):
    return render_values(placement_values())


def test_the_agreement_names_the_parties_dates_duties_and_criteria(rendered):
    text = " ".join(page_texts(rendered.data))

    for expected in (
        "Placement agreement",
        "Demo Vocational College",
        "Schulstraße 1",
        "Olga Officer",
        "Werkzeugbau Kern GmbH",
        "Kern Tools",
        "HRB 12345",
        "Lena Lernend",
        "2 April 2006",  # date of birth, British English
        "Mechatronics technician",
        "Sven Supervisor, Workshop lead",
        "From 1 March 2027 to 28 May 2027",
        "480 hours in total",
        "Werk 2, Industriestraße 9, Köln",
        "Assembly and testing of pneumatic control units.",
        "Read circuit diagrams.",
        # the provider's duties (pedagogical support) and the employer's
        "pedagogical support",
        "Appoint a placement officer as the learner's tutor",
        "Name a workplace supervisor with the time and competence to guide the learner.",
        "Health and safety at work",
        "Give the learner a safety induction on the first day",
        "Insurance",
        "liability insurance",
        "European Framework for Quality and Effective Apprenticeships",
        "Pedagogical support: a workplace supervisor and the provider's tutor",
        "Work, health and safety conditions",
        # signature blocks
        "For Werkzeugbau Kern GmbH",
        "Name: Dana Decider",
        "Role: Managing director",
        "Signature and date",
    ):
        assert expected in text, expected


def test_sections_and_clauses_are_numbered(rendered):
    text = " ".join(page_texts(rendered.data))

    assert "1. The parties" in text
    assert "2. The placement" in text
    assert "4.1 Appoint a placement officer" in text
    assert re.search(r"\d+\. Signatures", text)


def test_every_page_has_the_title_and_version_in_its_header_and_numbers_in_its_footer(rendered):
    pages = page_texts(rendered.data)

    assert rendered.pages == len(pages) == len(reader(rendered.data).pages)
    assert 3 <= rendered.pages <= 5
    for number, text in enumerate(pages, start=1):
        assert "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH" in text
        assert "Version 2" in text
        assert f"Page {number} of {len(pages)}" in text
        assert "Demo Vocational College · Agreement no. 17" in text


def test_pages_are_a4(rendered):
    for page in reader(rendered.data).pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert (round(width, 1), round(height, 1)) == (round(A4[0], 1), round(A4[1], 1))


def test_metadata_title_author_subject_and_language(rendered):
    info = metadata(rendered.data)

    assert info["/Title"] == "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH"
    assert info["/Author"] == "Demo Vocational College"
    assert info["/Subject"] == "Placement agreement, version 2"
    assert info["/Lang"] == "en"


def test_the_file_is_pdf_a_2b_with_every_font_embedded(rendered):
    packet = xmp(rendered.data)

    assert re.search(r'pdfaid:part(="|>)2', packet), packet
    assert re.search(r'pdfaid:conformance(="|>)B', packet), packet
    assert "/OutputIntents" in reader(rendered.data).trailer["/Root"]
    used = fonts(rendered.data)
    assert used and all(used.values()), used
    assert any("DejaVu" in name for name in used), used
    assert embedded_files(rendered.data) == []


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_qpdf_finds_no_error(rendered, tmp_path):
    assert qpdf_check(rendered.data, tmp_path) is None


def test_the_hash_and_page_count_describe_the_bytes(rendered):
    assert rendered.sha256 == hashlib.sha256(rendered.data).hexdigest()
    assert rendered.data.startswith(b"%PDF-1.7")


def test_the_same_values_give_the_same_bytes(ctx, rendered):
    again = render_values(placement_values())
    changed = render_values(placement_values(version=3))

    assert again.sha256 == rendered.sha256
    assert changed.sha256 != rendered.sha256


def test_a_german_agreement_is_in_german(ctx):
    rendered = render_values(placement_values(language="de"))
    text = " ".join(page_texts(rendered.data))

    assert metadata(rendered.data)["/Lang"] == "de"
    assert "2. April 2006" in text  # dates in German
    assert "1. März 2027" in text
    assert "Praktikumsvereinbarung" in text
    assert "Seite 1 von" in text
    assert "Geburtsdatum" in text  # labels from the German catalogue
    assert "Bildungsgang" in text
    assert "Date of birth" not in text


def test_a_minor_learner_has_a_guardian_row_and_signature_block(ctx):
    values = placement_values()
    values["learner"] |= {"is_minor": True, "guardian_name": "Gerda Guardian"}
    values["signatories"].append(
        {
            "party": "guardian",
            "party_label": "Parent or guardian",
            "name": "Gerda Guardian",
            "role_title": "",
        }
    )
    text = " ".join(page_texts(render_values(values).data))

    assert "Parent or guardian Gerda Guardian" in text
    assert "The learner is under 18 at the start of the placement" in text
    assert "Name: Gerda Guardian" in text


def test_empty_parts_are_left_out_and_the_numbering_stays_continuous(ctx):
    values = placement_values()
    values["terms"] = {**values["terms"], "insurance": [], "learner_duties": []}
    values["supervisor"] = None
    values["placement"] = {**values["placement"], "hours_target": 0, "learning_objectives": ""}
    text = " ".join(page_texts(render_values(values).data))

    assert "Insurance" not in text
    assert "Workplace supervisor" not in text
    assert "hours in total" not in text
    assert "Learning objectives" not in text
    for heading in (
        "3. The provider's duties",
        "4. The employer's duties",
        "5. Health and safety at work",
        "6. Quality criteria",
        "7. General provisions",
        "8. Signatures",
    ):
        assert heading in text, heading


def test_two_threads_render_at_once_each_with_its_own_fonts(app, rendered):
    """The scheduler runs jobs in threads; pango's font maps must not be shared."""
    results: list[str] = []
    errors: list[BaseException] = []

    def render() -> None:
        try:
            with app.test_request_context("/"):
                results.append(render_values(placement_values()).sha256)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=render) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    assert errors == []
    assert results == [rendered.sha256, rendered.sha256]


def test_importing_the_document_modules_does_not_import_weasyprint():
    """WeasyPrint takes over a second to import: only rendering loads it, not app start."""
    code = "import sys, crm.agreements.document, crm.core.pdf; print('weasyprint' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )

    assert done.stdout.strip() == "False"
