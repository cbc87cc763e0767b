"""What the partnership pages show: stage, guidance, checklist, steps, board, timeline."""

from __future__ import annotations

import re
from html import unescape

import pytest

from crm.activities.models import ActivityKind
from crm.auth.models import Role
from crm.contacts.models import ContactRole
from crm.extensions import db
from crm.organisations.models import Organisation
from crm.workflow.service import fire
from tests.core.helpers import flashes, form_field, section, text
from tests.factories import make_activity, make_contact, make_organisation, make_user
from tests.partnerships.pages import Column, board_columns, child_texts, next_steps, plain, timeline
from tests.workflow.support import PACK, PARTNERSHIP, at, make_partnership


def organisation_of(partnership) -> Organisation:
    organisation = db.session.get(Organisation, partnership.organisation_id)
    assert organisation is not None
    return organisation


# --- the partnership page ----------------------------------------------------------------------


def test_the_page_shows_the_stage_its_guidance_checklist_and_steps(ctx, login_as, officer):
    partnership = make_partnership(
        officer, "identified", entered_at=at(30), checklist={"identified": ["fit_checked"]}
    )
    make_contact(organisation_of(partnership), role=ContactRole.FOCAL_PERSON)
    html = text(login_as(officer).get(f"/partnerships/{partnership.id}"))

    assert plain(section(html, "current-stage", "h2")) == "Identified"
    assert plain(section(html, "guidance", "p")) == PARTNERSHIP.state("identified").guidance
    checklist = re.findall(
        r'class="btn btn-sm (btn-success|btn-outline-secondary) checklist-item" '
        r'data-item="(\w+)" aria-pressed="(true|false)">(.*?)</button>',
        section(html, "checklist", "ul"),
    )
    assert checklist == [
        ("btn-success", "fit_checked", "true", "☑ Sector and size fit our programmes"),
        (
            "btn-outline-secondary",
            "website_reviewed",
            "false",
            "☐ Website and public information reviewed",
        ),
    ]
    # Past the 21-day SLA of the stage, and whose move it is.
    assert "9 days over" in html
    assert "30 days in stage / 21" in html
    assert "our move" in plain(section(html, "stage", "section"))

    steps = next_steps(html)
    assert list(steps) == ["research", "close"]
    research, close = steps["research"], steps["close"]
    assert (research.label, research.style, research.available) == (
        "Mark as researched → Researched",
        "outline-secondary",
        False,
    )
    assert research.reasons == [
        "Tick the checklist before moving to Researched: Website and public information reviewed.",
        "Record a decision maker before moving to Researched.",
    ]
    assert not research.has_comment
    assert (close.label, close.style, close.available, close.reasons, close.has_comment) == (
        "Close the partnership → Closed",
        "danger",
        True,
        [],
        True,
    )
    assert 'for="comment-close">Why is the partnership closed?</label>' in html
    comment = form_field(html, "comment")  # the first comment box is the close one
    assert (comment["id"], "required" in comment) == ("comment-close", True)


def test_a_step_becomes_available_when_its_guards_hold(ctx, login_as, officer):
    partnership = make_partnership(officer, "identified", entered_at=at(2))
    organisation = organisation_of(partnership)
    make_contact(organisation, role=ContactRole.FOCAL_PERSON)
    make_contact(organisation, role=ContactRole.DECISION_MAKER)
    client = login_as(officer)
    for item in ("fit_checked", "website_reviewed"):
        client.post_form(f"/partnerships/{partnership.id}/checklist", {"item": item, "ticked": "1"})
    steps = next_steps(text(client.get(f"/partnerships/{partnership.id}")))
    assert (steps["research"].available, steps["research"].style) == (True, "primary")


def test_the_page_lists_open_follow_ups(ctx, login_as, officer, manager):
    partnership = make_partnership(officer, "researched", entered_at=at(3))
    make_activity(organisation_of(partnership), officer, ActivityKind.CALL)
    fire(partnership, "approach", user=manager)
    db.session.commit()
    html = text(login_as(manager).get(f"/partnerships/{partnership.id}"))
    follow_ups = plain(section(html, "follow-ups", "section"))
    assert "Follow up the first approach and book a needs-analysis meeting" in follow_ups
    assert "Olga Officer" in follow_ups  # the owner, not the manager who moved it


def test_the_organisation_page_shows_its_partnerships_and_a_merged_timeline(
    ctx, login_as, officer, manager
):
    organisation = make_organisation(officer, legal_name="Timeline Works GmbH")
    make_activity(organisation, officer, ActivityKind.CALL, occurred_at=at(5), subject="First call")
    old = make_partnership(officer, organisation=organisation)
    fire(old, "close", user=officer, comment="No capacity this year.", now=at(4))
    db.session.commit()
    make_activity(organisation, officer, ActivityKind.NOTE, occurred_at=at(3), subject="Revisit")
    current = make_partnership(officer, organisation=organisation)
    fire(current, "close", user=manager, comment="Duplicate.", now=at(2))
    fire(current, "reopen", user=manager, comment="Not a duplicate.", now=at(1))
    db.session.commit()
    make_activity(
        organisation, officer, ActivityKind.VISIT, occurred_at=at(0.5), subject="Site visit"
    )

    client = login_as(officer)
    html = text(client.get(f"/organisations/{organisation.id}"))
    listed = re.findall(
        r'<a href="/partnerships/(\d+)" class="fw-medium">(.*?)</a>',
        section(html, "partnerships", "section"),
    )
    assert sorted(listed) == sorted([(str(current.id), "Identified"), (str(old.id), "Closed")])

    expected = [
        "visit: Visit Site visit",
        f"transition: Stage Reopen Closed → Identified .* Not a duplicate. {manager.name}",
        f"transition: Stage Close the partnership Identified → Closed .* Duplicate. {manager.name}",
        "note: Note Revisit",
        "transition: Stage Close the partnership Identified → Closed .* No capacity this year. "
        "Olga Officer",
        "call: Call First call",
    ]
    entries = timeline(html)
    assert len(entries) == len(expected), entries
    for entry, pattern in zip(entries, expected, strict=True):
        assert re.match(pattern, entry), (entry, pattern)
    # The partnership page shows the same timeline of the organisation.
    assert timeline(text(client.get(f"/partnerships/{current.id}"))) == entries


# --- the board ---------------------------------------------------------------------------------


@pytest.fixture
def pipeline(ctx, officer):
    """Four partnerships at different stages, owners, sectors and countries."""
    colleague = make_user(Role.OFFICER, name="Colin Colleague")

    def make(owner, name, nace, country, state, days):
        organisation = make_organisation(owner, legal_name=name, nace_code=nace, country=country)
        return make_partnership(owner, state, entered_at=at(days), organisation=organisation)

    return {
        "colleague": colleague,
        "late": make(officer, "Late Steel GmbH", "25", "DE", "identified", 30),
        "fresh": make(officer, "Fresh Code SARL", "62", "FR", "identified", 2),
        "waiting": make(colleague, "Waiting Metal AG", "25", "DE", "approached", 40),
        "ended": make(colleague, "Ended Foods BV", "56", "NL", "closed", 400),
    }


def counts(columns) -> dict[str, int]:
    return {state: column.count for state, column in columns.items() if column.count}


def test_the_board_has_a_column_per_stage_with_counts_and_overdue_marks(
    ctx, login_as, officer, pipeline
):
    html = text(login_as(officer).get("/partnerships/board"))
    columns = board_columns(html)
    assert list(columns) == list(PARTNERSHIP.states)
    assert counts(columns) == {"identified": 2, "approached": 1, "closed": 1}
    identified = columns["identified"]
    assert identified.cards == ["Late Steel GmbH", "Fresh Code SARL"]  # longest waiting first
    assert (identified.late, identified.overdue) == (["Late Steel GmbH"], 1)
    assert (columns["approached"].late, columns["approached"].overdue) == (
        ["Waiting Metal AG"],
        1,
    )
    assert (columns["closed"].late, columns["closed"].overdue) == ([], 0)  # closed has no SLA
    assert columns["active"] == Column(count=0, overdue=0, cards=[], late=[])


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("owner={colleague}", {"approached": 1, "closed": 1}),
        ("owner={officer}", {"identified": 2}),
        ("sector=J", {"identified": 1}),
        ("sector=C", {"identified": 1, "approached": 1}),
        ("country=DE", {"identified": 1, "approached": 1}),
        ("country=fr", {"identified": 1}),
        ("country=DE&owner={officer}", {"identified": 1}),
        ("overdue=1", {"identified": 1, "approached": 1}),
        ("waiting_on=employer", {"approached": 1}),
        ("q=steel", {"identified": 1}),
    ],
)
def test_the_board_filters(ctx, login_as, officer, pipeline, query, expected):
    url = "/partnerships/board?" + query.format(
        colleague=pipeline["colleague"].id, officer=officer.id
    )
    assert counts(board_columns(text(login_as(officer).get(url)))) == expected


def test_the_list_filters_like_the_board(ctx, login_as, officer, pipeline):
    client = login_as(officer)
    html = text(client.get(f"/partnerships/?sector=C&owner={pipeline['colleague'].id}"))
    names = re.findall(r'class="fw-medium">(.*?)</a>', section(html, "partnerships", "table"))
    assert names == ["Waiting Metal AG"]
    html = text(client.get("/partnerships/?state=identified"))
    names = re.findall(r'class="fw-medium">(.*?)</a>', section(html, "partnerships", "table"))
    assert names == ["Late Steel GmbH", "Fresh Code SARL"]


# --- bulk moves ---------------------------------------------------------------------------------


def test_a_bulk_move_reports_what_moved_and_why_not(ctx, login_as, officer, pipeline):
    ready = pipeline["fresh"]
    make_activity(organisation_of(ready), officer, ActivityKind.CALL, occurred_at=at(1))
    ready.state, ready.state_entered_at = "researched", at(1.5)
    silent = make_partnership(
        officer,
        "researched",
        entered_at=at(3),
        organisation=make_organisation(officer, legal_name="Silent Tools KG"),
    )
    db.session.commit()
    not_mine = pipeline["waiting"]
    client = login_as(officer)
    list_page = text(client.get("/partnerships/"))
    assert '<option value="approach">Record the first approach → Approached</option>' in list_page
    assert 'value="reopen"' not in list_page  # officers may not reopen

    response = client.post_form(
        "/partnerships/bulk",
        {
            "ids": [str(ready.id), str(silent.id), str(not_mine.id)],
            "transition": "approach",
            "comment": "",
        },
    )
    assert response.status_code == 200
    html = text(response)
    assert "1 partnership moved. 2 could not be moved." in plain(html)
    assert child_texts(html, "bulk-results") == [
        "Fresh Code SARL — moved to Approached",
        "Silent Tools KG — not moved: Log a contact with the employer (call, e-mail, meeting, "
        "visit) before moving to Approached.",
        "Waiting Metal AG — not moved: This cannot be done from the stage Approached.",
    ]
    db.session.expire_all()
    assert [p.state for p in (ready, silent, not_mine)] == [
        "approached",
        "researched",
        "approached",
    ]


def test_a_bulk_move_says_when_not_allowed(ctx, login_as, officer, pipeline):
    client = login_as(officer)
    response = client.post_form(
        "/partnerships/bulk",
        {"ids": [str(pipeline["waiting"].id)], "transition": "close", "comment": "Tidy up."},
    )
    assert child_texts(text(response), "bulk-results") == [
        "Waiting Metal AG — not moved: You are not allowed to do this."
    ]
    db.session.expire_all()
    assert pipeline["waiting"].state == "approached"


def test_a_bulk_move_needs_records_and_a_step(ctx, login_as, officer, pipeline):
    client = login_as(officer)
    for data in ({"transition": "close"}, {"ids": [str(pipeline["late"].id)], "transition": ""}):
        response = client.post_form("/partnerships/bulk", data)
        assert response.status_code == 302
        assert flashes(text(client.get(response.location))) == [
            "Select partnerships and a step first."
        ]


def test_a_manager_closes_many_at_once(ctx, login_as, manager, pipeline):
    ids = [str(pipeline[k].id) for k in ("late", "fresh", "waiting")]
    response = login_as(manager).post_form(
        "/partnerships/bulk", {"ids": ids, "transition": "close", "comment": "Programme ended."}
    )
    assert "3 partnerships moved." in plain(text(response))
    db.session.expire_all()
    assert {pipeline[k].state for k in ("late", "fresh", "waiting")} == {"closed"}


# --- the workflow page ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["partnership", "placement", "agreement"])
def test_the_workflow_page_draws_every_stage(ctx, login_as, officer, name):
    definition = PACK.get(name)
    html = text(login_as(officer).get(f"/workflows/{name}"))
    svg = html[html.index("<svg") : html.index("</svg>")]
    labels = re.findall(r'font-weight="600" text-anchor="middle" fill="#212529">(.*?)</text>', svg)
    assert [unescape(label) for label in labels] == [s.label for s in definition.states.values()]
    assert f'aria-label="Diagram of the workflow {definition.label}"' in svg
    for state in definition.states.values():
        assert f'<h2 class="h6 mb-1">{state.label}' in html  # and the rules of each stage


def test_the_partnership_diagram_lists_steps_from_any_stage(ctx, login_as, officer):
    html = text(login_as(officer).get("/workflows/partnership"))
    assert "from any stage: Close the partnership" in html[html.index("<svg") :]
    assert login_as(officer).get("/workflows/nothing").status_code == 404


def test_the_board_counts_overdue_as_the_cards_and_the_page_do(ctx, login_as, officer):
    # 21 and a half days in a stage with a 21-day SLA: 21 whole days, not yet over.
    partnership = make_partnership(officer, "identified", entered_at=at(21.5))
    client = login_as(officer)
    column = board_columns(text(client.get("/partnerships/board")))["identified"]
    assert (column.count, column.overdue, column.late) == (1, 0, [])
    assert counts(board_columns(text(client.get("/partnerships/board?overdue=1")))) == {}
    page = text(client.get(f"/partnerships/{partnership.id}"))
    assert "21 days in stage / 21" in page
    assert "days over" not in page and "day over" not in page

    late = make_partnership(officer, "identified", entered_at=at(22))
    column = board_columns(text(client.get("/partnerships/board")))["identified"]
    assert (column.count, column.overdue, column.late) == (
        2,
        1,
        [organisation_of(late).display_name],
    )
    assert counts(board_columns(text(client.get("/partnerships/board?overdue=1")))) == {
        "identified": 1
    }
