"""Support needs are seen by the learner's officer, managers and admins, and nowhere else.

They never appear in a list, an export, a search result, JSON, or an e-mail, whoever asks;
on the learner page only those three see them, in a box marked confidential.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pypdf
import pytest
import sqlalchemy as sa
from flask import Flask

from crm.auth.models import Role, User
from crm.extensions import db
from crm.followups.models import FollowUp
from crm.learners.models import Learner, Programme
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow import service as workflow
from tests.core.helpers import form_field, fresh, section, text
from tests.factories import make_learner, make_organisation, make_programme, make_user

SECRET = "Epilepsy-7f3a: seizure plan in the blue folder"
SECRET_WORD = "epilepsy"


@pytest.fixture
def colleague(ctx) -> User:
    return make_user(Role.OFFICER, name="Colin Colleague")


@pytest.fixture
def programme(manager) -> Programme:
    return make_programme(manager, name="Mechatronics", code="MECH-4")


@pytest.fixture
def learner(officer, programme) -> Learner:
    learner = make_learner(
        officer, programme, first_name="Sami", last_name="Virtanen", support_needs=SECRET
    )
    # On a placement too, so that placement lists and boards show the learner.
    placement = Placement(learner_id=learner.id, programme_id=programme.id, officer_id=officer.id)
    workflow.start(placement, workflow.current_pack().for_record("placement"))
    db.session.add(placement)
    db.session.commit()
    return learner


def assert_secret_absent(body: str, where: str) -> None:
    assert SECRET not in body, where
    assert "7f3a" not in body, where  # nor a part of it (escaped, cut)


def users(officer, colleague, manager, admin) -> dict[str, User]:
    return {"officer": officer, "colleague": colleague, "manager": manager, "admin": admin}


# --- the learner page -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "manager", "admin"])
def test_the_officer_managers_and_admins_see_them_marked_confidential(
    ctx, login_as, officer, colleague, manager, admin, learner, who
):
    page = text(
        login_as(users(officer, colleague, manager, admin)[who]).get(f"/learners/{learner.id}")
    )
    box = section(page, "support-needs", "section")
    assert SECRET in box
    assert "Confidential" in box
    form = text(
        login_as(users(officer, colleague, manager, admin)[who]).get(f"/learners/{learner.id}/edit")
    )
    assert form_field(form, "support_needs")
    assert "Confidential" in form


def test_another_officer_sees_the_learner_but_not_their_support_needs(
    ctx, login_as, colleague, learner
):
    client = login_as(colleague)
    response = client.get(f"/learners/{learner.id}")
    assert response.status_code == 200
    page = text(response)
    assert "Sami Virtanen" in page
    assert 'id="support-needs"' not in page
    assert "Support needs" not in page
    assert_secret_absent(page, "learner page")


def test_after_a_handover_the_former_officer_no_longer_sees_them(
    ctx, login_as, officer, manager, colleague, learner, programme
):
    boss = login_as(manager)
    form = text(boss.get(f"/learners/{learner.id}/edit"))
    data = {
        name: form_field(form, name).get("value", "")
        for name in ("first_name", "last_name", "email", "birth_date")
    }
    data.update(
        programme_id=str(learner.programme_id),
        cohort_id=str(learner.cohort_id),
        consent_basis=learner.consent_basis.value,
        support_needs=SECRET,
        officer_id=str(colleague.id),
    )
    assert boss.post_form(f"/learners/{learner.id}/edit", data).status_code == 302
    assert fresh(learner).officer_id == colleague.id
    assert_secret_absent(text(login_as(officer).get(f"/learners/{learner.id}")), "former")
    assert SECRET in text(login_as(colleague).get(f"/learners/{learner.id}"))


# --- lists, exports, search -----------------------------------------------------------------


@pytest.mark.parametrize("who", ["officer", "colleague", "manager", "admin"])
def test_never_in_the_list_export_or_search(
    ctx, login_as, officer, colleague, manager, admin, learner, programme, who
):
    client = login_as(users(officer, colleague, manager, admin)[who])
    listing = text(client.get("/learners/"))
    assert "Sami Virtanen" in listing
    assert_secret_absent(listing, "list")
    export = client.get("/learners/export.csv").get_data().decode("utf-8-sig")
    assert "Virtanen" in export
    assert_secret_absent(export, "export")
    # Searching for the text of the support needs finds nobody.
    found = text(client.get(f"/learners/?q={SECRET_WORD}"))
    assert "No learners match." in found
    assert_secret_absent(found, "search")
    assert "Sami" not in client.get(f"/learners/export.csv?q={SECRET_WORD}").get_data(as_text=True)
    assert_secret_absent(text(client.get(f"/search/?q={SECRET_WORD}")), "global search")
    assert_secret_absent(text(client.get("/search/?q=Virtanen")), "global search")
    assert_secret_absent(text(client.get(f"/programmes/{programme.id}")), "programme")
    assert_secret_absent(text(client.get("/programmes/")), "programmes")


def _get_urls(app: Flask, values: dict[str, int]) -> list[str]:
    """A URL for every page reachable by GET whose path arguments are all in `values`."""
    from flask import url_for

    urls = []
    with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
                continue
            if set(rule.arguments) <= set(values):
                urls.append(url_for(rule.endpoint, **{a: values[a] for a in rule.arguments}))
    return sorted(set(urls))


@pytest.mark.parametrize("who", ["officer", "colleague", "manager"])
def test_no_other_page_shows_them(
    ctx, app, login_as, officer, colleague, manager, admin, learner, programme, who
):
    """Every page: lists, boards, exports, JSON, search; for another officer all of them.

    Those allowed may see them on pages about this one learner (or its placement), which
    are left out for them; pages without a learner in their address are always checked.
    """
    placement_id = db.session.scalar(
        sa.select(Placement.id).where(Placement.learner_id == learner.id)
    )
    values = {"programme_id": programme.id}
    if who == "colleague":
        values.update(learner_id=learner.id, placement_id=placement_id)
    urls = _get_urls(app, values)
    client = login_as(users(officer, colleague, manager, admin)[who])
    checked = []
    for url in urls:
        try:
            response = client.get(url)
        except Exception:  # another area's page failing is that area's tests' business
            continue
        assert_secret_absent(_text_of(response), url)
        checked.append(url)
    assert "/learners/" in checked
    assert "/learners/export.csv" in checked
    if who == "colleague":
        assert f"/learners/{learner.id}" in checked


def _text_of(response: Any) -> str:
    """What a response says: a PDF's text (e.g. the dashboard's report), else its body."""
    if response.mimetype == "application/pdf":
        reader = pypdf.PdfReader(io.BytesIO(response.get_data()))
        return "\n".join(page.extract_text() or "" for page in reader.pages)
    return str(response.get_data(as_text=True))


# --- e-mail -----------------------------------------------------------------------------------


def test_never_in_an_email(ctx, login_as, officer, learner, programme):
    """No e-mail queued while learners are worked on, nor the officer's digest, holds them."""
    client = login_as(officer)
    client.get(f"/learners/{learner.id}")
    client.post_form(f"/learners/{learner.id}/archive")
    client.post_form(f"/learners/{learner.id}/archive", {"restore": "1"})
    organisation = make_organisation(officer)
    db.session.add(
        FollowUp(
            subject=f"Call about {learner.name}",
            due_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=1),
            assignee_id=officer.id,
            record_type="organisation",
            record_id=organisation.id,
            organisation_id=organisation.id,
            created_by_id=officer.id,
        )
    )
    db.session.commit()
    _send_digests()
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert [m.kind for m in messages if m.user_id == officer.id] == ["daily_digest"]
    for message in messages:
        rendered: dict[str, Any] = {
            "subject": message.subject,
            "text": message.body_text,
            "html": message.body_html,
            "values": json.dumps(message.template_values, default=str),
        }
        for part, body in rendered.items():
            assert_secret_absent(body, f"{message.kind} {part}")


def _send_digests() -> None:
    """Queue the daily digests as the scheduler would, late enough in every time zone."""
    from crm.followups.jobs import send_daily_digests

    now = dt.datetime.now(dt.UTC).replace(hour=15, minute=0)
    send_daily_digests(now=now)
