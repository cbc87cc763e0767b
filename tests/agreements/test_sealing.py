"""The sealed copy of a signed version, read back with pypdf: the original pages unchanged
(byte for byte: the copy is an incremental update of the original file), then the evidence
page listing every signature and the original's hash; and the subject moving on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import shutil
import subprocess
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from pypdf import PdfReader

from crm.agreements import sealing, signing
from crm.agreements import service as agreements
from crm.agreements.models import Agreement
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from tests.agreements.signing_support import (
    BROWSER,
    Issued,
    open_links,
    reread,
    send_agreement,
    sign,
    sign_path,
    signers_by_party,
    version_of,
)
from tests.factories import make_contact, make_organisation
from tests.workflow.support import make_partnership

SIGNED_AT = dt.datetime(2026, 12, 7, 11, 30, 5, tzinfo=dt.UTC)
PROVIDER_AT = dt.datetime(2026, 12, 8, 8, 15, 0, tzinfo=dt.UTC)
HOSTILE_NAME = '<b>Sven</b> <link rel="attachment" href="file:///etc/passwd">'


def flat(text: str) -> str:
    """Text with every run of white space made one space (table cells wrap lines)."""
    return " ".join(text.split())


def squeezed(text: str) -> str:
    """Text without any white space (a hash may be broken over lines)."""
    return "".join(text.split())


def evidence_text(issued: Issued) -> str:
    """The text of the pages the sealed copy adds to the original."""
    sealed = PdfReader(io.BytesIO(issued.version.sealed_pdf or b""))
    return "\n".join(page.extract_text() for page in sealed.pages[issued.version.pages :])


def sign_for_provider(issued: Issued, user: Any, at: dt.datetime = PROVIDER_AT) -> None:
    reread(issued)
    signing.sign_in_app(
        issued.signers["provider"],
        user,
        user.name,
        True,
        signing.Evidence(ip="198.51.100.20", user_agent="Firefox/133 (staff desk)", at=at),
        document_sha256=issued.version.sha256,
    )
    db.session.commit()


def sign_all(
    issued: Issued, client: Any, user: Any, employer_name: str = "S. Supervisor"
) -> Issued:
    """Employer and learner sign by link at SIGNED_AT, then the manager for the provider."""
    with time_machine.travel(SIGNED_AT, tick=False):
        for party, name in (("employer", employer_name), ("learner", "Lena M. Lernend")):
            response = sign(client, issued.path(party), typed_name=name)
            assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    sign_for_provider(issued, user)
    return reread(issued)


@pytest.fixture
def signed(ctx: Any, officer: Any, manager: Any, client: Any) -> Issued:
    """A placement agreement every party has signed."""
    return sign_all(send_agreement(officer), client, manager)


# --- the copy ---------------------------------------------------------------------------------


def test_the_sealed_copy_is_the_original_then_the_evidence_page(signed):
    version = signed.version
    original, sealed = version.pdf, version.sealed_pdf
    assert sealed is not None
    # The stored hashes are those of the stored bytes; the original never changed.
    assert version.sealed_sha256 == hashlib.sha256(sealed).hexdigest()
    assert version.sha256 == hashlib.sha256(original).hexdigest()
    assert signed.agreement.document_sha256 == version.sha256
    assert version.sealed_at == PROVIDER_AT
    # The copy begins with the original file, byte for byte: anyone can check its hash.
    assert sealed[: len(original)] == original
    assert hashlib.sha256(sealed[: len(original)]).hexdigest() == version.sha256

    before, after = PdfReader(io.BytesIO(original)), PdfReader(io.BytesIO(sealed))
    assert len(before.pages) == version.pages >= 2
    assert len(after.pages) == version.pages + 1
    for old, new in zip(before.pages, after.pages, strict=False):
        assert new.extract_text() == old.extract_text()
        assert new.get_contents().get_data() == old.get_contents().get_data()  # type: ignore[union-attr]
    assert after.metadata is not None and before.metadata is not None
    assert after.metadata.title == before.metadata.title
    assert after.metadata.author == before.metadata.author
    assert after.trailer["/Root"]["/Lang"] == before.trailer["/Root"]["/Lang"]
    # The same document (first identifier), updated (second).
    assert after.trailer["/ID"][0] == before.trailer["/ID"][0]
    assert after.trailer["/ID"][1] != before.trailer["/ID"][1]


def test_the_evidence_page_lists_every_signature_and_the_original_hash(signed, manager):
    sealed = PdfReader(io.BytesIO(signed.version.sealed_pdf or b""))
    page = sealed.pages[-1].extract_text()
    text = flat(page)
    assert "Evidence of electronic signatures" in text
    assert squeezed(page).count(signed.version.sha256) == 4  # the document, and each signature
    assert "Sealed 2026-12-08 08:15:00 UTC" in text

    employer = signed.signers["employer"]
    assert f"Employer: {employer.name}" in text
    assert "Name typed when signing S. Supervisor" in text
    assert "Learner: Lena Lernend" in text and "Lena M. Lernend" in text
    assert f"Education provider: {manager.name}" in text
    assert text.count("Signed 2026-12-07 11:30:05 UTC") == 2
    assert text.count("Signed 2026-12-08 08:15:00 UTC") == 1
    assert text.count("By the personal link e-mailed to the signer") == 2
    assert text.count("In the app, signed in as a staff member") == 1
    assert text.count("127.0.0.1") == 2 and "198.51.100.20" in text
    assert squeezed(BROWSER) in squeezed(page)
    assert "Firefox/133 (staff desk)" in text
    assert text.count("Matches the document signed.") == 3
    assert "Does not match" not in text


@pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
def test_the_sealed_copy_is_a_well_formed_pdf(signed, tmp_path):
    path = tmp_path / "sealed.pdf"
    path.write_bytes(signed.version.sealed_pdf or b"")
    checked = subprocess.run(
        ["qpdf", "--check", str(path)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WARNING" not in checked.stdout + checked.stderr
    assert "No syntax or stream encoding errors found" in checked.stdout


def test_markup_typed_as_a_name_prints_as_text_and_embeds_nothing(ctx, officer, manager, client):
    signed = sign_all(send_agreement(officer), client, manager, employer_name=HOSTILE_NAME)
    assert signed.signers["employer"].typed_name == HOSTILE_NAME
    sealed = PdfReader(io.BytesIO(signed.version.sealed_pdf or b""))
    text = flat(evidence_text(signed))
    assert "<b>Sven</b>" in text
    assert squeezed('<link rel="attachment" href="file:///etc/passwd">') in squeezed(text)
    names = sealed.trailer["/Root"].get("/Names")
    assert names is None or "/EmbeddedFiles" not in names.get_object()
    assert sealed.attachments == {}
    assert b"root:x:0:0" not in (signed.version.sealed_pdf or b"")


def test_an_unsigned_version_is_not_sealed(ctx, officer, client):
    issued = send_agreement(officer)
    assert sign(client, issued.path("employer")).status_code == 303
    reread(issued)
    with pytest.raises(sealing.SealingError):
        sealing.seal_current_version(issued.agreement)
    db.session.rollback()
    reread(issued)
    assert issued.version.sealed_pdf is None and issued.version.sealed_sha256 == ""


def test_a_sealed_version_is_sealed_once(signed):
    first = signed.version.sealed_pdf
    sealing.seal_current_version(signed.agreement, now=PROVIDER_AT + dt.timedelta(days=1))
    db.session.commit()
    reread(signed)
    assert signed.version.sealed_pdf == first
    assert signed.version.sealed_at == PROVIDER_AT


def test_append_pages_keeps_the_original_and_adds_pages_at_the_end(signed):
    original = signed.version.pdf
    twice = sealing.append_pages(sealing.append_pages(original, original), original)
    reader = PdfReader(io.BytesIO(twice))
    assert len(reader.pages) == 3 * signed.version.pages
    assert twice.startswith(original)
    assert (
        reader.pages[-1].extract_text() == PdfReader(io.BytesIO(original)).pages[-1].extract_text()
    )


# --- the subject moves on ---------------------------------------------------------------------


def test_the_signed_placement_agreement_makes_the_placement_ready(signed):
    placement = db.session.get(Placement, signed.placement.id)
    assert placement is not None and placement.state == "ready"
    assert signed.agreement.state == "signed"


def test_a_signed_memorandum_activates_the_partnership(ctx, officer, manager, client):
    organisation = make_organisation(officer, legal_name="Werkzeugbau Kern GmbH")
    partnership = make_partnership(officer, "agreeing", organisation=organisation)
    boss = make_contact(
        organisation,
        role=ContactRole.DECISION_MAKER,
        first_name="Dora",
        last_name="Decider",
        email="dora@kern.test",
        job_title="Managing director",
    )
    db.session.commit()
    agreement, created = agreements.prepare_memorandum(partnership, officer)
    assert created
    agreements.issue(agreement, officer)
    db.session.commit()

    version = version_of(agreement)
    signers = signers_by_party(version)
    assert set(signers) == {"provider", "employer"}
    assert signers["employer"].contact_id == boss.id
    link = open_links(agreement)["employer"]
    assert link.recipient_email == "dora@kern.test"
    with time_machine.travel(SIGNED_AT, tick=False):
        assert sign(client, sign_path(link), typed_name="Dora Decider").status_code == 303
    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement.id)  # type: ignore[assignment]
    assert agreement.state == "partially_signed"
    signing.sign_in_app(
        signers_by_party(version_of(agreement))["provider"],
        manager,
        "Mia Manager",
        True,
        signing.Evidence(ip="198.51.100.20", user_agent="Firefox", at=PROVIDER_AT),
        document_sha256=version.sha256,
    )
    db.session.commit()

    db.session.expire_all()
    agreement = db.session.get(Agreement, agreement.id)  # type: ignore[assignment]
    partnership = db.session.get(Partnership, partnership.id)  # type: ignore[assignment]
    assert agreement.state == "signed"
    assert partnership.state == "active"
    assert partnership.memorandum_signed_on == PROVIDER_AT.date()
    sealed = version_of(agreement).sealed_pdf
    assert sealed is not None
    text = flat(PdfReader(io.BytesIO(sealed)).pages[-1].extract_text())
    assert "Employer: Dora Decider" in text and "Managing director" in text
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Agreement)
        .where(Agreement.partnership_id == partnership.id)
    )
    assert count == 1
