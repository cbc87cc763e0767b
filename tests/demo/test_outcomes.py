"""What came of the generated placements and partnerships: evaluations, agreements, support
needs, follow-ups and health scores (crm.demo.generate_outcomes and its helpers)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
import statistics
from collections import Counter, defaultdict

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from crm.agreements.adapter import definition as agreement_definition
from crm.agreements.document import Signatory
from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementVersion,
    SignerParty,
)
from crm.auth.models import Role, User
from crm.db import utcnow
from crm.demo import generate_placements as generator
from crm.demo.agreement_rows import (
    AgreementPlanner,
    AgreementRows,
    ProviderSigner,
    english_words,
)
from crm.demo.generate import (
    GENERATED_MANAGER,
    GENERATED_PASSWORD,
    ScaleTargets,
    generate_register,
)
from crm.demo.generate_memoranda import PartnershipSubject, plan_memoranda
from crm.demo.histories import HistoryMaker
from crm.demo.outcome_rows import outcome_context
from crm.demo.placeholder_documents import placeholder_documents
from crm.demo.programmes import SKILL_TENDENCIES
from crm.demo.rows import OfficerRow
from crm.evaluations.models import Evaluation, EvaluationKind, EvaluationRating
from crm.extensions import db
from crm.followups import jobs as follow_up_jobs
from crm.followups.models import FollowUp, FollowUpStatus
from crm.learners.models import Learner, Programme, ProgrammeOutcome
from crm.learners.service import is_minor
from crm.partnerships.models import Partnership
from crm.partnerships.service import definition as partnership_definition
from crm.placements.adapter import definition as placement_definition
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import fire_due_timers
from tests.demo.support import (
    SIGNED_BY_ALL,
    assert_agreements_as_the_app_leaves_them,
    fired_at,
    histories,
    signers_by_version,
)

# Where a placement's agreement stands, by the placement's stage.
AGREEMENT_STATES = {
    "agreement_out": {"issued", "partially_signed", "declined"},
    "ready": {"signed"},
    "in_progress": {"signed"},
    "completed": {"signed", "expired"},
    "evaluated": {"signed", "expired"},
    "cancelled": {"terminated"},
}
TARGETS = ScaleTargets(
    organisations=200, contacts=700, activities=600, seed=4, placements=900, learners=400
)


@pytest.fixture
def generated(ctx):
    report = generate_register(TARGETS)
    db.session.flush()
    return report


def test_evaluated_placements_have_the_employers_evaluation_with_ratings(generated):
    placements = {p.id: p for p in db.session.scalars(sa.select(Placement))}
    steps = histories("placement")
    evaluations = list(db.session.scalars(sa.select(Evaluation)))
    ratings: dict[int, dict[int, int | None]] = defaultdict(dict)
    for rating in db.session.scalars(sa.select(EvaluationRating)):
        ratings[rating.evaluation_id][rating.outcome_id] = rating.rating
    skills: dict[int, set[int]] = defaultdict(set)
    for programme_id, outcome_id in db.session.execute(
        sa.select(ProgrammeOutcome.programme_id, ProgrammeOutcome.id).where(
            ~ProgrammeOutcome.retired
        )
    ):
        skills[programme_id].add(outcome_id)
    employer = [e for e in evaluations if e.kind == EvaluationKind.EMPLOYER]
    learner = [e for e in evaluations if e.kind == EvaluationKind.LEARNER]
    now = utcnow()

    assert {e.placement_id for e in employer} == {
        p.id for p in placements.values() if p.state == "evaluated"
    }
    assert (
        len(employer) == len({e.placement_id for e in employer}) == generated.learners.evaluations
    )
    for evaluation in employer:
        placement = placements[evaluation.placement_id]
        assert evaluation.submitted_at == fired_at(steps[placement.id], "evaluate")
        assert (evaluation.organisation_id, evaluation.programme_id) == (
            placement.organisation_id,
            placement.programme_id,
        )
        assert set(ratings[evaluation.id]) == skills[placement.programme_id]
        assert any(value is not None for value in ratings[evaluation.id].values())
        assert evaluation.evaluator_name
    assert learner and len(learner) == generated.learners.feedback
    for evaluation in learner:
        placement = placements[evaluation.placement_id]
        assert placement.state in ("completed", "evaluated")
        completed = fired_at(steps[placement.id], "complete")
        assert completed < evaluation.submitted_at < now
        assert evaluation.id not in ratings
    every = [value for own in ratings.values() for value in own.values()]
    assert len(every) == generated.learners.ratings
    assert None in every and set(every) - {None} == {1, 2, 3, 4, 5}
    satisfaction = [e.satisfaction for e in employer]
    assert 3.4 <= statistics.mean(satisfaction) <= 4.4
    assert set(satisfaction) >= {2, 3, 4, 5}


def test_employers_rate_the_weaker_skills_lower(generated):
    """The skills gap: the skills SKILL_TENDENCIES marks weak average clearly lower."""
    code_of = dict(db.session.execute(sa.select(Programme.id, Programme.code)).all())
    rows = db.session.execute(
        sa.select(
            ProgrammeOutcome.programme_id,
            ProgrammeOutcome.position,
            EvaluationRating.rating,
        )
        .join(ProgrammeOutcome, ProgrammeOutcome.id == EvaluationRating.outcome_id)
        .where(EvaluationRating.rating.is_not(None))
    )
    weak, other = [], []
    for programme_id, position, rating in rows:
        tendency = SKILL_TENDENCIES.get(code_of[programme_id], {}).get(position - 1, 0.0)
        (weak if tendency <= -0.6 else other).append(rating)

    assert len(weak) > 30
    assert statistics.mean(other) - statistics.mean(weak) > 0.4


def test_placements_at_the_agreement_stage_have_their_agreement(generated):
    placements = {p.id: p for p in db.session.scalars(sa.select(Placement))}
    learners = {learner.id: learner for learner in db.session.scalars(sa.select(Learner))}
    steps = histories("placement")
    agreements = list(
        db.session.scalars(sa.select(Agreement).where(Agreement.kind == AgreementKind.PLACEMENT))
    )
    versions = {v.agreement_id: v for v in db.session.scalars(sa.select(AgreementVersion))}
    signers = signers_by_version()
    manager = db.session.scalar(sa.select(User).where(User.email == GENERATED_MANAGER))
    today = utcnow().date()

    sent = {p_id for p_id, rows in steps.items() if fired_at(rows, "send_agreement")}
    assert {a.placement_id for a in agreements} == sent
    assert len(agreements) == len(sent) == generated.learners.agreements.agreements
    states = Counter()
    for agreement in agreements:
        placement = placements[agreement.placement_id]
        states[agreement.state] += 1
        assert agreement.state in AGREEMENT_STATES[placement.state], (placement.state, agreement)
        assert (agreement.organisation_id, agreement.officer_id) == (
            placement.organisation_id,
            placement.officer_id,
        )
        assert (agreement.valid_from, agreement.expires_on) == (
            placement.start_date,
            placement.end_date,
        )
        if agreement.state == "expired":
            assert agreement.expires_on < today
        elif agreement.state == "signed":
            assert agreement.expires_on >= today - dt.timedelta(days=1)
        version = versions[agreement.id]
        assert (agreement.current_number, version.number) == (1, 1)
        assert agreement.document_sha256 == version.sha256
        assert version.sha256 == hashlib.sha256(version.pdf).hexdigest()
        assert version.issued_at == fired_at(steps[placement.id], "send_agreement")
        own = signers[version.id]
        learner = learners[placement.learner_id]
        parties = [s.party for s in own]
        minor = is_minor(learner.birth_date, placement.start_date)
        assert sorted(parties) == sorted(
            [SignerParty.PROVIDER, SignerParty.EMPLOYER, SignerParty.LEARNER]
            + ([SignerParty.GUARDIAN] if minor else [])
        )
        signed = [s for s in own if s.signed_at is not None]
        declined = [s for s in own if s.declined_at is not None]
        for signer in signed:
            assert signer.signed_sha256 == version.sha256 and signer.typed_name and signer.ip
            assert version.issued_at < signer.signed_at
        if agreement.state in SIGNED_BY_ALL:
            assert len(signed) == len(own)
            assert max(s.signed_at for s in own) == fired_at(
                steps[placement.id], "agreement_signed"
            )
            assert version.sealed_pdf.startswith(version.pdf)
            assert version.sealed_sha256 == hashlib.sha256(version.sealed_pdf).hexdigest()
            provider = next(s for s in own if s.party == SignerParty.PROVIDER)
            assert (provider.user_id, provider.name) == (manager.id, manager.name)
        else:
            assert version.sealed_pdf is None and len(signed) < len(own)
        if agreement.state == "partially_signed":
            assert signed and not declined
        if agreement.state == "declined":
            assert len(declined) == 1 and declined[0].decline_reason == agreement.decline_reason
        if agreement.state == "terminated":
            assert agreement.termination_reason == _cancel_comment(steps[placement.id])
    assert {"issued", "partially_signed", "signed", "expired"} <= set(states), states
    assert fire_due_timers().fired == 0  # nothing the scheduler would still have done


def _cancel_comment(rows: list[WorkflowTransition]) -> str:
    return next(row.comment for row in rows if row.transition == "cancel")


def test_agreements_are_as_the_app_leaves_them(generated):
    assert_agreements_as_the_app_leaves_them()


def test_the_documents_are_labelled_placeholders(generated):
    version = db.session.scalars(
        sa.select(AgreementVersion).where(AgreementVersion.sealed_pdf.is_not(None))
    ).first()
    documents = placeholder_documents(generator.DOCUMENTS_SOURCE)

    assert (version.pdf, version.sealed_pdf) == (documents.pdf, documents.sealed_pdf)
    assert len(version.pdf) < 2000 and version.pages == 1 and version.values["placeholder"]
    original = PdfReader(io.BytesIO(version.pdf))
    assert "PLACEHOLDER" in original.pages[0].extract_text()
    assert "crm generate" in original.pages[0].extract_text()
    assert len(PdfReader(io.BytesIO(version.sealed_pdf)).pages) == 2


def test_partnerships_that_issued_a_memorandum_have_it(generated):
    partnerships = {p.id: p for p in db.session.scalars(sa.select(Partnership))}
    memoranda = list(
        db.session.scalars(sa.select(Agreement).where(Agreement.kind == AgreementKind.PARTNERSHIP))
    )
    steps = histories("partnership")
    today = utcnow().date()

    assert len(memoranda) == len({m.partnership_id for m in memoranda})
    assert len(memoranda) == generated.memoranda.written.agreements
    states = Counter()
    for memorandum in memoranda:
        partnership = partnerships[memorandum.partnership_id]
        rows = steps[partnership.id]
        states[(partnership.state, memorandum.state)] += 1
        assert memorandum.officer_id == partnership.owner_id
        if memorandum.state == "draft":
            assert partnership.state == "needs_analysed" and memorandum.current_number == 0
            continue
        issued = fired_at(rows, "issue_memorandum")
        assert issued is not None and memorandum.valid_from == issued.date()
        assert memorandum.expires_on > memorandum.valid_from
        if partnership.state == "agreeing":
            assert memorandum.state in ("issued", "partially_signed", "declined")
        if memorandum.state in SIGNED_BY_ALL:
            assert fired_at(rows, "activate") is not None
        if memorandum.state == "expired":
            assert memorandum.expires_on < today
    signed = [m for m in memoranda if m.state == "signed"]
    soon = [m for m in signed if m.expires_on <= today + dt.timedelta(days=90)]
    assert states[("active", "signed")] > 10 and states[("agreeing", "issued")]
    assert soon and len(soon) == generated.memoranda.expiring
    active = [p for p in partnerships.values() if p.state == "active"]
    with_one = {m.partnership_id for m in signed}
    assert sum(1 for p in active if p.id in with_one) > len(active) * 0.6


def test_learners_with_support_needs_are_spread_over_programmes(generated):
    per_programme = Counter(
        code
        for code, needs in db.session.execute(
            sa.select(Programme.code, Learner.support_needs).join(
                Programme, Programme.id == Learner.programme_id
            )
        )
        if needs
    )
    learners = db.session.scalar(sa.select(sa.func.count(Learner.id)))

    assert sum(per_programme.values()) == generated.learners.support_needs
    assert 0.04 * learners <= sum(per_programme.values()) <= 0.11 * learners
    assert len(per_programme) >= 6


def test_officers_have_open_and_overdue_follow_ups(generated):
    now = utcnow()
    follow_ups = list(db.session.scalars(sa.select(FollowUp)))
    officers = set(db.session.scalars(sa.select(User.id).where(User.role == Role.OFFICER)))
    own = [f for f in follow_ups if f.created_by_id is not None]
    open_ones = [f for f in follow_ups if f.status == FollowUpStatus.OPEN]
    overdue = [f for f in open_ones if f.due_at < now]
    per_officer = Counter(f.assignee_id for f in open_ones)

    assert len(own) == generated.learners.own_follow_ups
    assert {f.status for f in own} == {FollowUpStatus.OPEN, FollowUpStatus.DONE}
    assert any(f.due_at < now for f in own if f.status == FollowUpStatus.OPEN)
    for follow_up in own:
        assert follow_up.created_by_rule == "" and follow_up.created_by_id == follow_up.assignee_id
        assert follow_up.created_at < follow_up.due_at
        assert (follow_up.completed_by_id is not None) == (follow_up.status == FollowUpStatus.DONE)
    assert 0.15 * len(open_ones) <= len(overdue) <= 0.6 * len(open_ones)
    assert set(per_officer) == officers
    assert follow_up_jobs.send_due_reminders(now=now).reminded == 0


def test_every_open_partnership_has_a_health_score(generated):
    rows = db.session.execute(sa.select(Partnership.state, Partnership.health_score)).all()
    scored = [score for state, score in rows if state != "closed"]

    assert all(score is not None for score in scored)
    assert generated.health_scores == len(scored)
    assert min(scored) < 60 < max(scored)


def test_generate_command_says_what_came_of_the_placements(app, ctx):
    result = app.test_cli_runner().invoke(
        args=[
            "crm",
            "generate",
            "--organisations",
            "40",
            "--contacts",
            "120",
            "--activities",
            "100",
            "--placements",
            "150",
        ]
    )

    assert result.exit_code == 0, result.output
    evaluations = db.session.scalar(
        sa.select(sa.func.count(Evaluation.id)).where(Evaluation.kind == EvaluationKind.EMPLOYER)
    )
    assert f"Added {evaluations:,} employers' evaluations" in result.output
    assert "placeholder PDF" in result.output
    assert f"Created a manager ({GENERATED_MANAGER})" in result.output
    assert "health scores" in result.output


# --- the same seed, the same data ---------------------------------------------------------------


def _plan(outcome_seed: int) -> generator._Plan:
    organisations = set(db.session.scalars(sa.select(Partnership.organisation_id)))
    officer = db.session.scalars(sa.select(User).where(User.role == Role.OFFICER)).first()
    manager = db.session.scalar(sa.select(User).where(User.email == GENERATED_MANAGER))
    years = [generator.programme_year(y) for y in (2025, 2026)]
    codes = [p.code for p in generator.PROGRAMMES]
    ids = dict(db.session.execute(sa.select(Programme.code, Programme.id)).all())
    plan = generator._Plan(
        placement_definition(),
        {code: ids[code] for code in codes},
        {(code, y.name): 1 for code in codes for y in years},
        years,
        generator.load_hosts(organisations, random.Random(3)),
        [OfficerRow(officer.id, officer.name)],
        dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC),
    )
    plan.outcomes = outcome_context(
        now=plan.now,
        seed=outcome_seed,
        programme_ids=plan.programme_ids,
        pledges=plan.hosts.pledges,
        supervisors=plan.hosts.supervisors,
        provider=ProviderSigner(manager.id, manager.name),
        documents_source="test",
    )
    return plan


def test_outcomes_are_planned_the_same_for_the_same_seed(ctx, monkeypatch):
    generate_register(ScaleTargets(organisations=60, contacts=240, activities=50, placements=20))
    monkeypatch.setattr(generator, "LEARNERS_PER_BATCH", 9)

    def batches(seed: int) -> list[generator._Batch]:
        return list(generator._planned_batches(_plan(seed), 30, 70, random.Random(4)))

    here, again, other = batches(11), batches(11), batches(12)
    there = list(
        generator._planned_elsewhere(
            generator._planned_batches(_plan(11), 30, 70, random.Random(4))
        )
    )

    assert here == again == there
    planned = [outcome for batch in here for _p, _l, outcome in batch.outcomes]
    assert any(o.agreement for o in planned) and any(o.evaluations for o in planned)
    assert [o for b in other for *_, o in b.outcomes] != planned
    assert [b.learners for b in other] == [b.learners for b in here]  # the placements stay


def test_memoranda_are_planned_the_same_for_the_same_seed(ctx):
    generate_register(ScaleTargets(organisations=60, contacts=240, activities=50, placements=0))
    manager = db.session.scalar(sa.select(User).where(User.email == GENERATED_MANAGER))

    def plan(seed: int) -> list[tuple[int, AgreementRows]]:
        maker = HistoryMaker(partnership_definition(), random.Random(5))
        now = dt.datetime(2026, 11, 2, 10, tzinfo=dt.UTC)
        subjects = [
            PartnershipSubject(
                n, OfficerRow(1, "Officer"), maker.history(now - dt.timedelta(days=700), now)
            )
            for n in range(60)
        ]
        planner = AgreementPlanner(
            agreement_definition(),
            random.Random(seed),
            now,
            ProviderSigner(manager.id, manager.name),
            placeholder_documents("test"),
            english_words(),
        )
        signatories = {
            n: (Signatory(SignerParty.EMPLOYER, f"Person {n}", f"p{n}@example.test"), "en")
            for n in range(60)
        }
        return plan_memoranda(planner, subjects, signatories, {"en"})

    first, second = plan(7), plan(7)

    assert first == second and len(first) > 10
    assert {rows.state for _, rows in first} >= {"signed", "issued"}


# --- the app works on what was generated --------------------------------------------------------


def test_a_manager_opens_generated_agreements_placements_and_partnerships(generated, make_client):
    client = make_client()
    client.login(GENERATED_MANAGER, GENERATED_PASSWORD)
    shown = {}
    for agreement in db.session.scalars(sa.select(Agreement).order_by(Agreement.id)):
        shown.setdefault((agreement.kind, agreement.state), agreement)
    evaluated = db.session.scalars(
        sa.select(Placement).where(Placement.state == "evaluated")
    ).first()

    assert len(shown) >= 8
    for agreement in shown.values():
        page = client.get(f"/agreements/{agreement.id}")
        assert page.status_code == 200, (agreement.state, page.get_data(as_text=True)[:500])
        if agreement.current_number:
            pdf = client.get(f"/agreements/{agreement.id}/versions/1.pdf")
            assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
        subject = (
            f"/placements/{agreement.placement_id}"
            if agreement.placement_id
            else f"/partnerships/{agreement.partnership_id}"
        )
        assert client.get(subject).status_code == 200
    page = client.get(f"/placements/{evaluated.id}").get_data(as_text=True)
    assert 'id="evaluation-employer"' in page
