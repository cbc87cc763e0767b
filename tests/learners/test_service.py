"""The learner service: programme codes, cohorts, outcomes, learners and their keys."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from crm.auth.models import Role
from crm.contacts.models import ConsentBasis
from crm.extensions import db
from crm.learners import programmes, service
from crm.learners.models import Cohort, Learner, Programme, ProgrammeOutcome
from crm.learners.programmes import CohortValues, ProgrammeValues
from crm.learners.service import LearnerError, LearnerFilters, LearnerValues
from tests.factories import make_cohort, make_learner, make_programme, make_user

YEAR = CohortValues(name="2026/27", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 7, 31))


def programme_values(**changes) -> ProgrammeValues:
    values = {"name": "Mechatronics", "code": "MECH-4", "eqf_level": 4, "sector": "C"}
    values.update(changes)
    return ProgrammeValues(**values)


def outcomes_of(programme: Programme) -> list[tuple[int, int, str, bool]]:
    """(id, position, text, retired) of every outcome row, by position."""
    rows = db.session.execute(
        sa.select(
            ProgrammeOutcome.id,
            ProgrammeOutcome.position,
            ProgrammeOutcome.text,
            ProgrammeOutcome.retired,
        )
        .where(ProgrammeOutcome.programme_id == programme.id)
        .order_by(ProgrammeOutcome.position)
    )
    return [tuple(row) for row in rows]


def learner_values(programme: Programme, cohort: Cohort, **changes) -> LearnerValues:
    values = {
        "first_name": "Zoë",
        "last_name": "Müller-Łukasik",
        "email": "zoe.mueller@school.test",
        "programme_id": programme.id,
        "cohort_id": cohort.id,
        "consent_basis": ConsentBasis.CONTRACT,
        "birth_date": dt.date(2009, 3, 2),
        "support_needs": "Dyslexia: give written instructions.",
    }
    values.update(changes)
    return LearnerValues(**values)


def first_cohort(programme: Programme) -> Cohort:
    cohort = db.session.scalars(
        sa.select(Cohort).where(Cohort.programme_id == programme.id)
    ).first()
    assert cohort is not None
    return cohort


# --- programmes ---------------------------------------------------------------------------


def test_a_manager_creates_a_programme_with_outcomes_in_order(ctx, manager):
    programme = programmes.create_programme(
        programme_values(code=" mech-4 ", outcomes=("Reads drawings", "Welds", "Programs PLCs")),
        manager,
    )
    assert (programme.code, programme.eqf_level, programme.sector) == ("MECH-4", 4, "C")
    assert [(pos, text, retired) for _id, pos, text, retired in outcomes_of(programme)] == [
        (1, "Reads drawings", False),
        (2, "Welds", False),
        (3, "Programs PLCs", False),
    ]


def test_officers_may_not_create_or_change_programmes(ctx, officer):
    with pytest.raises(PermissionError):
        programmes.create_programme(programme_values(), officer)
    programme = make_programme()
    with pytest.raises(PermissionError):
        programmes.update_programme(programme, programme_values(), officer)
    with pytest.raises(PermissionError):
        programmes.add_cohort(programme, YEAR, officer)


def test_programme_codes_are_unique_whatever_their_case(ctx, manager):
    make_programme(manager, code="MECH-4")
    with pytest.raises(LearnerError) as error:
        programmes.create_programme(programme_values(code="mech-4"), manager)
    assert (str(error.value), error.value.field) == (
        "Another programme already has the code MECH-4.",
        "code",
    )
    other = make_programme(manager, code="ELEC-3")
    with pytest.raises(LearnerError):
        programmes.update_programme(
            programmes.get_programme(other.id), programme_values(code="Mech-4"), manager
        )
    # A programme keeps its own code when edited.
    programmes.update_programme(
        programmes.get_programme(other.id),
        programme_values(code="ELEC-3", name="Electrics"),
        manager,
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Programme)) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"eqf_level": 9}, "eqf_level"), ({"sector": "Z"}, "sector"), ({"code": "  "}, "code")],
)
def test_programme_values_are_checked(ctx, manager, changes, field):
    with pytest.raises(LearnerError) as error:
        programmes.create_programme(programme_values(**changes), manager)
    assert error.value.field == field


def test_editing_outcomes_keeps_unchanged_rows_retires_removed_ones_and_reorders(ctx, manager):
    programme = programmes.create_programme(
        programme_values(outcomes=("Reads drawings", "Welds", "Programs PLCs")), manager
    )
    db.session.commit()
    ids = {text: id_ for id_, _pos, text, _r in outcomes_of(programme)}

    programmes.update_programme(
        programmes.get_programme(programme.id),
        programme_values(outcomes=("Programs PLCs", "Maintains robots", "Reads drawings")),
        manager,
    )
    db.session.commit()
    rows = outcomes_of(programme)
    assert [(pos, text, retired) for _id, pos, text, retired in rows] == [
        (1, "Programs PLCs", False),
        (2, "Maintains robots", False),
        (3, "Reads drawings", False),
        (4, "Welds", True),
    ]
    by_text = {text: id_ for id_, _pos, text, _r in rows}
    for kept in ("Programs PLCs", "Reads drawings", "Welds"):
        assert by_text[kept] == ids[kept]
    assert by_text["Maintains robots"] not in ids.values()

    # Listed again, a retired outcome comes back with its old row.
    programmes.update_programme(
        programmes.get_programme(programme.id),
        programme_values(outcomes=("Welds", "Programs PLCs")),
        manager,
    )
    db.session.commit()
    rows = outcomes_of(programme)
    assert [(text, retired) for _id, _pos, text, retired in rows] == [
        ("Welds", False),
        ("Programs PLCs", False),
        ("Maintains robots", True),
        ("Reads drawings", True),
    ]
    assert {text: id_ for id_, _p, text, _r in rows}["Welds"] == ids["Welds"]
    assert len(rows) == 4  # nothing deleted


def test_outcome_lines_are_trimmed_and_repeats_dropped():
    raw = "  Reads   drawings \n\nWelds\r\nReads drawings\n   \n"
    assert programmes.parse_outcomes(raw) == ("Reads drawings", "Welds")


def test_archived_programmes_are_not_offered(ctx, manager):
    active = make_programme(manager, name="Active")
    old = make_programme(manager, name="Old")
    programmes.set_programme_archived(old, True, manager)
    db.session.commit()
    assert [p.id for p in service.programme_choices()] == [active.id]
    # Except to a learner already on it.
    assert [p.id for p in service.programme_choices(keep_id=old.id)] == [active.id, old.id]
    officer = make_user(Role.OFFICER)
    with pytest.raises(LearnerError) as error:
        service.create_learner(learner_values(old, first_cohort(old)), officer)
    assert error.value.field == "programme_id"


# --- cohorts ------------------------------------------------------------------------------


def test_a_cohort_ends_after_it_starts(ctx, manager):
    programme = make_programme(manager, cohort=None)
    for ends in (dt.date(2026, 9, 1), dt.date(2026, 8, 1)):
        with pytest.raises(LearnerError) as error:
            programmes.add_cohort(
                programme, CohortValues("2026/27", dt.date(2026, 9, 1), ends), manager
            )
        assert (str(error.value), error.value.field) == (
            "The programme year must end after it starts.",
            "ends_on",
        )


def test_cohort_names_are_unique_per_programme(ctx, manager):
    programme = make_programme(manager, cohort="2026/27")
    with pytest.raises(LearnerError) as error:
        programmes.add_cohort(programme, YEAR, manager)
    assert (str(error.value), error.value.field) == (
        "This programme already has a cohort named 2026/27.",
        "name",
    )
    other = make_programme(manager, cohort=None)
    programmes.add_cohort(other, YEAR, manager)  # the same name elsewhere is fine
    later = make_cohort(programme, manager, year=2027)
    with pytest.raises(LearnerError):
        programmes.update_cohort(later, programme, YEAR, manager)
    with pytest.raises(PermissionError):
        programmes.update_cohort(later, other, YEAR, manager)


# --- learners -----------------------------------------------------------------------------


def test_an_officer_adds_a_learner_they_then_look_after(ctx, officer):
    programme = make_programme()
    learner = service.create_learner(learner_values(programme, first_cohort(programme)), officer)
    assert learner.officer_id == officer.id
    assert learner.support_needs == "Dyslexia: give written instructions."
    assert learner.sort_name == "muller lukasik zoe"
    assert learner.search_text == "zoe muller lukasik zoe mueller school test"


def test_the_cohort_must_belong_to_the_programme(ctx, officer):
    programme, other = make_programme(), make_programme()
    with pytest.raises(LearnerError) as error:
        service.create_learner(learner_values(programme, first_cohort(other)), officer)
    assert (str(error.value), error.value.field) == (
        "Choose a cohort of the chosen programme.",
        "cohort_id",
    )


def test_a_date_of_birth_cannot_be_in_the_future(ctx, officer):
    programme = make_programme()
    values = learner_values(programme, first_cohort(programme), birth_date=dt.date(2030, 1, 1))
    with pytest.raises(LearnerError) as error:
        service.create_learner(values, officer, today=dt.date(2026, 1, 1))
    assert error.value.field == "birth_date"


def test_search_ignores_case_and_accents_and_never_reads_support_needs(ctx, officer):
    programme = make_programme()
    cohort = first_cohort(programme)
    zoe = service.create_learner(learner_values(programme, cohort), officer)
    make_learner(officer, programme, first_name="Anna", last_name="Berg")
    db.session.commit()

    def found(query: str) -> list[int]:
        return [item.id for item in service.list_learners(LearnerFilters(query=query), 1, 50).items]

    assert found("MULLER") == [zoe.id]
    assert found("łukasik zoë") == [zoe.id]
    assert found("zoe.mueller@") == [zoe.id]
    assert found("dyslexia") == []


def test_the_list_is_ordered_by_surname(ctx, officer):
    programme = make_programme()
    for first, last in [("Émile", "Zola"), ("Ada", "Åberg"), ("Bea", "berg")]:
        make_learner(officer, programme, first_name=first, last_name=last)
    page = service.list_learners(LearnerFilters(), 1, 50)
    assert [learner.name for learner in page.items] == ["Ada Åberg", "Bea berg", "Émile Zola"]


def test_listed_learners_do_not_carry_support_needs(ctx, officer):
    make_learner(officer, support_needs="Secret")
    (learner,) = service.list_learners(LearnerFilters(), 1, 50).items
    with pytest.raises(sa.exc.InvalidRequestError):
        _ = learner.support_needs


def test_an_editor_who_may_not_see_support_needs_never_clears_them(ctx, officer, manager):
    learner = make_learner(officer, support_needs="Needs a quiet workplace")
    programme = db.session.get(Programme, learner.programme_id)
    cohort = db.session.get(Cohort, learner.cohort_id)
    assert service.can_see_support_needs(manager, learner)
    # A manager hands the learner to a colleague (a form without the field: None).
    colleague = make_user(Role.OFFICER)
    service.update_learner(
        learner,
        learner_values(programme, cohort, support_needs=None, officer_id=colleague.id),
        manager,
    )
    assert (learner.officer_id, learner.support_needs) == (colleague.id, "Needs a quiet workplace")
    # The former officer may neither edit nor see them any more.
    assert not service.can_edit(officer, learner)
    assert not service.can_see_support_needs(officer, learner)
    with pytest.raises(PermissionError):
        service.update_learner(learner, learner_values(programme, cohort), officer)
    # The new officer may; an officer's officer_id is ignored.
    service.update_learner(
        learner,
        learner_values(programme, cohort, support_needs="", officer_id=officer.id),
        colleague,
    )
    assert (learner.officer_id, learner.support_needs) == (colleague.id, "")


def test_age_and_minority():
    born = dt.date(2008, 2, 29)
    assert service.age_on(born, dt.date(2026, 2, 28)) == 17
    assert service.age_on(born, dt.date(2026, 3, 1)) == 18
    assert service.is_minor(born, dt.date(2026, 2, 28))
    assert not service.is_minor(born, dt.date(2026, 3, 1))
    assert service.age_on(None, dt.date(2026, 1, 1)) is None
    assert not service.is_minor(None, dt.date(2026, 1, 1))


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 30", "'+49 30"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("\0x", "'\0x"),
        ("Anna", "Anna"),
        (None, ""),
    ],
)
def test_csv_cells_that_look_like_formulas_are_neutralised(value, cell):
    assert service.csv_cell(value) == cell


def test_archived_learners_leave_the_list(ctx, officer):
    learner = make_learner(officer)
    service.set_learner_archived(learner, True, officer)
    assert service.list_learners(LearnerFilters(), 1, 50).total == 0
    assert service.list_learners(LearnerFilters(include_archived=True), 1, 50).total == 1
    service.set_learner_archived(learner, False, officer)
    assert db.session.get(Learner, learner.id).archived_at is None
