"""The send_email effect: a workflow step queues an e-mail from a template."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from crm.db import utcnow
from crm.extensions import db
from crm.outbox.models import OutboxMessage
from crm.partnerships.service import start_partnership
from crm.workflow.service import fire_due_timers
from tests.factories import make_organisation, make_user


def test_a_partnership_going_dormant_tells_its_owner(ctx):
    owner = make_user("officer", name="Olga Owner", locale="de")
    organisation = make_organisation(owner, legal_name="Stille Werkstatt GmbH")
    partnership = start_partnership(organisation, owner)
    partnership.state = "approached"
    partnership.state_entered_at = utcnow() - dt.timedelta(days=120)
    db.session.commit()

    run = fire_due_timers(utcnow())
    db.session.commit()

    assert run.fired == 1
    messages = db.session.scalars(sa.select(OutboxMessage)).all()
    assert len(messages) == 1
    message = messages[0]
    assert message.to_email == owner.email
    assert message.kind == "stage_changed"
    assert message.language == "de"
    assert message.record_type == "partnership" and message.record_id == partnership.id
    assert "Stille Werkstatt GmbH" in message.subject
    assert f"/partnerships/{partnership.id}" in message.body_text


def test_unknown_template_is_a_validation_problem():
    from crm.workflow.definitions import parse_text

    text = """name: partnership
version: 1
record: partnership
label: X
initial: a
states:
  a: {label: A}
  b: {label: B}
transitions:
  - name: go
    label: Go
    from: a
    to: b
    by: [officer]
    effects:
      - send_email: {template: no_such_mail}
"""
    definition, problems = parse_text(text, "workflows/partnership.yaml", "partnership")
    assert definition is None
    assert [str(p) for p in problems] == [
        "workflows/partnership.yaml:16: transitions[0].effects[0].send_email.template: "
        "send_email: no e-mail template templates/emails/no_such_mail.subject.txt, "
        "no_such_mail.txt, no_such_mail.html"
    ]
