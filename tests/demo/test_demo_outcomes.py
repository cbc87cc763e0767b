"""What the demo gives the dashboard, counted as a person would count it: agreements and
memoranda, learners with support needs, the skills gap, the officers' visits, and a
partnership at risk (crm.demo.demo_outcomes)."""

from __future__ import annotations

import datetime as dt
import io
import statistics
from collections import Counter

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from crm.agreements import signing
from crm.agreements.models import Agreement, AgreementKind, AgreementVersion, SignerParty
from crm.auth.models import User
from crm.db import utcnow
from crm.demo.demo import load_demo
from crm.demo.demo_outcomes import (
    EXPIRING_FROM_DAYS,
    EXPIRING_MEMORANDA,
    QUIET_DAYS,
    RENEWAL_SUBJECT,
)
from crm.demo.learners import DEMO_STORIES, SUPPORT_NEEDS_FEW, SUPPORT_NEEDS_MANY
from crm.demo.programmes import SKILL_TENDENCIES
from crm.evaluations.models import EvaluationRating
from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.health.service import current_config
from crm.learners.models import Learner, Programme, ProgrammeOutcome
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow.service import fire_due_timers
from tests.demo.support import assert_agreements_as_the_app_leaves_them

# A placement's agreement, by the placement's stage in the demo's stories.
EXPECTED = {
    "agreement_out": {"issued", "partially_signed", "declined"},
    "ready": {"signed"},
    "in_progress": {"signed"},
    "completed": {"expired"},  # their periods are over
    "evaluated": {"expired"},
    "cancelled": {"terminated"},  # the one cancelled while under way
}


@pytest.fixture
def demo(ctx):
    load_demo()
    db.session.flush()


def _stories(*targets: str, path: int | None = None) -> int:
    return sum(
        s.count for s in DEMO_STORIES if s.target in targets and (path is None or s.path == path)
    )


def test_demo_placements_at_the_agreement_stage_have_their_agreement(demo):
    placements = {p.id: p for p in db.session.scalars(sa.select(Placement))}
    agreements = list(
        db.session.scalars(sa.select(Agreement).where(Agreement.kind == AgreementKind.PLACEMENT))
    )
    per_stage = Counter(placements[a.placement_id].state for a in agreements)

    for agreement in agreements:
        placement = placements[agreement.placement_id]
        assert agreement.state in EXPECTED[placement.state], (placement.state, agreement.state)
        assert (agreement.valid_from, agreement.expires_on) == (
            placement.start_date,
            placement.end_date,
        )
    assert per_stage == {
        "agreement_out": _stories("agreement_out"),
        "ready": _stories("ready"),
        "in_progress": _stories("in_progress"),
        "completed": _stories("completed"),
        "evaluated": _stories("evaluated"),
        "cancelled": _stories("cancelled", path=3),
    }
    assert_agreements_as_the_app_leaves_them()
    assert fire_due_timers().fired == 0


def test_demo_memoranda_a_manager_can_count(demo):
    today = utcnow().date()
    partnerships = {p.id: p for p in db.session.scalars(sa.select(Partnership))}
    memoranda = list(
        db.session.scalars(sa.select(Agreement).where(Agreement.kind == AgreementKind.PARTNERSHIP))
    )
    running = [
        m for m in memoranda if partnerships[m.partnership_id].state in ("active", "under_review")
    ]
    signed = [m for m in running if m.state == "signed"]
    soon = [m for m in signed if m.expires_on <= today + dt.timedelta(days=90)]
    lapsed = [m for m in running if m.state == "expired"]
    agreeing = [p for p in partnerships.values() if p.state == "agreeing"]

    assert len(soon) == EXPIRING_MEMORANDA
    assert all(m.expires_on >= today + dt.timedelta(days=EXPIRING_FROM_DAYS) for m in soon)
    assert all(
        m.expires_on > today + dt.timedelta(days=QUIET_DAYS) for m in signed if m not in soon
    )
    assert len(lapsed) == 1 and lapsed[0].expires_on < today - dt.timedelta(days=7)
    out = {m.partnership_id for m in memoranda if m.state in ("issued", "partially_signed")}
    assert out and out <= {p.id for p in agreeing}
    assert len(signed) >= 8


def test_the_partnership_whose_memorandum_lapsed_is_clearly_at_risk(demo):
    lapsed = db.session.scalar(
        sa.select(Partnership)
        .join(Agreement, Agreement.partnership_id == Partnership.id)
        .where(Agreement.state == "expired", Partnership.state == "active")
    )
    reminder = db.session.scalar(
        sa.select(FollowUp)
        .where(FollowUp.record_type == "partnership", FollowUp.record_id == lapsed.id)
        .where(FollowUp.subject == RENEWAL_SUBJECT)
    )
    components = {c["key"]: c for c in lapsed.health_components}

    assert current_config().band_of(lapsed.health_score) in ("at_risk", "stalling")
    assert lapsed.health_score < 55
    assert components["agreement"]["reason"] == "agreement_expired"
    assert components["follow_ups"]["lost"] > 0
    assert reminder.status == FollowUpStatus.OPEN and reminder.due_at < utcnow()
    assert reminder.created_by_id == reminder.assignee_id == lapsed.owner_id


def test_demo_support_needs_show_in_one_programme_and_hide_in_another(demo):
    rows = db.session.execute(
        sa.select(Programme.code, Learner.id, Learner.support_needs).join(
            Programme, Programme.id == Learner.programme_id
        )
    ).all()
    placed = set(db.session.scalars(sa.select(Placement.learner_id)))
    with_needs = Counter(code for code, _id, needs in rows if needs)
    placements = Counter(
        code
        for code, learner_id in db.session.execute(
            sa.select(Programme.code, Placement.learner_id)
            .join(Programme, Programme.id == Placement.programme_id)
            .join(Learner, Learner.id == Placement.learner_id)
            .where(Learner.support_needs != "")
        )
    )

    assert sorted(with_needs.values(), reverse=True) == [SUPPORT_NEEDS_MANY, SUPPORT_NEEDS_FEW]
    assert all(learner_id in placed for _code, learner_id, needs in rows if needs)
    many = next(code for code, count in with_needs.items() if count == SUPPORT_NEEDS_MANY)
    few = next(code for code, count in with_needs.items() if count == SUPPORT_NEEDS_FEW)
    assert placements[many] >= 5 > placements[few] >= 1


def test_demo_employers_rate_the_weaker_skills_lower(demo):
    rows = db.session.execute(
        sa.select(Programme.code, ProgrammeOutcome.position, EvaluationRating.rating)
        .join(ProgrammeOutcome, ProgrammeOutcome.id == EvaluationRating.outcome_id)
        .join(Programme, Programme.id == ProgrammeOutcome.programme_id)
        .where(EvaluationRating.rating.is_not(None))
    ).all()
    weak = [r for code, p, r in rows if SKILL_TENDENCIES[code].get(p - 1, 0) <= -0.6]
    other = [r for code, p, r in rows if SKILL_TENDENCIES[code].get(p - 1, 0) > -0.6]

    assert weak and statistics.mean(weak) < statistics.mean(other) - 0.3


def test_officers_planned_a_visit_to_every_placement_under_way(demo):
    now = utcnow()
    under_way = set(
        db.session.scalars(sa.select(Placement.id).where(Placement.state == "in_progress"))
    )
    visits = list(
        db.session.scalars(
            sa.select(FollowUp).where(
                FollowUp.record_type == "placement", FollowUp.created_by_id.is_not(None)
            )
        )
    )
    overdue = [v for v in visits if v.status == FollowUpStatus.OPEN and v.due_at < now]

    assert sorted(v.record_id for v in visits) == sorted(under_way)
    assert 1 <= len(overdue) <= 2
    assert all(v.reminder_sent_at == v.due_at for v in overdue)
    assert all(v.created_by_rule == "" for v in visits)


def test_demo_command_reports_agreements_and_support_needs(app, ctx):
    result = app.test_cli_runner().invoke(args=["crm", "demo"])

    assert result.exit_code == 0, result.output
    agreements = db.session.scalar(sa.select(sa.func.count(Agreement.id)))
    needs = db.session.scalar(
        sa.select(sa.func.count(Learner.id)).where(Learner.support_needs != "")
    )
    assert f"Added {agreements} agreements" in result.output
    assert f"{EXPIRING_MEMORANDA} of them expiring within 90 days" in result.output
    assert f"{needs} learners have support needs" in result.output


def test_the_provider_signs_an_agreement_out_for_signature_and_it_is_sealed(demo):
    """The app carries on from the demo's rows: once the other parties have signed, the
    manager's signature completes the memorandum, seals the placeholder and activates the
    partnership."""
    memorandum = db.session.scalars(
        sa.select(Agreement)
        .where(Agreement.kind == AgreementKind.PARTNERSHIP, Agreement.state == "issued")
        .order_by(Agreement.id)
    ).first()
    version = db.session.scalar(
        sa.select(AgreementVersion).where(AgreementVersion.agreement_id == memorandum.id)
    )
    signers = signing.signers_of(version.id)
    employer = next(s for s in signers if s.party == SignerParty.EMPLOYER)
    provider = next(s for s in signers if s.party == SignerParty.PROVIDER)
    manager = db.session.scalar(sa.select(User).where(User.email == "manager@demo.test"))
    link = signing.invite(employer, acting=manager, now=utcnow())
    evidence = signing.now_evidence("203.0.113.9", "Mozilla/5.0 (Android 14; Mobile)")

    signing.sign_by_link(link, employer.name, True, evidence, document_sha256=version.sha256)
    signing.sign_in_app(
        provider,
        manager,
        manager.name,
        True,
        signing.now_evidence("192.0.2.10", "Mozilla/5.0"),
        document_sha256=version.sha256,
    )

    db.session.refresh(memorandum)
    db.session.refresh(version)
    partnership = db.session.get(Partnership, memorandum.partnership_id)
    assert memorandum.state == "signed"
    assert version.sealed_pdf.startswith(version.pdf)
    sealed = PdfReader(io.BytesIO(version.sealed_pdf))
    assert len(sealed.pages) == 2  # the placeholder and the real evidence page
    assert manager.name in sealed.pages[1].extract_text()
    assert partnership.state == "active"
