"""The agreement service: issuing versions, superseding, signers per case, immutability,
memoranda, and the placement's and partnership's moves."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.agreements import service as agreements
from crm.agreements.immutable import ImmutableVersion
from crm.agreements.models import AgreementKind, AgreementVersion
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.links.models import LinkEnd
from crm.outbox.models import OutboxMessage
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from tests.agreements.support import (
    agreement_in,
    confirmed_placement,
    memorandum_partnership,
    minor,
    newest,
    page_count,
    pdf_text,
    send_agreement,
    sha256,
    signers,
    signing_links,
    versions,
)
from tests.factories import make_contact, make_learner, make_user
from tests.placements.support import SPRING

# --- issuing version 1 --------------------------------------------------------------------------


def test_sending_the_agreement_issues_version_1_with_its_pdf_hash_and_links(world):
    placement = confirmed_placement(world)
    agreement = send_agreement(placement, world.officer)

    assert (agreement.kind, agreement.state, agreement.current_number) == (
        AgreementKind.PLACEMENT,
        "issued",
        1,
    )
    (version,) = versions(agreement)
    assert version.pdf.startswith(b"%PDF-")
    assert version.sha256 == sha256(version.pdf) == agreement.document_sha256
    assert version.pages == page_count(version.pdf) >= 2
    assert version.issued_by_id == world.officer.id
    assert version.superseded_at is None
    assert version.values["version"] == 1
    text = pdf_text(version.pdf)
    for expected in ("Lena Lernend", "Werkzeugbau Kern GmbH", "Assembles gearboxes"):
        assert expected in text
    # The agreement runs over the placement's dates.
    assert (agreement.valid_from, agreement.expires_on) == SPRING
    assert db.session.get(Placement, placement.id).state == "agreement_out"


def test_every_party_but_the_provider_gets_a_link_to_the_version(world):
    agreement = send_agreement(confirmed_placement(world), world.officer)
    version = versions(agreement)[0]
    by_party = signers(version)
    assert list(by_party) == ["provider", "employer", "learner"]
    employer, learner = by_party["employer"], by_party["learner"]
    assert (employer.name, employer.email, employer.contact_id) == (
        "Sven Supervisor",
        "sven@kern.test",
        world.supervisor.id,
    )
    assert (learner.name, learner.learner_id) == ("Lena Lernend", world.learner.id)
    assert by_party["provider"].link_id is None

    links = signing_links(agreement)
    assert sorted(link.party for link in links) == ["employer", "learner"]
    assert {link.fingerprint for link in links} == {version.sha256}
    assert {employer.link_id, learner.link_id} == {link.id for link in links}
    mails = db.session.scalars(
        sa.select(OutboxMessage.to_email).where(
            OutboxMessage.kind == "link_sign_agreement",
            OutboxMessage.record_id == agreement.id,
        )
    ).all()
    assert sorted(mails) == sorted(["sven@kern.test", learner.email])


@pytest.mark.parametrize(("preferred", "language"), [("de", "de"), ("en", "en"), ("fr", "en")])
def test_the_agreement_is_in_the_supervisors_language_if_the_app_offers_it(
    world, preferred, language
):
    world.supervisor.preferred_language = preferred
    db.session.commit()
    agreement = send_agreement(confirmed_placement(world), world.officer)
    assert agreement.language == language
    assert versions(agreement)[0].language == language


def test_a_german_agreement_is_a_german_document(world):
    from pypdf import PdfReader

    world.supervisor.preferred_language = "de"
    db.session.commit()
    agreement = send_agreement(confirmed_placement(world), world.officer)
    version = versions(agreement)[0]
    assert version.values["language"] == "de"
    reader = PdfReader(__import__("io").BytesIO(version.pdf))
    assert str(reader.trailer["/Root"]["/Lang"]) == "de"


# --- who signs ------------------------------------------------------------------------------------


def test_a_decision_maker_with_an_e_mail_signs_for_the_employer(world):
    make_contact(world.organisation, role=ContactRole.DECISION_MAKER, email="", last_name="Mute")
    boss = make_contact(
        world.organisation,
        role=ContactRole.DECISION_MAKER,
        first_name="Dora",
        last_name="Decider",
        email="dora@kern.test",
        job_title="Managing director",
    )
    agreement = send_agreement(confirmed_placement(world), world.officer)
    employer = signers(versions(agreement)[0])["employer"]
    assert (employer.contact_id, employer.email, employer.role_title) == (
        boss.id,
        "dora@kern.test",
        "Managing director",
    )


def test_a_minor_at_the_start_signs_with_a_guardian(world):
    learner = minor(world)
    placement = confirmed_placement(world, learner, guardian_consent_on=dt.date(2026, 12, 1))
    agreement = send_agreement(placement, world.officer)
    by_party = signers(versions(agreement)[0])
    assert list(by_party) == ["provider", "employer", "learner", "guardian"]
    assert (by_party["guardian"].name, by_party["guardian"].email) == (
        "Greta Guardian",
        "greta@family.test",
    )
    assert sorted(link.party for link in signing_links(agreement)) == [
        "employer",
        "guardian",
        "learner",
    ]


def test_an_adult_signs_without_a_guardian(world):
    learner = make_learner(
        world.officer, world.programme, guardian_name="Old Guardian", guardian_email="g@x.test"
    )
    agreement = send_agreement(confirmed_placement(world, learner), world.officer)
    assert "guardian" not in signers(versions(agreement)[0])


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (
            "no supervisor",
            "Record a decision maker or the workplace supervisor with an e-mail address: they "
            "sign the agreement for the employer by link.",
        ),
        (
            "supervisor without e-mail",
            "Record the e-mail address of Sven Supervisor, who signs for the employer by link.",
        ),
        (
            "learner without e-mail",
            "Record the learner's e-mail address: Lena Lernend signs by link.",
        ),
        (
            "minor without guardian",
            "The learner is under 18 at the start: record the guardian's name and e-mail "
            "address, so that they can sign.",
        ),
    ],
)
def test_a_party_who_cannot_be_asked_stops_the_agreement(world, case, reason):
    learner, fields = world.learner, {}
    if case == "no supervisor":
        fields["supervisor_id"] = None
    elif case == "supervisor without e-mail":
        world.supervisor.email = ""
    elif case == "learner without e-mail":
        world.learner.email = ""
    else:
        learner = minor(world, guardian_email="")
        fields["guardian_consent_on"] = dt.date(2026, 12, 1)
    db.session.commit()
    placement = confirmed_placement(world, learner, **fields)
    with pytest.raises(workflow.TransitionBlocked) as refused:
        workflow.fire(placement, "send_agreement", user=world.officer)
    db.session.rollback()
    assert refused.value.reasons == [reason]
    # Nothing of the step happened: no agreement, no link, the placement still confirmed.
    assert agreements.agreements_of_placement(placement.id) == []
    assert db.session.get(Placement, placement.id).state == "confirmed"


# --- new versions ---------------------------------------------------------------------------------


def test_a_new_version_supersedes_the_old_one_which_stays_as_it_was(world):
    agreement = send_agreement(confirmed_placement(world), world.officer)
    v1 = versions(agreement)[0]
    v1_pdf, v1_sha = v1.pdf, v1.sha256
    v1_links = signing_links(agreement)

    agreements.update_terms(
        agreement,
        agreements.TermsValues(
            "en", {**agreement.terms, "special_conditions": "Safety boots provided."}
        ),
        world.officer,
    )
    workflow.fire(agreement, "reissue", user=world.officer, comment="Safety boots added.")
    db.session.commit()

    v1, v2 = versions(agreement)
    assert (v1.pdf, v1.sha256) == (v1_pdf, v1_sha)
    assert v1.superseded_at is not None and v2.superseded_at is None
    assert v2.sha256 != v1.sha256 == sha256(v1.pdf)
    assert "Safety boots provided." in pdf_text(v2.pdf)
    assert "Safety boots provided." not in pdf_text(v1.pdf)
    assert (agreement.current_number, agreement.document_sha256, agreement.state) == (
        2,
        v2.sha256,
        "issued",
    )
    # The old links ended; each party has a new one for version 2.
    old = {
        link.id: link for link in signing_links(agreement) if link.id in {x.id for x in v1_links}
    }
    assert {link.end_reason for link in old.values()} == {LinkEnd.SUPERSEDED}
    new = [link for link in signing_links(agreement) if link.id not in old]
    assert sorted(link.party for link in new) == ["employer", "learner"]
    assert {link.fingerprint for link in new} == {v2.sha256}
    assert {s.version_id for s in signers(v2).values()} == {v2.id}


def test_signatures_of_a_superseded_version_no_longer_count(world, manager):
    from crm.agreements import signing

    agreement = send_agreement(confirmed_placement(world), world.officer)
    v1 = versions(agreement)[0]
    signing.sign_in_app(
        signers(v1)["provider"],
        manager,
        "Mia Manager",
        True,
        signing.Evidence("192.0.2.1", "Test browser", dt.datetime.now(dt.UTC)),
        document_sha256=v1.sha256,
    )
    db.session.commit()
    assert agreement.state == "partially_signed"

    workflow.fire(agreement, "reissue", user=world.officer, comment="New dates.")
    db.session.commit()
    v1, v2 = versions(agreement)
    assert signers(v1)["provider"].signed_at is not None
    assert all(s.signed_at is None for s in signers(v2).values())
    assert agreement.state == "issued"


def test_sending_again_supersedes_the_placements_older_agreement(world):
    placement = confirmed_placement(world)
    first = send_agreement(placement, world.officer)
    # Postponed, resumed and confirmed again: the agreement goes out anew.
    placement.state = "confirmed"
    db.session.commit()
    second = send_agreement(placement, world.officer)
    assert second.id != first.id
    db.session.refresh(first)
    assert (first.state, second.state) == ("superseded", "issued")
    assert all(link.ended_at is not None for link in signing_links(first))


# --- immutability -----------------------------------------------------------------------------


@pytest.fixture
def issued_version(world) -> AgreementVersion:
    agreement = send_agreement(confirmed_placement(world), world.officer)
    return versions(agreement)[0]


@pytest.mark.parametrize(
    ("column", "value"),
    [("pdf", b"%PDF-1.7 forged"), ("sha256", "0" * 64), ("pages", 1), ("values", {})],
)
def test_an_issued_version_never_changes(issued_version, column, value):
    setattr(issued_version, column, value)
    with pytest.raises(ImmutableVersion):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("column", ["pdf", "sha256"])
def test_an_issued_version_never_changes_in_bulk_either(issued_version, column):
    statement = (
        sa.update(AgreementVersion)
        .where(AgreementVersion.id == issued_version.id)
        .values({column: b"x" if column == "pdf" else "0" * 64})
    )
    with pytest.raises(ImmutableVersion):
        db.session.execute(statement)
    db.session.rollback()
    stored = db.session.scalar(
        sa.select(AgreementVersion.sha256).where(AgreementVersion.id == issued_version.id)
    )
    assert stored == sha256(issued_version.pdf)


def test_a_version_is_sealed_once(issued_version):
    now = dt.datetime.now(dt.UTC)
    issued_version.sealed_pdf, issued_version.sealed_sha256 = b"%PDF sealed", "a" * 64
    issued_version.sealed_at = now
    db.session.flush()  # the first seal is written
    issued_version.sealed_sha256 = "b" * 64
    with pytest.raises(ImmutableVersion):
        db.session.flush()
    db.session.rollback()


def test_superseding_marks_a_version_but_changes_nothing_it_holds(issued_version):
    issued_version.superseded_at = dt.datetime.now(dt.UTC)
    db.session.flush()  # allowed: the version's content is untouched


# --- terms ----------------------------------------------------------------------------------


def test_terms_keep_only_the_documents_fields_and_changes_after_issue_need_a_version(world):
    placement = confirmed_placement(world)
    draft = agreements.create_for_placement(placement, world.officer)
    changed = agreements.update_terms(
        draft,
        agreements.TermsValues("de", {"special_conditions": "Boots.", "smuggled": "x"}),
        world.officer,
    )
    assert changed is False
    assert draft.terms["special_conditions"] == "Boots."
    assert "smuggled" not in draft.terms
    assert draft.terms["provider_duties"]  # untouched fields keep their clauses
    assert draft.language == "de"

    with pytest.raises(agreements.AgreementError, match="languages offered"):
        agreements.update_terms(draft, agreements.TermsValues("xx", {}), world.officer)
    other = make_user(name="Other Officer")
    with pytest.raises(PermissionError):
        agreements.update_terms(draft, agreements.TermsValues("en", {}), other)


def test_terms_of_a_signed_agreement_cannot_change(world):
    agreement = agreement_in("signed", world=world)
    with pytest.raises(agreements.AgreementError, match="cannot change"):
        agreements.update_terms(agreement, agreements.TermsValues("en", {}), world.officer)


# --- memoranda --------------------------------------------------------------------------------


def test_preparing_the_memorandum_makes_one_draft(world, manager):
    partnership = memorandum_partnership(world.officer)
    memorandum, created = agreements.prepare_memorandum(partnership, world.officer)
    assert created and memorandum.state == "draft"
    assert memorandum.kind == AgreementKind.PARTNERSHIP
    assert (memorandum.partnership_id, memorandum.organisation_id, memorandum.officer_id) == (
        partnership.id,
        partnership.organisation_id,
        world.officer.id,
    )
    again, created = agreements.prepare_memorandum(partnership, manager)
    assert (again.id, created) == (memorandum.id, False)


def test_only_the_partnerships_owner_managers_and_admins_prepare_it(world):
    partnership = memorandum_partnership(world.officer)
    with pytest.raises(PermissionError):
        agreements.prepare_memorandum(partnership, make_user(name="Other Officer"))


@pytest.mark.parametrize("state", ["identified", "active", "closed"])
def test_the_memorandum_is_prepared_while_the_partnership_is_being_agreed(world, state):
    partnership = memorandum_partnership(world.officer, state)
    with pytest.raises(agreements.AgreementError, match="needs are analysed"):
        agreements.prepare_memorandum(partnership, world.officer)


def test_a_memorandum_runs_for_its_duration_and_its_decision_maker_signs(world, monkeypatch):
    partnership = memorandum_partnership(world.officer)
    memorandum, _created = agreements.prepare_memorandum(partnership, world.officer)
    agreements.update_terms(
        memorandum,
        agreements.TermsValues("en", {**memorandum.terms, "duration_months": 18}),
        world.officer,
    )
    today = dt.date(2027, 8, 31)
    monkeypatch.setattr(agreements, "local_today", lambda now=None: today)
    agreements.issue(memorandum, world.officer)
    db.session.commit()
    assert (memorandum.valid_from, memorandum.expires_on) == (today, dt.date(2029, 2, 28))
    by_party = signers(versions(memorandum)[0])
    assert list(by_party) == ["provider", "employer"]
    assert (by_party["employer"].name, by_party["employer"].email) == (
        "Dora Decider",
        "dora@employer.test",
    )
    assert "18" in pdf_text(versions(memorandum)[0].pdf)


def test_a_memorandum_without_a_signatory_cannot_be_issued(world):
    from tests.workflow.support import make_partnership

    partnership = make_partnership(world.officer, "needs_analysed")
    memorandum, _created = agreements.prepare_memorandum(partnership, world.officer)
    with pytest.raises(agreements.AgreementError, match="decision maker or focal person"):
        agreements.issue(memorandum, world.officer)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (dt.date(2027, 1, 31), 1, dt.date(2027, 2, 28)),
        (dt.date(2028, 1, 31), 1, dt.date(2028, 2, 29)),
        (dt.date(2027, 3, 15), 24, dt.date(2029, 3, 15)),
        (dt.date(2027, 11, 30), 3, dt.date(2028, 2, 29)),
        (dt.date(2027, 12, 1), 12, dt.date(2028, 12, 1)),
    ],
)
def test_add_months(day, months, expected):
    assert agreements.add_months(day, months) == expected


# --- the subject moves on ---------------------------------------------------------------------


def test_a_signed_memorandum_activates_the_partnership_being_agreed(world, monkeypatch):
    partnership = memorandum_partnership(world.officer, "agreeing")
    memorandum = agreement_in("signed", partnership=partnership)
    monkeypatch.setattr(agreements, "local_today", lambda now=None: dt.date(2027, 5, 4))
    agreements.advance_subject(memorandum)
    db.session.commit()
    partnership = db.session.get(Partnership, partnership.id)
    assert (partnership.state, partnership.memorandum_signed_on) == ("active", dt.date(2027, 5, 4))


def test_a_signed_memorandum_records_the_date_on_a_partnership_not_yet_agreeing(world):
    partnership = memorandum_partnership(world.officer, "needs_analysed")
    memorandum = agreement_in("signed", partnership=partnership)
    agreements.advance_subject(memorandum)
    db.session.commit()
    partnership = db.session.get(Partnership, partnership.id)
    assert partnership.state == "needs_analysed"
    assert partnership.memorandum_signed_on is not None


def test_a_signed_placement_agreement_makes_the_placement_ready(world):
    placement = confirmed_placement(world)
    placement.state = "agreement_out"
    db.session.commit()
    agreement = agreement_in("signed", world=world, placement=placement)
    agreements.advance_subject(agreement)
    db.session.commit()
    assert db.session.get(Placement, placement.id).state == "ready"


def test_every_party_signing_makes_the_placement_ready_with_a_sealed_copy(world, manager):
    from crm.agreements import signing
    from crm.links import service as links

    placement = confirmed_placement(world)
    agreement = send_agreement(placement, world.officer)
    version = versions(agreement)[0]
    evidence = signing.Evidence("198.51.100.7", "Phone browser", dt.datetime.now(dt.UTC))
    for link in signing_links(agreement):
        found = links.find(links.token_for(link), lock=True)
        assert found is not None
        name = "Sven Supervisor" if link.party == "employer" else "Lena Lernend"
        signing.sign_by_link(found, name, True, evidence, document_sha256=version.sha256)
        db.session.commit()
    assert newest(placement).state == "partially_signed"
    signing.sign_in_app(
        signers(version)["provider"],
        manager,
        "Mia Manager",
        True,
        evidence,
        document_sha256=version.sha256,
    )
    db.session.commit()

    agreement = newest(placement)
    (version,) = versions(agreement)
    assert agreement.state == "signed"
    assert db.session.get(Placement, placement.id).state == "ready"
    assert version.sealed_pdf is not None
    assert version.sealed_sha256 == sha256(version.sealed_pdf)
    assert page_count(version.sealed_pdf) == version.pages + 1
    assert version.sha256 == sha256(version.pdf)  # the original is untouched
