"""The agreement page: who sees and does what, the terms form, the provider's signature, the
downloads, and the panels on the placement and partnership pages."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.agreements.models import AgreementVersion
from crm.auth.models import Role
from crm.extensions import db
from crm.placements.models import Placement
from tests.agreements.support import (
    agreement_in,
    confirmed_placement,
    memorandum_partnership,
    send_agreement,
    signers,
    versions,
)
from tests.core.helpers import field_error, flashes, form_field, section, text
from tests.factories import make_user
from tests.partnerships.pages import next_steps

LIST_CLAUSES = "provider_duties"


@pytest.fixture
def colleague(ctx):
    """Another placement officer: reads every agreement, changes none of another's."""
    return make_user(Role.OFFICER, name="Colin Colleague")


@pytest.fixture
def issued(world):
    """A placement agreement issued for signature (version 1)."""
    return send_agreement(confirmed_placement(world), world.officer)


def page(client, agreement) -> str:
    response = client.get(f"/agreements/{agreement.id}")
    assert response.status_code == 200, text(response)[:1000]
    return text(response)


def follow(client, response) -> str:
    assert response.status_code == 302, text(response)[:1000]
    return text(client.get(response.location))


def terms_data(agreement, **changes) -> dict[str, str]:
    """The terms form as the page fills it, with some fields changed."""
    data = {
        "language": agreement.language,
        "version": str(agreement.lock_version),
    }
    for key, value in agreement.terms.items():
        data[key] = "\n".join(value) if isinstance(value, list) else str(value)
    data.update(changes)
    return data


# --- who sees what --------------------------------------------------------------------------------


def test_the_officer_sees_stage_signers_versions_and_terms(login_as, world, issued):
    html = page(login_as(world.officer), issued)
    assert "Placement agreement" in html
    assert "Lena Lernend" in html and "Werkzeugbau Kern GmbH" in html
    signers_html = section(html, "signers", "section")
    assert re.findall(r'data-party="(\w+)" data-status="(\w+)"', signers_html) == [
        ("provider", "awaited"),
        ("employer", "awaited"),
        ("learner", "awaited"),
    ]
    assert "sven@kern.test" in signers_html  # editors see the addresses
    assert signers_html.count("Send a new signing link") == 2  # not for the provider
    version = versions(issued)[0]
    assert f'title="{version.sha256}"' in html
    assert f"/agreements/{issued.id}/versions/1.pdf" in html
    assert 'id="terms-form"' in html
    assert "is issued and stays as it is" in html
    # Signing is for the parties' pages and the provider's form, not the workflow panel.
    steps = next_steps(html)
    assert "sign_all" not in steps and "sign_partly" not in steps
    assert {"reissue", "decline"} <= set(steps)
    # Officers do not sign for the provider.
    assert 'id="sign-form"' not in html


def test_another_officer_reads_but_changes_nothing(login_as, world, issued, colleague):
    client = login_as(colleague)
    html = page(client, issued)
    assert 'id="terms-form"' not in html
    assert "Send a new signing link" not in html
    assert "sven@kern.test" not in html
    assert all(s.reasons == ["You are not allowed to do this."] for s in next_steps(html).values())
    # ... downloads, as they may read the placement
    assert client.get(f"/agreements/{issued.id}/versions/1.pdf").status_code == 200
    # ... and every change is refused as if the page did not exist.
    assert client.post_form(f"/agreements/{issued.id}/terms", terms_data(issued)).status_code == 404
    signer = signers(versions(issued)[0])["employer"]
    invite = f"/agreements/{issued.id}/signers/{signer.id}/invite"
    assert client.post_form(invite).status_code == 404
    sign = client.post_form(
        f"/agreements/{issued.id}/sign",
        {"typed_name": "Colin", "consent": "y", "document_sha256": issued.document_sha256},
    )
    assert sign.status_code == 404
    assert signers(versions(issued)[0])["provider"].signed_at is None


def test_a_stranger_is_sent_to_the_login(client, issued):
    for url in (
        f"/agreements/{issued.id}",
        f"/agreements/{issued.id}/versions/1.pdf",
        "/agreements/",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location


def test_an_unknown_agreement_is_not_found(login_as, manager):
    assert login_as(manager).get("/agreements/999999").status_code == 404


# --- downloads --------------------------------------------------------------------------------


def test_a_version_downloads_as_an_attachment_nobody_caches(login_as, world, issued):
    response = login_as(world.officer).get(f"/agreements/{issued.id}/versions/1.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="placement-agreement-{issued.id}-v1.pdf"'
    )
    assert response.headers["Cache-Control"] == "no-store"
    assert response.data == versions(issued)[0].pdf


def test_a_missing_version_or_sealed_copy_is_not_found(login_as, world, issued):
    client = login_as(world.officer)
    assert client.get(f"/agreements/{issued.id}/versions/2.pdf").status_code == 404
    assert client.get(f"/agreements/{issued.id}/versions/1/sealed.pdf").status_code == 404


def test_a_superseded_version_stays_downloadable_and_marked(login_as, world, issued):
    client = login_as(world.officer)
    old = versions(issued)[0].pdf
    response = client.post_form(
        f"/agreements/{issued.id}/fire",
        {"transition": "reissue", "version": str(issued.lock_version), "comment": "New hours."},
    )
    html = follow(client, response)
    assert flashes(html) == ["Moved to Issued."]
    rows = re.findall(r'<tr class="version" data-number="(\d)">(.*?)</tr>', html, re.S)
    assert [(n, "superseded" in row) for n, row in rows] == [("2", False), ("1", True)]
    assert client.get(f"/agreements/{issued.id}/versions/1.pdf").data == old
    assert client.get(f"/agreements/{issued.id}/versions/2.pdf").data == versions(issued)[1].pdf


# --- the workflow panel -----------------------------------------------------------------------


def test_nobody_marks_an_agreement_signed_from_the_panel(login_as, manager, issued):
    client = login_as(manager)
    response = client.post_form(
        f"/agreements/{issued.id}/fire",
        {"transition": "sign_all", "version": str(issued.lock_version)},
    )
    assert flashes(follow(client, response)) == [
        "Parties sign on their signing page; the provider below."
    ]
    db.session.refresh(issued)
    assert issued.state == "issued"


def test_declining_keeps_the_reason_on_the_page(login_as, world, issued):
    client = login_as(world.officer)
    response = client.post_form(
        f"/agreements/{issued.id}/fire",
        {
            "transition": "decline",
            "version": str(issued.lock_version),
            "comment": "The employer wants <b>other</b> hours.",
        },
    )
    html = follow(client, response)
    assert "The employer wants &lt;b&gt;other&lt;/b&gt; hours." in section(
        html, "decline-reason", "section"
    )


# --- the terms form -----------------------------------------------------------------------------


def test_the_terms_form_saves_a_drafts_terms(login_as, world):
    partnership = memorandum_partnership(world.officer)
    memorandum = agreement_in("draft", partnership=partnership)
    client = login_as(world.officer)
    html = page(client, memorandum)
    assert form_field(html, "duration_months")["value"] == "24"
    data = terms_data(
        memorandum,
        language="de",
        duration_months="36",
        engagement_types="Placements\n\n  Guest talks  \n",
        scope="Welding apprenticeships.",
    )
    html = follow(client, client.post_form(f"/agreements/{memorandum.id}/terms", data))
    assert flashes(html) == ["Terms saved."]
    db.session.refresh(memorandum)
    assert memorandum.language == "de"
    assert memorandum.terms["duration_months"] == 36
    assert memorandum.terms["engagement_types"] == ["Placements", "Guest talks"]
    assert memorandum.terms["scope"] == "Welding apprenticeships."


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("duration_months", "0", "Number must be between 1 and 120."),
        ("duration_months", "121", "Number must be between 1 and 120."),
        ("duration_months", "two years", "Not a valid integer value."),
        ("engagement_types", "\n".join(f"Type {n}" for n in range(21)), "Keep to 20 clauses"),
        ("engagement_types", "x" * 1001, "Keep each clause under 1000 characters."),
        ("scope", "y" * 4001, "Field cannot be longer than 4000 characters."),
        ("language", "xx", "Not a valid choice."),
    ],
)
def test_the_terms_form_shows_errors_next_to_the_fields(login_as, world, field, value, error):
    memorandum = agreement_in("draft", partnership=memorandum_partnership(world.officer))
    before = dict(memorandum.terms)
    response = login_as(world.officer).post_form(
        f"/agreements/{memorandum.id}/terms", terms_data(memorandum, **{field: value})
    )
    assert response.status_code == 422
    html = text(response)
    message = field_error(html, field)
    assert message is not None and message.startswith(error), message
    db.session.refresh(memorandum)
    assert memorandum.terms == before


def test_terms_saved_after_issue_ask_for_a_new_version(login_as, world, issued):
    client = login_as(world.officer)
    data = terms_data(issued, special_conditions="Safety boots provided.")
    html = follow(client, client.post_form(f"/agreements/{issued.id}/terms", data))
    assert flashes(html) == [
        "Terms saved. The version already issued is unchanged: issue a new version for the "
        "parties to sign the changes."
    ]
    assert len(versions(issued)) == 1


def test_a_terms_form_saved_from_a_stale_page_changes_nothing(login_as, world):
    memorandum = agreement_in("draft", partnership=memorandum_partnership(world.officer))
    stale = terms_data(memorandum, scope="Mine.")
    client = login_as(world.officer)
    follow(
        client,
        client.post_form(
            f"/agreements/{memorandum.id}/terms", terms_data(memorandum, scope="Theirs.")
        ),
    )
    html = follow(client, client.post_form(f"/agreements/{memorandum.id}/terms", stale))
    assert flashes(html) == [
        "This record was changed by someone else meanwhile. Reload the page and try again."
    ]
    db.session.refresh(memorandum)
    assert memorandum.terms["scope"] == "Theirs."


def test_hostile_terms_print_as_text_on_the_page(login_as, world):
    memorandum = agreement_in("draft", partnership=memorandum_partnership(world.officer))
    client = login_as(world.officer)
    hostile = '<script>alert(1)</script><link rel="attachment" href="file:///etc/passwd">'
    follow(
        client,
        client.post_form(
            f"/agreements/{memorandum.id}/terms", terms_data(memorandum, scope=hostile)
        ),
    )
    html = page(client, memorandum)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- the provider signs in the app --------------------------------------------------------------


def test_a_manager_signs_for_the_provider(login_as, manager, issued):
    client = login_as(manager)
    html = page(client, issued)
    form = section(html, "sign", "section")
    assert issued.document_sha256[:8] in form
    assert f"/agreements/{issued.id}/versions/1.pdf" in form
    response = client.post_form(
        f"/agreements/{issued.id}/sign",
        {"typed_name": "Mia Manager", "consent": "y", "document_sha256": issued.document_sha256},
        headers={"User-Agent": "Office browser 1.0"},
    )
    html = follow(client, response)
    assert flashes(html) == ["You signed the agreement for the provider."]
    provider = signers(versions(issued)[0])["provider"]
    assert (provider.typed_name, provider.user_id, provider.signed_sha256) == (
        "Mia Manager",
        manager.id,
        issued.document_sha256,
    )
    assert provider.user_agent == "Office browser 1.0"
    assert 'data-party="provider" data-status="signed"' in html
    assert "Office browser 1.0" in section(html, "signers", "section")
    assert 'id="sign-form"' not in html
    db.session.refresh(issued)
    assert issued.state == "partially_signed"


@pytest.mark.parametrize(
    ("data", "field", "error"),
    [
        ({"typed_name": "", "consent": "y"}, "typed_name", "Type your full name to sign."),
        (
            {"typed_name": "Mia Manager"},
            "consent",
            "Tick the box to confirm that you have read the agreement and sign it.",
        ),
    ],
)
def test_the_provider_signature_needs_a_name_and_the_tick(
    login_as, manager, issued, data, field, error
):
    response = login_as(manager).post_form(
        f"/agreements/{issued.id}/sign", {**data, "document_sha256": issued.document_sha256}
    )
    assert response.status_code == 422
    assert error in unescape(text(response))
    assert signers(versions(issued)[0])["provider"].signed_at is None


def test_the_provider_cannot_sign_a_version_it_was_not_shown(login_as, manager, world, issued):
    client = login_as(manager)
    shown = issued.document_sha256
    client_officer = login_as(world.officer)
    client_officer.post_form(
        f"/agreements/{issued.id}/fire",
        {"transition": "reissue", "version": str(issued.lock_version), "comment": "New hours."},
    )
    response = client.post_form(
        f"/agreements/{issued.id}/sign",
        {"typed_name": "Mia Manager", "consent": "y", "document_sha256": shown},
    )
    html = follow(client, response)
    assert len(flashes(html)) == 1
    v1, v2 = versions(issued)
    assert signers(v1)["provider"].signed_at is None
    assert signers(v2)["provider"].signed_at is None


# --- sending a signer a new link -------------------------------------------------------------


def test_the_officer_sends_a_signer_a_new_link(login_as, world, issued):
    from tests.agreements.support import signing_links

    first = {link.party: link.id for link in signing_links(issued)}
    signer = signers(versions(issued)[0])["learner"]
    client = login_as(world.officer)
    html = follow(client, client.post_form(f"/agreements/{issued.id}/signers/{signer.id}/invite"))
    assert flashes(html) == [
        f"A new signing link was sent to Lena Lernend ({signer.email}). Earlier links no "
        "longer work."
    ]
    links = signing_links(issued)
    learner_links = [link for link in links if link.party == "learner"]
    assert len(learner_links) == 2
    assert learner_links[0].id == first["learner"] and learner_links[0].ended_at is not None
    assert learner_links[1].ended_at is None


# --- panels -----------------------------------------------------------------------------------


def test_the_placement_page_shows_its_agreement(login_as, world, issued):
    html = text(login_as(world.officer).get(f"/placements/{issued.placement_id}"))
    panel = section(html, "agreements", "section")
    assert f'href="/agreements/{issued.id}"' in panel
    assert "Issued" in panel


def test_the_partnership_page_prepares_the_memorandum(login_as, world):
    partnership = memorandum_partnership(world.officer)
    client = login_as(world.officer)
    html = text(client.get(f"/partnerships/{partnership.id}"))
    assert 'id="prepare-memorandum"' in html
    response = client.post_form(f"/agreements/memorandum/{partnership.id}")
    assert response.status_code == 302
    html = text(client.get(response.location))
    assert flashes(html) == ["Memorandum prepared: check its terms, then issue it for signature."]
    assert "Partnership memorandum" in html and 'id="terms-form"' in html
    # Now the page links to it instead of offering another.
    html = text(client.get(f"/partnerships/{partnership.id}"))
    assert 'id="prepare-memorandum"' not in html
    assert "/agreements/" in section(html, "agreements", "section")


def test_no_memorandum_before_the_needs_are_analysed(login_as, world, colleague):
    partnership = memorandum_partnership(world.officer, "approached")
    client = login_as(world.officer)
    assert 'id="prepare-memorandum"' not in text(client.get(f"/partnerships/{partnership.id}"))
    html = follow(client, client.post_form(f"/agreements/memorandum/{partnership.id}"))
    assert flashes(html) == [
        "The memorandum is prepared once the needs are analysed, before it is agreed."
    ]
    other = memorandum_partnership(world.officer)
    assert login_as(colleague).post_form(f"/agreements/memorandum/{other.id}").status_code == 404


def test_the_placement_moves_on_when_the_panel_has_nothing_to_offer(login_as, world):
    # A placement not yet at the agreement shows no agreements panel at all.
    placement = world.placement("matched")
    html = text(login_as(world.officer).get(f"/placements/{placement.id}"))
    assert 'id="agreements"' not in html
    assert db.session.get(Placement, placement.id).state == "matched"
    assert db.session.query(AgreementVersion).count() == 0


def test_the_memorandum_is_issued_from_its_page(login_as, world):
    memorandum = agreement_in("draft", partnership=memorandum_partnership(world.officer))
    client = login_as(world.officer)
    response = client.post_form(
        f"/agreements/{memorandum.id}/fire",
        {"transition": "issue", "version": str(memorandum.lock_version)},
    )
    html = follow(client, response)
    assert flashes(html) == ["Moved to Issued."]
    (version,) = versions(memorandum)
    assert list(signers(version)) == ["provider", "employer"]
    assert f"/agreements/{memorandum.id}/versions/1.pdf" in html


def test_a_memorandum_nobody_can_sign_is_not_issued(login_as, world):
    from tests.workflow.support import make_partnership

    memorandum = agreement_in("draft", partnership=make_partnership(world.officer, "agreeing"))
    client = login_as(world.officer)
    response = client.post_form(
        f"/agreements/{memorandum.id}/fire",
        {"transition": "issue", "version": str(memorandum.lock_version)},
    )
    assert flashes(follow(client, response)) == [
        "Record a decision maker or focal person of the organisation with an e-mail address: "
        "they sign the memorandum by link."
    ]
    db.session.refresh(memorandum)
    assert (memorandum.state, versions(memorandum)) == ("draft", [])


def test_the_page_says_when_the_issued_version_is_out_of_date(login_as, world, issued):
    client = login_as(world.officer)
    assert 'id="outdated"' not in page(client, issued)
    placement = db.session.get(Placement, issued.placement_id)
    placement.hours_target = 200
    db.session.commit()
    assert 'id="outdated"' in page(client, issued)
    client.post_form(
        f"/agreements/{issued.id}/fire",
        {"transition": "reissue", "version": str(issued.lock_version), "comment": "200 hours."},
    )
    assert 'id="outdated"' not in page(client, issued)


def test_changed_terms_make_the_issued_version_out_of_date(login_as, world, issued):
    client = login_as(world.officer)
    client.post_form(
        f"/agreements/{issued.id}/terms", terms_data(issued, special_conditions="Boots.")
    )
    assert 'id="outdated"' in page(client, issued)
