"""The evaluations panel on the placement page, for staff."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import render_template

from crm.evaluations import service as evaluations
from crm.extensions import db
from crm.learners.models import ProgrammeOutcome
from tests.evaluations.support import EVIDENCE, employer_values, learner_values


def panel_of(html: str) -> str:
    match = re.search(
        r'<section class="card card-body mb-4" id="evaluations">.*?</section>', html, re.S
    )
    assert match, "no evaluations panel on the page"
    return match.group(0)


def article(panel: str, kind: str) -> str:
    match = re.search(rf'<article[^>]*id="evaluation-{kind}".*?</article>', panel, re.S)
    assert match, f"no {kind} evaluation in the panel"
    return " ".join(match.group(0).split())


def test_the_officer_sees_both_evaluations_on_the_placement_page(world, login_as):
    evaluations.submit_employer_evaluation(
        world.link, employer_values(world, comments="Keen & careful."), EVIDENCE
    )
    evaluations.submit_learner_feedback(world.feedback, learner_values(), EVIDENCE)
    db.session.commit()

    response = login_as(world.sent.world.officer).get(f"/placements/{world.placement.id}")

    assert response.status_code == 200
    panel = panel_of(response.get_data(as_text=True))
    employer = article(panel, "employer")
    assert "Employer&#39;s evaluation" in employer or "Employer's evaluation" in employer
    assert "Sven Supervisor" in employer
    assert 'Overall satisfaction</dt> <dd class="col-sm-7 satisfaction">4 of 5' in employer
    assert "Yes, 2 learners per term" in employer
    assert (
        '<td>Reads technical drawings</td> <td class="text-end text-nowrap">5 of 5</td>' in employer
    )
    assert (
        '<td>Assembles gearboxes safely</td> <td class="text-end text-nowrap">3 of 5</td>'
        in employer
    )
    assert "Works in a team</td>" in employer and "not observed" in employer
    assert "Keen &amp; careful." in employer
    learner = article(panel, "learner")
    assert "Lena Lernend" in learner
    assert "5 of 5" in learner
    assert (
        'Helped reach the learning objectives</dt> <dd class="col-sm-7 objectives">4 of 5'
        in learner
    )
    assert 'Recommends the workplace</dt> <dd class="col-sm-7 recommends">Yes' in learner
    assert "Friendly team." in learner and "More time on the CNC machine." in learner
    assert panel.index('id="evaluation-employer"') < panel.index('id="evaluation-learner"')


def test_would_not_host_again_reads_no(world, ctx):
    evaluations.submit_employer_evaluation(
        world.link, employer_values(world, host_again=False), EVIDENCE
    )

    panel = render_template(
        "evaluations/_panel.html", evaluations=evaluations.evaluations_of(world.placement.id)
    )

    assert 'host-again">No</dd>' in " ".join(panel.split()).replace("> ", ">").replace(" <", "<")


def test_a_skill_retired_since_the_evaluation_is_still_shown_as_rated(world, ctx):
    evaluations.submit_employer_evaluation(world.link, employer_values(world), EVIDENCE)
    db.session.execute(
        sa.update(ProgrammeOutcome)
        .where(ProgrammeOutcome.id == world.skills[0].id)
        .values(retired=True)
    )

    panel = render_template(
        "evaluations/_panel.html", evaluations=evaluations.evaluations_of(world.placement.id)
    )

    assert "Reads technical drawings" in panel
    assert "no longer asked" in panel


def test_a_completed_placement_without_evaluations_says_none_yet(world, login_as):
    response = login_as(world.sent.world.officer).get(f"/placements/{world.placement.id}")

    panel = panel_of(response.get_data(as_text=True))
    assert 'id="no-evaluations"' in panel
