"""The reminder job reads follow-ups as plain columns: it names and links their records exactly
as the follow-up lists do (crm.followups.service.listing), in the assignee's language."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm.db import utcnow
from crm.extensions import db
from crm.followups import jobs
from crm.followups.models import FollowUp
from crm.followups.service import listed_rows, listing
from tests.factories import make_contact, make_learner, make_organisation, make_placement
from tests.scheduler.support import make_follow_up
from tests.workflow.support import make_partnership

HOUR = dt.timedelta(hours=1)


def follow_up_about(record_type: str, officer, organisation) -> FollowUp:
    record_id = {
        "organisation": lambda: organisation.id,
        "contact": lambda: make_contact(organisation, first_name="Jana", last_name="Novák").id,
        "partnership": lambda: make_partnership(officer, organisation=organisation).id,
        "placement": lambda: make_placement(make_learner(officer), organisation=organisation).id,
        "gone": lambda: 999_999,  # a record type the lists do not know
    }[record_type]()
    return make_follow_up(
        officer,
        utcnow() - HOUR,
        organisation=organisation,
        record_type=record_type,
        record_id=record_id,
        subject="Follow up the first approach and book a needs-analysis meeting",
        created_by_rule="partnership.approach",
    )


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize(
    "record_type", ["organisation", "contact", "partnership", "placement", "gone"]
)
def test_claimed_rows_name_and_link_records_as_the_lists_do(ctx, officer, record_type, language):
    organisation = make_organisation(officer, legal_name="Kölner Metallbau GmbH")
    follow_up = follow_up_about(record_type, officer, organisation)

    with force_locale(jobs.babel_locale(language)):
        (due,) = jobs._due_reminders(jobs._claim_due(utcnow(), 10))
        (listed,) = listed_rows(listing().where(FollowUp.id == follow_up.id))
        texts = jobs._ReminderTexts()

        assert due.id == follow_up.id
        assert due.record_name() == listed.record.name
        assert texts.url(due) == jobs.record_url(listed.record)
        values = jobs._reminder_values(due, texts)
        assert values["follow_up_subject"] == listed.subject
        assert values["record_name"] == listed.record.name
    db.session.rollback()


def test_the_oldest_due_are_claimed_and_read_in_two_statements(ctx, officer):
    organisation = make_organisation(officer)
    now = utcnow()
    oldest = make_follow_up(officer, now - 3 * HOUR, organisation=organisation)
    older = make_follow_up(officer, now - 2 * HOUR, organisation=organisation)
    make_follow_up(officer, now - HOUR, organisation=organisation)
    make_follow_up(officer, now + HOUR, organisation=organisation)  # not yet due

    db.session.connection()  # the transaction (a savepoint in tests) begun before counting
    statements = []

    def count(connection, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        claimed = jobs._due_reminders(jobs._claim_due(now, 2))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)

    assert [due.id for due in claimed] == [oldest.id, older.id]
    assert len(statements) == 2
    db.session.rollback()


def test_a_run_names_a_record_renamed_between_its_batches_anew(ctx, officer):
    organisation = make_organisation(officer, legal_name="Rheinwerk Tools GmbH")
    follow_up = make_follow_up(officer, utcnow() - HOUR, organisation=organisation)
    texts = jobs._ReminderTexts()  # one per run, shared by its batches

    with force_locale(jobs.babel_locale("en")):
        (first,) = jobs._due_reminders([follow_up.id])
        assert jobs._reminder_values(first, texts)["record_name"] == "Rheinwerk Tools GmbH"
        organisation.legal_name = "Rheinwerk Werkzeuge GmbH"
        db.session.flush()
        (later,) = jobs._due_reminders([follow_up.id])
        values = jobs._reminder_values(later, texts)
    assert values["record_name"] == "Rheinwerk Werkzeuge GmbH"
    assert values["url"] == jobs._reminder_values(first, texts)["url"]
    db.session.rollback()
