"""Follow-ups made by workflow steps: shown with their rule, closed by the step resolving them."""

from __future__ import annotations

from crm.extensions import db
from crm.followups.models import FollowUpStatus
from crm.organisations.models import Organisation
from crm.workflow.service import fire
from tests.core.helpers import text
from tests.factories import make_activity
from tests.followups.support import add_follow_up, items
from tests.workflow.support import at, follow_ups_of, make_partnership, tick_all

APPROACH_FOLLOW_UP = "Follow up the first approach and book a needs-analysis meeting"


def test_a_steps_follow_up_shows_its_rule_and_the_next_step_closes_it(
    ctx, login_as, officer, manager
):
    partnership = make_partnership(officer, "researched", entered_at=at(3))
    by_hand = add_follow_up(partnership, officer, subject="Ask about the canteen")
    make_activity(db.session.get(Organisation, partnership.organisation_id), officer)
    fire(partnership, "approach", user=manager)
    db.session.commit()

    client = login_as(officer)
    page = text(client.get(f"/partnerships/{partnership.id}"))
    made = {i.subject: i for i in items(page, "follow-ups")}
    assert set(made) == {APPROACH_FOLLOW_UP, "Ask about the canteen"}
    assert made[APPROACH_FOLLOW_UP].rule == "made by partnership step: Record the first approach"
    assert "Olga Officer" in made[APPROACH_FOLLOW_UP].text  # the owner, not the manager
    assert made[APPROACH_FOLLOW_UP].can_change  # the owner acts on the workflow's follow-ups
    assert made["Ask about the canteen"].rule == ""
    day = text(client.get("/my-day"))
    assert [i.subject for i in items(day, "upcoming")] == [
        "Ask about the canteen",
        APPROACH_FOLLOW_UP,
    ]
    assert items(day, "upcoming")[1].rule == "made by partnership step: Record the first approach"

    # The needs analysis resolves the reason: the workflow's follow-up is closed, the next one
    # is made, and the one added by hand stays.
    tick_all(partnership)
    partnership.needs_summary = "Two welders a year; co-design of the CNC module."
    db.session.commit()
    response = client.post_form(
        f"/partnerships/{partnership.id}/fire",
        {"transition": "analyse_needs", "version": str(partnership.lock_version)},
    )
    assert response.status_code == 302
    page = text(client.get(f"/partnerships/{partnership.id}"))
    shown = {i.subject: i.rule for i in items(page, "follow-ups")}
    assert shown == {
        "Ask about the canteen": "",
        "Send the memorandum of understanding": (
            "made by partnership step: Record the needs analysis"
        ),
    }
    statuses = {f.subject: f.status for f in follow_ups_of(partnership)}
    assert statuses == {
        "Ask about the canteen": FollowUpStatus.OPEN,
        APPROACH_FOLLOW_UP: FollowUpStatus.DONE,
        "Send the memorandum of understanding": FollowUpStatus.OPEN,
    }
    assert by_hand.id in {i.id for i in items(page, "follow-ups")}
    # The memorandum is due in 14 days: beyond My day's week.
    assert [i.subject for i in items(text(client.get("/my-day")))] == ["Ask about the canteen"]
