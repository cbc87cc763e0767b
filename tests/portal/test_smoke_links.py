"""The dispatcher of the link pages: each link status leads to its page, every purpose that
sends links has one, and a link is found by its token only."""

from __future__ import annotations

import pytest

from crm.extensions import db
from crm.links import purposes
from crm.links import service as links
from crm.links.service import LinkStatus
from crm.portal import views
from tests.core.helpers import text
from tests.portal.changes import words


def test_every_purpose_that_sends_links_has_a_page():
    assert set(purposes.SPECS) <= set(views.PAGES)


def test_an_open_link_is_found_by_its_token_and_a_tampered_one_is_not(sent):
    assert links.find(sent.token) == sent.link
    assert links.find(sent.token[:-1] + ("A" if sent.token[-1] != "A" else "B")) is None
    assert sent.link.token_hash == links.hash_token(sent.token)
    assert sent.token not in (sent.link.nonce, sent.link.token_hash)


@pytest.mark.parametrize(
    ("status", "code", "shown"),
    [
        (LinkStatus.OPEN, 200, "Lena"),  # the purpose's page: the learner's first name
        (LinkStatus.SPENT, 200, "This link has been answered"),
        (LinkStatus.EXPIRED, 410, "This link no longer works"),
        (LinkStatus.ENDED, 410, "This link no longer works"),
        (LinkStatus.UNKNOWN, 410, "This link no longer works"),
    ],
)
def test_each_status_of_a_link_leads_to_its_page(sent, client, monkeypatch, status, code, shown):
    if status == LinkStatus.SPENT:
        sent.link.spent_at = sent.link.created_at
        db.session.commit()
    monkeypatch.setattr(links, "status", lambda *args, **kwargs: status)

    response = client.get(sent.path)

    assert response.status_code == code, text(response)[:300]
    assert shown in words(response)


def test_the_evaluation_link_opens_its_page(evaluation_sent, client):
    response = client.get(evaluation_sent.path)

    assert response.status_code == 200
    assert "Lena" in words(response)
    assert "This link no longer works" not in words(response)


def test_a_mangled_link_address_is_not_found_rather_than_a_login_form(client):
    for path in ("/l/confirm/not-a-number/abc", "/l/confirm", "/l/"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "/auth/login" not in response.headers.get("Location", "")
