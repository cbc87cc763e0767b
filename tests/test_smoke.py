"""The harness itself: isolation, anonymous clients, and the schema from migrations."""

from __future__ import annotations

import sqlalchemy as sa

from crm.auth.models import User
from crm.extensions import db
from tests.factories import make_organisation, make_user


def test_data_from_one_test_is_not_seen_by_the_next_part_one(ctx):
    make_user(email="isolated@example.test")
    assert db.session.scalar(sa.select(User).where(User.email == "isolated@example.test"))


def test_data_from_one_test_is_not_seen_by_the_next_part_two(ctx):
    assert db.session.scalar(sa.select(User).where(User.email == "isolated@example.test")) is None


def test_second_client_is_anonymous(ctx, client, make_client):
    officer = make_user("officer")
    client.login(officer.email)
    assert client.get("/organisations/").status_code == 200
    other = make_client()
    response = other.get("/organisations/")
    assert response.status_code == 302
    assert response.location.startswith("/login")


def test_request_sees_data_committed_by_the_test(ctx, client):
    officer = make_user("officer")
    organisation = make_organisation(officer, legal_name="Visible Bakery Ltd")
    client.login(officer.email)
    page = client.get(f"/organisations/{organisation.id}").get_data(as_text=True)
    assert "Visible Bakery Ltd" in page
