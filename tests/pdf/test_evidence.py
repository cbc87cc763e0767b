"""The evidence page the sealed copy ends with: every signature event and the hashes."""

from __future__ import annotations

import pytest

from crm.core.pdf import render_html, render_pdf
from tests.pdf.support import embedded_files, metadata, page_texts, text_of, xmp

ORIGINAL = "3f" * 32
OTHER = "c0" * 32
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def evidence_context(**changes):
    context = {
        "agreement_title": "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH",
        "version_number": 2,
        "original_sha256": ORIGINAL,
        "sealed_at": "2026-12-06T15:04:05+00:00",
        "original_bytes": 48213,
        "original_pages": 4,
        "signers": [
            {
                "party_label": "Employer",
                "name": "Dana Decider",
                "typed_name": "Dana M. Decider",
                "role_title": "Managing director",
                "signed_at": "2026-12-05T09:15:00+00:00",
                "ip": "203.0.113.7",
                "user_agent": FIREFOX,
                "signed_sha256": ORIGINAL,
                "method": "link",
            },
            {
                "party_label": "Learner",
                "name": "Lena Lernend",
                "typed_name": "Lena Lernend",
                "role_title": "",
                "signed_at": "2026-12-05T18:40:12+01:00",  # stored as UTC; any offset converts
                "ip": "2001:db8::42",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
                "signed_sha256": ORIGINAL,
                "method": "link",
            },
            {
                "party_label": "Education provider",
                "name": "Mona Manager",
                "typed_name": "Mona Manager",
                "role_title": "Head of placements",
                "signed_at": "2026-12-06T15:04:05+00:00",
                "ip": "198.51.100.3",
                "user_agent": FIREFOX,
                "signed_sha256": ORIGINAL,
                "method": "in the app",
                "signed_by": "Mona Manager",
            },
        ],
    }
    context.update(changes)
    return context


def render_evidence(language="en", **changes):
    context = evidence_context(**changes)
    return render_pdf(
        "pdf/evidence.html",
        context,
        language=language,
        title=context["agreement_title"],
        author="Demo Vocational College",
        subject="Evidence of electronic signatures",
    )


@pytest.fixture
def evidence(ctx):
    return render_evidence()


def test_the_evidence_page_lists_every_signature_event(evidence):
    text = text_of(evidence.data)

    assert evidence.pages == 1
    assert "Evidence of electronic signatures" in text
    assert "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH" in text
    assert f"SHA-256 of the document signed {ORIGINAL}" in text
    assert "Sealed 2026-12-06 15:04:05 UTC" in text
    for expected in (
        "Employer: Dana Decider",
        "Name typed when signing Dana M. Decider",
        "Role Managing director",
        "Signed 2026-12-05 09:15:00 UTC",
        "By the personal link e-mailed to the signer",
        "IP address 203.0.113.7",
        "Learner: Lena Lernend",
        "Signed 2026-12-05 17:40:12 UTC",
        "IP address 2001:db8::42",
        "Education provider: Mona Manager",
        "In the app, signed in as a staff member",
        "Signed 2026-12-06 15:04:05 UTC",
        "Signed in the app by Mona Manager",
        "Size of the document signed 4 pages, 48213 bytes",
        "its first 48213 bytes have that hash",
    ):
        assert expected in text, expected
    squeezed = "".join(text.split())
    assert "".join(FIREFOX.split()) in squeezed
    assert squeezed.count(ORIGINAL) == 4  # the document's and each signer's
    assert text.count("Matches the document signed.") == 3
    assert "Version 2 · Evidence" in text
    assert "Page 1 of 1" in text


def test_a_signature_of_another_hash_is_flagged(ctx):
    context = evidence_context()
    context["signers"][1]["signed_sha256"] = OTHER
    text = text_of(render_evidence(signers=context["signers"]).data)

    assert text.count("Matches the document signed.") == 2
    assert "Does not match the document signed." in text
    assert OTHER in "".join(text.split())


def test_the_evidence_page_is_archival_with_metadata(evidence):
    info = metadata(evidence.data)

    assert info["/Title"] == "Placement agreement — Lena Lernend at Werkzeugbau Kern GmbH"
    assert info["/Author"] == "Demo Vocational College"
    assert info["/Lang"] == "en"
    assert "pdfaid" in xmp(evidence.data)
    assert embedded_files(evidence.data) == []


def test_many_signers_and_long_values_stay_readable(ctx):
    signer = evidence_context()["signers"][0] | {
        "user_agent": "Agent/" + "x" * 2_000,
        "typed_name": "T" * 1_000,
    }
    rendered = render_evidence(signers=[signer] * 6)

    pages = page_texts(rendered.data)
    assert 2 <= len(pages) <= 4
    assert f"Page {len(pages)} of {len(pages)}" in pages[-1]
    assert "x" * 2_000 not in "".join(text_of(rendered.data).split())


def test_a_german_evidence_page(ctx):
    rendered = render_evidence(language="de")

    assert metadata(rendered.data)["/Lang"] == "de"
    text = text_of(rendered.data)
    assert "Nachweis der elektronischen Unterschriften" in text
    assert "Evidence of electronic signatures" not in text
    assert "Signed 2026-12-05 09:15:00 UTC" not in text  # German label, same UTC time
    assert "2026-12-05 09:15:00 UTC" in text
    html = render_html("pdf/evidence.html", evidence_context(), language="de")
    assert '<html lang="de">' in html
