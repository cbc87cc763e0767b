"""The officer's e-mail about an evaluation, checked against stored snapshots."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from crm.evaluations import service as evaluations
from tests.evaluations.support import EVIDENCE, employer_values, learner_values, outbox

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(autouse=True)
def _base_url(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """Links in e-mails start with the configured address, whatever the environment says."""
    monkeypatch.setitem(app.config, "CRM_BASE_URL", "https://crm.example.test")


def text_of(world, message) -> str:
    return message.body_text.replace(f"/placements/{world.placement.id}#", "/placements/ID#")


def snapshot(name: str) -> str:
    return (SNAPSHOTS / name).read_text(encoding="utf-8").rstrip("\n")


def test_the_employers_evaluation_email_matches_the_snapshot(world):
    evaluations.submit_employer_evaluation(
        world.link, employer_values(world, host_again_from=dt.date(2027, 9, 1)), EVIDENCE
    )

    (message,) = outbox()
    assert text_of(world, message).rstrip("\n") == snapshot("evaluation_received.employer.en.txt")


def test_the_email_says_when_the_employer_will_not_host_again(world):
    evaluations.submit_employer_evaluation(
        world.link, employer_values(world, host_again=False), EVIDENCE
    )

    (message,) = outbox()
    assert "Would host again: no. Their capacity pledge is now 0." in message.body_text
    assert "Would host again: no. Their capacity pledge is now 0." in message.body_html


def test_the_learners_feedback_email_matches_the_snapshot(world):
    evaluations.submit_learner_feedback(world.feedback, learner_values(), EVIDENCE)

    (message,) = outbox()
    assert text_of(world, message).rstrip("\n") == snapshot("evaluation_received.learner.en.txt")
