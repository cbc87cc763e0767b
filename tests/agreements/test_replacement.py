"""Replacing an agreement with another ("Replace with another agreement", the `supersede`
step): a placement that relies on its agreement gets the replacement issued at once, a
memorandum being agreed gets a draft with the same terms, anything else is only superseded;
and an agreement superseded without a replacement (before this was done) can still get one.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.agreements import replacement as replacing
from crm.agreements import service as agreements
from crm.agreements import signing
from crm.agreements.models import Agreement, AgreementKind
from crm.extensions import db
from crm.links import service as links
from crm.links.models import LinkEnd
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow import service as workflow
from tests.agreements.support import (
    confirmed_placement,
    memorandum_partnership,
    newest,
    pdf_text,
    send_agreement,
    signers,
    signing_links,
    versions,
)
from tests.core.helpers import flashes, section, text

SPECIAL = "Safety boots are provided by the employer."


@pytest.fixture
def out(world) -> Agreement:
    """A placement whose agreement is out for signature, with a special condition and in
    German (as the officer set them)."""
    agreement = send_agreement(confirmed_placement(world), world.officer)
    agreements.update_terms(
        agreement,
        agreements.TermsValues("de", {**agreement.terms, "special_conditions": SPECIAL}),
        world.officer,
    )
    db.session.commit()
    return agreement


def placement_of(agreement: Agreement) -> Placement:
    placement = db.session.get(Placement, agreement.placement_id)
    assert placement is not None
    return placement


def sign_everything(agreement: Agreement, manager) -> None:
    """Every party signs the agreement's current version (links, then the provider)."""
    version = versions(agreement)[-1]
    evidence = signing.Evidence("198.51.100.7", "Phone browser", dt.datetime.now(dt.UTC))
    for link in signing_links(agreement):
        if link.fingerprint != version.sha256:
            continue
        found = links.find(links.token_for(link), lock=True)
        assert found is not None
        name = "Sven Supervisor" if link.party == "employer" else "Lena Lernend"
        signing.sign_by_link(found, name, True, evidence, document_sha256=version.sha256)
        db.session.commit()
    signing.sign_in_app(
        signers(version)["provider"],
        manager,
        "Mia Manager",
        True,
        evidence,
        document_sha256=version.sha256,
    )
    db.session.commit()


def sign_emails(agreement: Agreement) -> list[str]:
    return sorted(
        db.session.scalars(
            sa.select(OutboxMessage.to_email).where(
                OutboxMessage.kind == "link_sign_agreement",
                OutboxMessage.record_id == agreement.id,
            )
        )
    )


# --- the service ----------------------------------------------------------------------------------


def test_replacing_a_placements_agreement_out_issues_the_replacement_at_once(world, out, manager):
    placement = placement_of(out)
    assert replacing.replacement_for(out) == replacing.Replacement.ISSUE
    old_links = signing_links(out)

    new = replacing.supersede(out, world.officer, comment="Wrong supervisor named.")
    db.session.commit()

    assert new is not None and new.id != out.id
    db.session.refresh(out)
    assert out.state == "superseded"
    assert {link.end_reason for link in signing_links(out)} == {LinkEnd.CLOSED}
    assert {link.id for link in signing_links(out)} == {link.id for link in old_links}
    # The replacement: the same placement, version 1 issued, every party asked by link.
    assert (new.placement_id, new.kind, new.state, new.current_number) == (
        placement.id,
        AgreementKind.PLACEMENT,
        "issued",
        1,
    )
    assert newest(placement).id == new.id
    (version,) = versions(new)
    assert list(signers(version)) == ["provider", "employer", "learner"]
    assert sorted(link.party for link in signing_links(new)) == ["employer", "learner"]
    assert {link.fingerprint for link in signing_links(new)} == {version.sha256}
    assert sign_emails(new) == sorted(["sven@kern.test", world.learner.email])
    # It says what the replaced agreement said, in its language.
    assert (new.language, new.terms["special_conditions"]) == ("de", SPECIAL)
    assert (version.language, version.values["language"]) == ("de", "de")
    assert SPECIAL in pdf_text(version.pdf)
    assert replacing.replaced_by(out) == new
    assert replacing.replacement_for(out) == replacing.Replacement.NONE
    # The placement still waits for it, and moves on once everyone has signed it.
    assert db.session.get(Placement, placement.id).state == "agreement_out"
    sign_everything(new, manager)
    db.session.refresh(new)
    assert new.state == "signed"
    assert db.session.get(Placement, placement.id).state == "ready"


@pytest.mark.parametrize("stage", ["ready", "in_progress"])
def test_a_signed_agreement_replaced_while_the_placement_relies_on_it_is_issued_anew(
    world, out, manager, stage
):
    sign_everything(out, manager)
    placement = placement_of(out)
    assert placement.state == "ready"
    placement.state = stage
    db.session.commit()

    new = replacing.supersede(out, manager, comment="Dates extended.")
    db.session.commit()

    assert new is not None and new.state == "issued"
    assert db.session.get(Placement, placement.id).state == stage


@pytest.mark.parametrize("stage", ["confirmed", "postponed", "completed", "cancelled"])
def test_a_placement_that_does_not_rely_on_its_agreement_gets_no_replacement(world, out, stage):
    placement = placement_of(out)
    placement.state = stage
    db.session.commit()
    assert replacing.replacement_for(out) == replacing.Replacement.NONE

    assert replacing.supersede(out, world.officer) is None
    db.session.commit()

    assert [a.id for a in agreements.agreements_of_placement(placement.id)] == [out.id]
    assert out.state == "superseded"


def test_a_replacement_that_cannot_be_issued_leaves_the_agreement_as_it_was(world, out):
    world.learner.email = ""
    db.session.commit()
    with pytest.raises(workflow.TransitionBlocked) as refused:
        replacing.supersede(out, world.officer)
    db.session.rollback()
    assert refused.value.reasons == [
        "Record the learner's e-mail address: Lena Lernend signs by link."
    ]
    db.session.refresh(out)
    assert out.state == "issued"
    assert [a.id for a in agreements.agreements_of_placement(out.placement_id)] == [out.id]
    assert all(link.ended_at is None for link in signing_links(out))


def test_sending_the_agreement_again_supersedes_the_old_one_without_a_second_replacement(world):
    placement = confirmed_placement(world)
    first = send_agreement(placement, world.officer)
    placement.state = "confirmed"  # postponed, resumed and confirmed again
    db.session.commit()
    second = send_agreement(placement, world.officer)
    db.session.refresh(first)
    assert (first.state, second.state) == ("superseded", "issued")
    assert len(agreements.agreements_of_placement(placement.id)) == 2


def test_an_agreement_superseded_without_a_replacement_can_still_get_one(world, out):
    # Superseded as before replacements were made: the placement is left waiting.
    workflow.fire(out, "supersede", user=world.officer)
    db.session.commit()
    placement = placement_of(out)
    assert placement.state == "agreement_out"
    assert replacing.replacement_for(out) == replacing.Replacement.ISSUE

    new = replacing.replace(out, world.officer)
    db.session.commit()
    assert new is not None and new.state == "issued"
    assert (new.language, new.terms["special_conditions"]) == ("de", SPECIAL)
    # Once replaced, no second replacement.
    assert replacing.replace(out, world.officer) is None
    assert len(agreements.agreements_of_placement(placement.id)) == 2


def test_only_a_superseded_agreement_is_replaced(world, out):
    with pytest.raises(agreements.AgreementError):
        replacing.replace(out, world.officer)


def test_replacing_a_memorandum_being_agreed_prepares_a_draft_with_its_terms(world):
    partnership = memorandum_partnership(world.officer, "agreeing")
    memorandum, _created = agreements.prepare_memorandum(partnership, world.officer)
    agreements.update_terms(
        memorandum,
        agreements.TermsValues("de", {**memorandum.terms, "scope": "Welding apprenticeships."}),
        world.officer,
    )
    agreements.issue(memorandum, world.officer)
    db.session.commit()
    assert replacing.replacement_for(memorandum) == replacing.Replacement.PREPARE

    new = replacing.supersede(memorandum, world.officer)
    db.session.commit()

    assert new is not None
    assert (new.kind, new.partnership_id, new.state, new.current_number) == (
        AgreementKind.PARTNERSHIP,
        partnership.id,
        "draft",
        0,
    )
    assert (new.language, new.terms["scope"]) == ("de", "Welding apprenticeships.")
    assert versions(new) == []
    assert {link.end_reason for link in signing_links(memorandum)} == {LinkEnd.CLOSED}
    # The partnership page now offers nothing else to prepare: the draft is the open one.
    again, created = agreements.prepare_memorandum(partnership, world.officer)
    assert (again.id, created) == (new.id, False)


def test_a_memorandum_of_an_active_partnership_is_only_superseded(world):
    partnership = memorandum_partnership(world.officer, "active")
    memorandum = agreements.create_for_partnership(partnership, None)
    memorandum.state = "signed"
    db.session.commit()
    assert replacing.supersede(memorandum, world.officer) is None
    db.session.commit()
    assert [m.id for m in agreements.agreements_of_partnership(partnership.id)] == [memorandum.id]


# --- the pages ------------------------------------------------------------------------------------


def supersede_form(agreement: Agreement, comment: str = "") -> dict[str, str]:
    return {
        "transition": "supersede",
        "version": str(agreement.lock_version),
        "comment": comment,
    }


def test_the_page_says_what_replacing_does_and_the_officer_lands_on_the_replacement(
    login_as, world, out
):
    client = login_as(world.officer)
    html = text(client.get(f"/agreements/{out.id}"))
    assert "issues a new agreement for the placement at once" in section(
        html, "replacement-note", "p"
    )

    response = client.post_form(f"/agreements/{out.id}/fire", supersede_form(out, "Typo."))
    assert response.status_code == 302
    new = newest(placement_of(out))
    assert new.id != out.id
    assert response.location.endswith(f"/agreements/{new.id}")
    html = text(client.get(response.location))
    assert flashes(html) == [
        "Agreement replaced. The new agreement was issued for signature: every party has "
        "been sent a link to sign it."
    ]
    assert 'id="signers"' in html and "Signatures of version 1" in html

    # The replaced one says what replaced it, and offers nothing more.
    html = text(client.get(f"/agreements/{out.id}"))
    card = section(html, "replacement", "section")
    assert f'href="/agreements/{new.id}"' in card
    assert 'id="replace-form"' not in html
    # The placement page lists both, the live one first, and does not call for another.
    html = text(client.get(f"/placements/{out.placement_id}"))
    panel = section(html, "agreements", "section")
    assert panel.index(f"/agreements/{new.id}") < panel.index(f"/agreements/{out.id}")
    assert 'id="no-live-agreement"' not in panel


def test_a_refused_replacement_says_why_and_changes_nothing(login_as, world, out):
    world.learner.email = ""
    db.session.commit()
    client = login_as(world.officer)
    response = client.post_form(f"/agreements/{out.id}/fire", supersede_form(out))
    assert response.location.endswith(f"/agreements/{out.id}")
    assert flashes(text(client.get(response.location))) == [
        "Record the learner's e-mail address: Lena Lernend signs by link."
    ]
    db.session.refresh(out)
    assert out.state == "issued"


def test_a_placement_not_relying_on_its_agreement_is_told_no_new_one_was_sent(login_as, world, out):
    placement = placement_of(out)
    placement.state = "postponed"
    db.session.commit()
    client = login_as(world.officer)
    assert 'id="replacement-note"' not in text(client.get(f"/agreements/{out.id}"))
    response = client.post_form(f"/agreements/{out.id}/fire", supersede_form(out))
    assert response.location.endswith(f"/agreements/{out.id}")
    html = text(client.get(response.location))
    assert flashes(html) == [
        "Moved to Superseded.",
        "No new agreement was sent: the placement is Postponed.",
    ]
    assert "No other agreement replaced it." in section(html, "replacement", "section")


def test_a_placement_left_without_an_agreement_points_to_issuing_one(
    login_as, world, out, make_client
):
    workflow.fire(out, "supersede", user=world.officer)  # as before replacements were made
    db.session.commit()
    client = login_as(world.officer)
    panel = section(text(client.get(f"/placements/{out.placement_id}")), "agreements", "section")
    assert f'href="/agreements/{out.id}#replacement"' in section(panel, "no-live-agreement", "p")

    html = text(client.get(f"/agreements/{out.id}"))
    card = section(html, "replacement", "section")
    assert "The placement is Agreement out and no other agreement is live for it." in card
    assert 'id="replace-form"' in card

    # Someone who may not change the agreement is refused.
    from crm.auth.models import Role
    from tests.factories import make_user

    colleague = make_user(Role.OFFICER, name="Colin Colleague")
    assert 'id="replace-form"' not in text(login_as(colleague).get(f"/agreements/{out.id}"))
    assert login_as(colleague).post_form(f"/agreements/{out.id}/replacement").status_code == 404

    response = client.post_form(f"/agreements/{out.id}/replacement")
    new = newest(placement_of(out))
    assert new.id != out.id and new.state == "issued"
    assert response.location.endswith(f"/agreements/{new.id}")
    assert flashes(text(client.get(response.location)))[0].startswith("Agreement replaced.")
    panel = section(text(client.get(f"/placements/{out.placement_id}")), "agreements", "section")
    assert 'id="no-live-agreement"' not in panel
    # A second post (another tab) makes no second replacement.
    html = text(client.get(client.post_form(f"/agreements/{out.id}/replacement").location))
    assert flashes(html) == [
        "No replacement is due: another agreement is live, or none is needed now."
    ]
    assert len(agreements.agreements_of_placement(out.placement_id)) == 2


def test_replacing_a_memorandum_on_its_page_opens_the_new_draft(login_as, world):
    partnership = memorandum_partnership(world.officer, "agreeing")
    memorandum, _created = agreements.prepare_memorandum(partnership, world.officer)
    agreements.issue(memorandum, world.officer)
    db.session.commit()
    client = login_as(world.officer)
    html = text(client.get(f"/agreements/{memorandum.id}"))
    assert "prepares a new memorandum with these terms" in section(html, "replacement-note", "p")

    response = client.post_form(f"/agreements/{memorandum.id}/fire", supersede_form(memorandum))
    (new, _old) = agreements.agreements_of_partnership(partnership.id)
    assert response.location.endswith(f"/agreements/{new.id}")
    html = text(client.get(response.location))
    assert flashes(html) == [
        "Memorandum replaced. The new one was prepared with the same terms: check them, then "
        "issue it for signature."
    ]
    assert 'id="terms-form"' in html
