"""Signing an agreement: by link on the signing page (the employer, the learner, a minor's
guardian) and in the app for the provider (managers and admins); declining; what is refused.

Requests go through the real link page (crm.portal.views → crm.portal.sign), with the CSRF
token and the document's hash read from the page itself, as a browser sends them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from crm.agreements import signing
from crm.agreements.models import AgreementSigner, AgreementVersion
from crm.auth.models import Role
from crm.extensions import db
from crm.links import service as links
from crm.links.models import LinkEnd
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow import service as workflow
from crm.workflow.models import WorkflowTransition
from tests.agreements.signing_support import (
    BROWSER,
    Issued,
    page_values,
    reread,
    send_agreement,
    sign,
)
from tests.factories import make_user

IP = "203.0.113.7"
SNAPSHOTS = Path(__file__).parent / "snapshots"
NOON = dt.datetime(2026, 12, 7, 11, 30, 5, tzinfo=dt.UTC)


@pytest.fixture
def issued(ctx: Any, officer: Any) -> Issued:
    """A confirmed placement whose agreement was sent: v1 issued, every party asked."""
    return send_agreement(officer)


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def field_error(html: str, field_id: str) -> str | None:
    """The error shown under a field, if any."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.S)
    return unescape(match.group(1)).strip() if match else None


def post(client: Any, path: str, **data: Any) -> Any:
    """Post the signing page's form from a phone at IP, with the page's own token and hash."""
    values = page_values(text(client.get(path)))
    values.update({key: value for key, value in data.items() if value is not None})
    for key in [key for key, value in data.items() if value is None]:
        values.pop(key, None)
    return client.post(
        path,
        data=values,
        headers={"User-Agent": BROWSER},
        environ_overrides={"REMOTE_ADDR": IP},
    )


def transitions(issued: Issued) -> list[tuple[str, str, str]]:
    """The agreement's history, oldest first: (transition, actor kind, actor label)."""
    return [
        (row.transition, row.actor_kind, row.actor_label)
        for row in db.session.scalars(
            sa.select(WorkflowTransition)
            .where(
                WorkflowTransition.record_type == "agreement",
                WorkflowTransition.record_id == issued.agreement.id,
            )
            .order_by(WorkflowTransition.id)
        )
    ]


def officer_emails(issued: Issued) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "agreement_signed_by")
            .order_by(OutboxMessage.id)
        )
    )


def evidence_of(signer: AgreementSigner) -> tuple[Any, ...]:
    return (
        signer.signed_at,
        signer.typed_name,
        signer.ip,
        signer.user_agent,
        signer.signed_sha256,
    )


def state_of(issued: Issued) -> tuple[Any, ...]:
    """Everything a signature could change, as the database has it."""
    reread(issued)
    return (
        issued.agreement.state,
        issued.agreement.lock_version,
        tuple((*evidence_of(s), s.declined_at) for s in issued.signers.values()),
        tuple((link.spent_at, link.decision) for link in issued.links.values()),
        db.session.scalar(sa.select(sa.func.count()).select_from(WorkflowTransition)),
        db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)),
    )


def sign_for_provider(issued: Issued, user: Any, typed_name: str = "Mia Manager") -> None:
    signing.sign_in_app(
        issued.signers["provider"],
        user,
        typed_name,
        True,
        signing.Evidence(ip="198.51.100.20", user_agent="Firefox/133 desk", at=NOON),
        document_sha256=issued.version.sha256,
    )
    db.session.commit()


# --- signing by link --------------------------------------------------------------------------


def test_the_page_shows_the_document_its_fingerprint_and_who_signs(issued, client):
    response = client.get(issued.path("employer"))
    assert response.status_code == 200
    page = text(response)
    sha = issued.version.sha256
    grouped = " ".join(sha[i : i + 4] for i in range(0, 64, 4))
    assert f'data-sha256="{sha}">{grouped}</code>' in page
    assert f'name="document_sha256" type="hidden" value="{sha}"' in page
    assert "Placement agreement for Lena at Werkzeugbau Kern GmbH" in page
    assert "Version 1, issued on" in page
    assert f"{issued.links['employer'].record_id}/" in page and "/document.pdf" in page
    signer = issued.signers["employer"]
    assert f'<dd id="signer-name">{signer.name}</dd>' in page
    assert "I have read the agreement and sign it electronically" in page
    assert 'id="decline-section"' in page
    # Opening the page changes nothing.
    reread(issued)
    assert issued.links["employer"].spent_at is None
    assert issued.signers["employer"].signed_at is None


def test_the_employer_signs_and_the_evidence_is_recorded(issued, client):
    with time_machine.travel(NOON, tick=False):
        response = post(
            client,
            issued.path("employer"),
            decision="sign",
            typed_name="  Sven   Supervisor ",
            consent="y",
        )
        answered = text(client.get(issued.path("employer")))
        again = text(client.get(issued.path("employer")))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(issued.path("employer"))

    reread(issued)
    employer = issued.signers["employer"]
    assert evidence_of(employer) == (NOON, "Sven Supervisor", IP, BROWSER, issued.version.sha256)
    assert employer.link_id == issued.links["employer"].id
    link = issued.links["employer"]
    assert link.spent_at == NOON and link.decision == "sign"
    assert link.decision_data == {
        "typed_name": "Sven Supervisor",
        "document_sha256": issued.version.sha256,
    }
    # The first of several signatures: partially signed, by the employer's side.
    assert issued.agreement.state == "partially_signed"
    assert transitions(issued)[-1] == ("sign_partly", "employer", employer.name)
    assert issued.signers["learner"].signed_at is None
    # The officer is told, and the page thanks the signer once.
    (email,) = officer_emails(issued)
    assert email.to_email == issued.world.officer.email
    assert email.subject == (
        f"{employer.name} signed: Placement agreement for Lena at Werkzeugbau Kern GmbH"
    )
    assert "Still to sign:" in email.body_text and "Lena Lernend (Learner)" in email.body_text
    assert "Your signature is recorded and Olga Officer has been told." in answered
    assert "You signed this agreement on 7 December 2026." in answered
    assert "Your signature is recorded" not in again


def test_every_party_signs_the_agreement_is_sealed_and_the_placement_ready(
    issued,
    client,
    manager,
):
    assert sign(client, issued.path("employer")).status_code == 303
    assert sign(client, issued.path("learner"), typed_name="Lena Lernend").status_code == 303
    reread(issued)
    assert issued.agreement.state == "partially_signed"
    assert issued.version.sealed_pdf is None

    sign_for_provider(issued, manager)

    reread(issued)
    assert issued.agreement.state == "signed"
    history = transitions(issued)
    assert [step for step, _kind, _label in history] == ["issue", "sign_partly", "sign_all"]
    assert history[-1] == ("sign_all", "user", "Mia Manager")
    provider = issued.signers["provider"]
    assert provider.user_id == manager.id
    assert evidence_of(provider) == (
        NOON,
        "Mia Manager",
        "198.51.100.20",
        "Firefox/133 desk",
        issued.version.sha256,
    )
    assert issued.version.sealed_pdf is not None
    assert issued.version.sealed_sha256 == hashlib.sha256(issued.version.sealed_pdf).hexdigest()
    assert db.session.get(Placement, issued.placement.id).state == "ready"  # type: ignore[union-attr]
    emails = officer_emails(issued)
    assert len(emails) == 3
    assert emails[-1].subject == (
        "Every party has signed: Placement agreement for Lena at Werkzeugbau Kern GmbH"
    )
    assert "The sealed copy with the evidence page is ready to download." in emails[-1].body_text


def test_the_officers_email_when_the_employer_signs(ctx, issued, client):
    issued.world.officer.timezone = "Europe/Berlin"
    db.session.commit()
    with time_machine.travel(NOON, tick=False):
        post(
            client,
            issued.path("employer"),
            decision="sign",
            typed_name="S. Supervisor",
            consent="y",
        )
    (email,) = officer_emails(issued)
    body = email.body_text.replace(f"/agreements/{issued.agreement.id}", "/agreements/ID")
    body = body.replace(ctx.config["CRM_BASE_URL"], "BASE")
    # Berlin time (UTC+1), the officer's zone; the typed name as typed.
    snapshot = (SNAPSHOTS / "agreement_signed_by.en.txt").read_text(encoding="utf-8")
    assert body.rstrip("\n") == snapshot.rstrip("\n")
    assert email.language == "en" and email.to_name == "Olga Officer"


def test_a_minors_guardian_signs_on_the_learners_side(ctx, officer, client):
    issued = send_agreement(officer, minor=True)
    assert set(issued.signers) == {"provider", "employer", "learner", "guardian"}
    assert issued.links["guardian"].recipient_email == "greta@family.test"
    assert sign(client, issued.path("guardian"), typed_name="Greta Guardian").status_code == 303
    reread(issued)
    assert issued.signers["guardian"].typed_name == "Greta Guardian"
    assert transitions(issued)[-1] == ("sign_partly", "learner", "Greta Guardian")


# --- what a signature needs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"typed_name": "", "consent": "y"}, "typed_name", "Type your full name to sign."),
        ({"typed_name": "   ", "consent": "y"}, "typed_name", "Type your full name to sign."),
        (
            {"typed_name": "Sven Supervisor", "consent": None},
            "consent",
            "Tick the box to confirm that you have read the agreement and sign it.",
        ),
        (
            {"typed_name": "x" * 201, "consent": "y"},
            "typed_name",
            "Field cannot be longer than 200 characters.",
        ),
    ],
    ids=["no name", "blank name", "no consent", "long name"],
)
def test_a_signature_needs_the_typed_name_and_the_consent(issued, client, data, field, message):
    before = state_of(issued)
    response = post(client, issued.path("employer"), decision="sign", **data)
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, field) == message
    assert "Your answer was not sent yet" in page
    assert state_of(issued) == before


def test_a_signature_of_another_documents_hash_is_refused(issued, client):
    before = state_of(issued)
    other = hashlib.sha256(b"another document").hexdigest()
    response = post(
        client,
        issued.path("employer"),
        decision="sign",
        typed_name="Sven Supervisor",
        consent="y",
        document_sha256=other,
    )
    assert response.status_code == 400
    assert "The agreement changed after the page was opened." in text(response)
    assert state_of(issued) == before
    # The page now carries the current version's hash, and what was typed.
    assert page_values(text(response))["document_sha256"] == issued.version.sha256
    assert 'value="Sven Supervisor"' in text(response)


def test_an_unknown_decision_is_refused(issued, client):
    before = state_of(issued)
    response = post(client, issued.path("employer"), decision="approve")
    assert response.status_code == 400
    assert "Choose to sign or to decline." in text(response)
    assert state_of(issued) == before


def test_the_service_refuses_what_the_form_would_not_send(issued):
    link = issued.links["employer"]
    evidence = signing.Evidence(ip=IP, user_agent=BROWSER, at=NOON)
    cases = [
        ("", True, issued.version.sha256, "typed_name"),
        ("Sven", False, issued.version.sha256, "consent"),
        ("Sven", True, "0" * 64, "document_sha256"),
    ]
    for typed_name, consent, sha, field in cases:
        with pytest.raises(signing.SigningError) as refused:
            signing.sign_by_link(link, typed_name, consent, evidence, document_sha256=sha)
        assert refused.value.field == field
    db.session.rollback()
    assert state_of(issued)[3][0] == (None, "")


# --- replay, supersede -----------------------------------------------------------------------


def test_a_replayed_signature_shows_the_answer_and_changes_nothing(issued, client, make_client):
    path = issued.path("employer")
    values = page_values(text(client.get(path)))
    form = {**values, "decision": "sign", "typed_name": "Sven Supervisor", "consent": "y"}
    assert client.post(path, data=form).status_code == 303
    before = state_of(issued)
    assert before[0] == "partially_signed"

    again = client.post(path, data=form)
    declined = client.post(path, data={**values, "decision": "decline", "reason": "No."})
    other_browser = make_client().get(path)
    for response in (again, declined, other_browser):
        assert response.status_code == 200
        assert "You signed this agreement on" in text(response)
        assert 'id="sign-form"' not in text(response)
    assert state_of(issued) == before


def test_a_superseded_versions_link_cannot_sign(issued, client, officer):
    old_link, old_path = issued.links["employer"], issued.path("employer")
    old_version = issued.version
    old_values = page_values(text(client.get(old_path)))

    workflow.fire(issued.agreement, "reissue", user=officer, comment="Hours corrected.")
    db.session.commit()
    reread(issued)
    assert issued.version.number == 2
    assert db.session.get(AgreementVersion, old_version.id).superseded_at is not None  # type: ignore[union-attr]
    db.session.refresh(old_link)
    assert old_link.end_reason == LinkEnd.SUPERSEDED
    before = state_of(issued)

    page = client.get(old_path)
    assert page.status_code == 410
    assert "This link no longer works" in text(page)
    posted = client.post(
        old_path,
        data={**old_values, "decision": "sign", "typed_name": "Sven Supervisor", "consent": "y"},
    )
    assert posted.status_code == 410
    assert client.get(f"{old_path}/document.pdf").status_code == 410
    assert state_of(issued) == before
    assert all(s.signed_at is None for s in issued.signers.values())

    # The service refuses it too, even if the page were bypassed.
    with pytest.raises(signing.SigningError, match="newer version"):
        signing.sign_by_link(
            old_link,
            "Sven Supervisor",
            True,
            signing.Evidence(ip=IP, user_agent=BROWSER, at=NOON),
            document_sha256=old_version.sha256,
        )
    db.session.rollback()

    # The new link signs the new version, and its PDF is version 2's.
    new_path = issued.path("employer")
    assert new_path != old_path
    assert "Version 2, issued on" in text(client.get(new_path))
    document = client.get(f"{new_path}/document.pdf")
    assert document.data == issued.version.pdf
    assert sign(client, new_path).status_code == 303
    reread(issued)
    assert issued.signers["employer"].signed_sha256 == issued.version.sha256 != old_version.sha256


def test_signatures_of_a_superseded_version_no_longer_count(issued, client, officer, manager):
    assert sign(client, issued.path("employer")).status_code == 303
    assert sign(client, issued.path("learner"), typed_name="Lena Lernend").status_code == 303
    reread(issued)
    workflow.fire(issued.agreement, "reissue", user=officer, comment="Dates changed.")
    db.session.commit()
    reread(issued)
    assert issued.version.number == 2
    assert all(s.signed_at is None for s in issued.signers.values())

    sign_for_provider(issued, manager)
    reread(issued)
    # Only the provider has signed version 2: the agreement is not signed.
    assert issued.agreement.state == "partially_signed"
    assert issued.version.sealed_pdf is None


# --- declining --------------------------------------------------------------------------------


def test_the_employer_declines_with_a_reason(issued, client):
    reason = "Clause 4 on insurance must name our insurer.\n<b>Please</b> call me."
    with time_machine.travel(NOON, tick=False):
        response = post(client, issued.path("employer"), decision="decline", reason=reason)
    assert response.status_code == 303
    reread(issued)
    employer = issued.signers["employer"]
    assert issued.agreement.state == "declined"
    assert issued.agreement.decline_reason == reason
    assert (employer.declined_at, employer.decline_reason, employer.ip) == (NOON, reason, IP)
    assert employer.signed_at is None
    assert transitions(issued)[-1] == ("decline", "employer", employer.name)
    # The learner's link no longer decides anything.
    learner_link = issued.links["learner"]
    assert learner_link.end_reason == LinkEnd.CLOSED
    assert client.get(issued.path("learner")).status_code == 410
    # The officer reads the reason as typed.
    (email,) = officer_emails(issued)
    assert email.subject.startswith(f"{employer.name} declined to sign:")
    assert reason in email.body_text
    assert "&lt;b&gt;Please&lt;/b&gt;" in email.body_html
    assert "You declined to sign this agreement on 7 December 2026." in text(
        client.get(issued.path("employer"))
    )


def test_declining_needs_a_reason(issued, client):
    before = state_of(issued)
    response = post(client, issued.path("employer"), decision="decline", reason="  ")
    assert response.status_code == 400
    page = text(response)
    assert field_error(page, "reason") == "Tell us why you decline to sign."
    assert 'id="decline-section" open' in page
    assert state_of(issued) == before


# --- the provider in the app ------------------------------------------------------------------


def test_only_managers_and_admins_sign_for_the_provider(issued, officer, admin):
    evidence = signing.Evidence(ip=IP, user_agent=BROWSER, at=NOON)
    provider = issued.signers["provider"]
    with pytest.raises(signing.SigningError, match="Only managers and administrators"):
        signing.sign_in_app(
            provider,
            officer,
            "Olga Officer",
            True,
            evidence,
            document_sha256=issued.version.sha256,
        )
    with pytest.raises(signing.SigningError, match="provider's signature"):
        signing.sign_in_app(
            issued.signers["employer"],
            admin,
            "Ada Admin",
            True,
            evidence,
            document_sha256=issued.version.sha256,
        )
    db.session.rollback()
    signing.sign_in_app(
        provider, admin, "Ada Admin", True, evidence, document_sha256=issued.version.sha256
    )
    db.session.commit()
    reread(issued)
    assert issued.signers["provider"].user_id == admin.id
    assert issued.agreement.state == "partially_signed"
    assert transitions(issued)[-1] == ("sign_partly", "user", "Ada Admin")
    # Twice is refused, and changes nothing.
    with pytest.raises(signing.SigningError, match="already been signed by Ada Admin"):
        signing.sign_in_app(
            issued.signers["provider"],
            make_user(Role.MANAGER),
            "Max",
            True,
            evidence,
            document_sha256=issued.version.sha256,
        )


def test_the_provider_cannot_sign_a_version_that_was_replaced_meanwhile(issued, officer, manager):
    shown = issued.version.sha256
    provider = issued.signers["provider"]
    workflow.fire(issued.agreement, "reissue", user=officer, comment="Role described better.")
    db.session.commit()
    with pytest.raises(signing.SigningError, match="newer version"):
        signing.sign_in_app(
            provider,
            manager,
            "Mia Manager",
            True,
            signing.Evidence(ip=IP, user_agent=BROWSER, at=NOON),
            document_sha256=shown,
        )
    db.session.rollback()
    reread(issued)
    new_provider = issued.signers["provider"]
    with pytest.raises(signing.SigningError, match="changed after the page was opened"):
        signing.sign_in_app(
            new_provider,
            manager,
            "Mia Manager",
            True,
            signing.Evidence(ip=IP, user_agent=BROWSER, at=NOON),
            document_sha256=shown,
        )


# --- the document -----------------------------------------------------------------------------


def test_the_link_holder_gets_the_pdf_while_the_link_is_open_or_spent(issued, client, officer):
    path = issued.document_path("employer")
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data == issued.version.pdf
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="agreement-{issued.agreement.id}-v1.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert client.head(path).status_code == 200
    assert client.post(path).status_code in (404, 405)  # no form posts here

    assert sign(client, issued.path("employer")).status_code == 303
    assert client.get(path).data == issued.version.pdf  # spent: still theirs to read

    # Another record's id, a tampered token, a withdrawn link: the plain page.
    token = links.token_for(issued.links["learner"])
    tampered = ("B" if token[0] == "A" else "A") + token[1:]
    assert client.get(f"/l/sign/{issued.agreement.id + 1}/{token}/document.pdf").status_code == 410
    assert client.get(f"/l/sign/{issued.agreement.id}/{tampered}/document.pdf").status_code == 410
    links.withdraw(issued.links["learner"], officer)
    db.session.commit()
    assert client.get(issued.document_path("learner")).status_code == 410
    # A confirmation link's token gets nothing here.
    assert client.get(f"/l/sign/{issued.placement.id}/{token}/document.pdf").status_code == 410


def test_opening_the_pdf_changes_nothing(issued, client):
    before = state_of(issued)
    for _ in range(2):
        assert client.get(issued.document_path("learner")).status_code == 200
    assert state_of(issued) == before


# --- links: the e-mails, reminders, expiry, fresh links ---------------------------------------


def link_emails(issued: Issued) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.kind == "link_sign_agreement")
            .order_by(OutboxMessage.id)
        )
    )


def test_each_party_is_sent_a_signing_link_in_its_own_words(ctx, issued):
    emails = {email.to_email: email for email in link_emails(issued)}
    employer = emails[issued.signers["employer"].email]
    learner = emails["lena@learners.test"]
    assert employer.subject == "Please sign the placement agreement for Lena"
    assert learner.subject == "Please sign your placement agreement"
    assert set(emails) == {issued.signers["employer"].email, "lena@learners.test"}
    from crm.outbox.service import render_bodies

    body, html = render_bodies(
        employer.kind,
        employer.language,
        employer.to_name,
        employer.subject,
        employer.template_values or {},
        reveal_secrets=True,
    )
    assert "Hello Sven Supervisor," in body
    assert (
        "Olga Officer sends you the placement agreement for Lena at Werkzeugbau Kern GmbH "
        "(version 1) to sign for Werkzeugbau Kern GmbH." in body
    )
    base = ctx.config["CRM_BASE_URL"]
    assert f"{base}{issued.path('employer')}" in body
    assert f'href="{base}{issued.path("employer")}"' in html
    # The stored e-mail never holds the token.
    token = links.token_for(issued.links["employer"])
    assert token not in (employer.body_text + employer.body_html + str(employer.template_values))
    learner_body, _html = render_bodies(
        learner.kind,
        learner.language,
        learner.to_name,
        learner.subject,
        learner.template_values or {},
        reveal_secrets=True,
    )
    assert "sends you your placement agreement with Werkzeugbau Kern GmbH" in learner_body


def test_reminders_go_out_and_an_expired_link_gives_the_officer_a_follow_up(issued, client):
    from crm.followups.models import FollowUp, FollowUpStatus
    from crm.links.jobs import handle_expired_links, send_link_reminders

    sent_at = issued.links["employer"].created_at
    run = send_link_reminders(now=sent_at + dt.timedelta(days=3, minutes=1))
    assert run.handled == 2
    reminders = [e for e in link_emails(issued) if e.subject.startswith("Reminder:")]
    assert sorted(e.subject for e in reminders) == [
        "Reminder: please sign the placement agreement for Lena",
        "Reminder: please sign your placement agreement",
    ]
    # The learner signs; the employer lets the link expire.
    assert sign(client, issued.path("learner"), typed_name="Lena Lernend").status_code == 303
    expired = issued.links["employer"].expires_at + dt.timedelta(minutes=1)
    run = handle_expired_links(now=expired)
    assert run.handled == 1
    (follow_up,) = db.session.scalars(
        sa.select(FollowUp).where(FollowUp.record_type == "agreement")
    )
    assert follow_up.created_by_rule == "agreement.link_expired"
    assert follow_up.assignee_id == issued.world.officer.id
    assert follow_up.subject == "A signing link of the agreement expired unsigned: call the signer"
    # The officer sends a new link; the employer signs with it: the follow-up is done.
    reread(issued)
    with time_machine.travel(expired + dt.timedelta(hours=1), tick=False):
        new_link = signing.invite(issued.signers["employer"], acting=issued.world.officer)
        db.session.commit()
        assert new_link is not None
        reread(issued)
        assert issued.links["employer"] == new_link
        response = sign(client, issued.path("employer"))
    assert response.status_code == 303
    db.session.refresh(follow_up)
    assert follow_up.status == FollowUpStatus.DONE


def test_an_expired_signing_link_brings_a_fresh_one_to_the_same_signer(issued, client):
    old = issued.links["learner"]
    with time_machine.travel(old.expires_at + dt.timedelta(minutes=5), tick=False):
        page = client.get(issued.path("learner"))
        assert page.status_code == 410
        token = re.search(r'name="csrf_token" value="([^"]+)"', text(page))
        assert token
        response = client.post(
            f"{issued.path('learner')}/fresh", data={"csrf_token": token.group(1)}
        )
        assert response.status_code == 200
    reread(issued)
    fresh = issued.links["learner"]
    assert fresh.id != old.id
    assert (fresh.party, fresh.recipient_email) == ("learner", "lena@learners.test")
    assert fresh.fingerprint == issued.version.sha256
    assert signing.signer_link(issued.signers["learner"]) == fresh
    # The employer's link was left alone.
    assert issued.links["employer"].ended_at is None
    assert sign(client, issued.path("learner"), typed_name="Lena Lernend").status_code == 303


# --- hostile text -----------------------------------------------------------------------------


def test_markup_in_names_and_typed_text_is_shown_as_text(issued, client):
    organisation = issued.world.organisation
    organisation.trading_name = "<script>alert(1)</script> Kern"
    db.session.commit()
    page = text(client.get(issued.path("employer")))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Kern" in page

    typed = '"><img src=x onerror=alert(2)>'
    assert sign(client, issued.path("employer"), typed_name=typed).status_code == 303
    reread(issued)
    assert issued.signers["employer"].typed_name == typed
    (email,) = officer_emails(issued)
    assert typed in email.body_text
    assert "<img src=x" not in email.body_html and "<script>" not in email.body_html
    assert "&lt;img src=x onerror=alert(2)&gt;" in email.body_html


def test_markup_in_the_organisations_name_is_escaped_in_the_signing_email(issued):
    from crm.agreements.links import get_agreement
    from crm.outbox.service import render_bodies

    issued.world.organisation.trading_name = '<a href="https://evil.test">Kern</a>'
    db.session.commit()
    links.send_email(issued.links["employer"], get_agreement(issued.agreement.id), reminder=True)
    db.session.commit()
    reminder = link_emails(issued)[-1]
    assert reminder.subject == "Reminder: please sign the placement agreement for Lena"
    body, html = render_bodies(
        reminder.kind,
        reminder.language,
        reminder.to_name,
        reminder.subject,
        reminder.template_values or {},
        reveal_secrets=True,
    )
    assert '<a href="https://evil.test">Kern</a>' in body  # plain text: as typed
    assert 'evil.test">' not in html
    assert "&lt;a href=&#34;https://evil.test&#34;&gt;Kern&lt;/a&gt;" in html
    assert "We have not yet received your signature on this agreement." in body
