"""Signatures at the same moment: two submissions of one signing link (exactly one counts),
and the last two parties signing together (the agreement is signed once, sealed once).

These tests commit for real, from two threads that post through the real signing page with
their own clients, sessions and connections, so they run outside the rolled-back transaction
(marker `committed`) on an empty database that they leave empty.

The defences: the link page locks the link's row for a POST, and `spend` is a conditional
UPDATE (of two submissions of one link, one spends it; the other changes nothing); then the
agreement's row is locked before the signatures are counted, so that two parties signing at
once are counted one after the other and the last one completes the agreement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from crm.agreements import signing
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion
from crm.auth.models import Role, User
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink
from crm.outbox.models import OutboxMessage
from crm.placements.models import Placement
from crm.workflow.models import WorkflowTransition
from crm.workflow.service import forget_verified_snapshots
from tests.agreements.signing_support import page_values, send_agreement, sign_path
from tests.factories import make_user

ANSWERS = {
    "sign": {"decision": "sign", "typed_name": "Sven Supervisor", "consent": "y"},
    "decline": {"decision": "decline", "reason": "The hours are wrong."},
    "learner": {"decision": "sign", "typed_name": "Lena Lernend", "consent": "y"},
}


@dataclass(frozen=True)
class Arranged:
    agreement_id: int
    placement_id: int
    paths: dict[str, str]
    link_ids: dict[str, int]


def arrange(app: Flask, *, provider_signed: bool) -> Arranged:
    """A placement agreement sent for signature (the provider's signature too, if asked)."""
    with app.test_request_context("/"):
        officer = make_user(Role.OFFICER, name="Olga Officer")
        issued = send_agreement(officer)
        if provider_signed:
            manager = make_user(Role.MANAGER, name="Mia Manager")
            signing.sign_in_app(
                issued.signers["provider"],
                manager,
                "Mia Manager",
                True,
                signing.now_evidence("198.51.100.20", "desk"),
                document_sha256=issued.version.sha256,
            )
            db.session.commit()
        arranged = Arranged(
            issued.agreement.id,
            issued.placement.id,
            {party: sign_path(link) for party, link in issued.links.items()},
            {party: link.id for party, link in issued.links.items()},
        )
        db.session.rollback()  # reading began a transaction: end it before the race
    return arranged


@pytest.fixture
def committed_cleanup(empty_database: None) -> Iterator[None]:
    yield
    forget_verified_snapshots()  # the clean-up deletes the stored definitions too


def is_postgres(app: Flask) -> bool:
    with app.app_context():
        return db.engine.dialect.name == "postgresql"


def race(make_client: Callable[[], Any], posts: list[tuple[str, dict[str, str]]]) -> list[Any]:
    """Post both forms from two browsers at once; (status, page) of each, or the error."""
    clients = [make_client() for _ in posts]
    # Both pages open first, as in life: each form carries its page's token and hash.
    forms = [
        {**page_values(client.get(path).get_data(as_text=True)), **answer}
        for client, (path, answer) in zip(clients, posts, strict=True)
    ]
    outcomes: list[Any] = ["not run", "not run"]

    def post(index: int) -> None:
        try:
            response = clients[index].post(
                posts[index][0], data=forms[index], headers={"User-Agent": f"browser-{index}"}
            )
            outcomes[index] = (response.status_code, response.get_data(as_text=True))
        except BaseException as exc:  # reported by the test, not lost in the thread
            outcomes[index] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing thread hung"
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    assert not errors, errors
    return outcomes


@dataclass(frozen=True)
class Outcome:
    """What the database holds after the race."""

    state: str
    transitions: list[tuple[str, str]]
    officer_emails: int
    signed: dict[str, str]  # party → typed name, for those who signed
    declined: list[str]
    sealed: bool
    placement_state: str


def outcome(app: Flask, arranged: Arranged) -> Outcome:
    with app.app_context():
        agreement = db.session.get(Agreement, arranged.agreement_id)
        placement = db.session.get(Placement, arranged.placement_id)
        assert agreement is not None and placement is not None
        version = db.session.scalar(
            sa.select(AgreementVersion).where(AgreementVersion.agreement_id == agreement.id)
        )
        assert version is not None
        signers = list(
            db.session.scalars(
                sa.select(AgreementSigner).where(AgreementSigner.version_id == version.id)
            )
        )
        transitions = db.session.execute(
            sa.select(WorkflowTransition.transition, WorkflowTransition.actor_kind)
            .where(
                WorkflowTransition.record_type == "agreement",
                WorkflowTransition.record_id == agreement.id,
                WorkflowTransition.transition != "issue",
            )
            .order_by(WorkflowTransition.id)
        ).all()
        emails = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "agreement_signed_by")
        )
        return Outcome(
            agreement.state,
            [tuple(row) for row in transitions],  # type: ignore[misc]
            int(emails or 0),
            {s.party.value: s.typed_name for s in signers if s.signed_at is not None},
            [s.party.value for s in signers if s.declined_at is not None],
            version.sealed_pdf is not None,
            placement.state,
        )


def link_of(app: Flask, link_id: int) -> tuple[str, str]:
    with app.app_context():
        link = db.session.get(ActionLink, link_id)
        assert link is not None and link.spent_at is not None
        return link.decision, link.decided_user_agent


@pytest.mark.committed
@pytest.mark.parametrize("row_lock", [True, False], ids=["row lock", "conditional update alone"])
@pytest.mark.parametrize(
    "answers", [["sign", "sign"], ["sign", "decline"]], ids=lambda a: "+".join(a)
)
def test_two_submissions_of_one_signing_link_exactly_one_counts(
    app, committed_cleanup, make_client, monkeypatch, row_lock, answers
):
    arranged = arrange(app, provider_signed=False)
    postgres = is_postgres(app)
    real_find, real_spend = links.find, links.spend
    # SQLite's write transactions begin IMMEDIATE at the first statement: there the two meet
    # before the link is read. On PostgreSQL without the row lock they meet after both have
    # read the link open and checked the signature, just before spending it.
    together = threading.Barrier(2, timeout=30)
    meet_before_spend = postgres and not row_lock
    spent: list[bool] = []

    def find(token: str, *, lock: bool = False) -> Any:
        if lock and not meet_before_spend:
            together.wait()
        return real_find(token, lock=lock and row_lock)

    def spend(link: ActionLink, *args: Any, **kwargs: Any) -> bool:
        if meet_before_spend:
            together.wait()
        result = real_spend(link, *args, **kwargs)
        spent.append(result)
        return result

    monkeypatch.setattr(links, "find", find)
    monkeypatch.setattr(links, "spend", spend)

    path = arranged.paths["employer"]
    outcomes = race(make_client, [(path, ANSWERS[answer]) for answer in answers])

    statuses = sorted(status for status, _page in outcomes)
    assert statuses == [200, 303], outcomes
    winner = next(i for i, (status, _page) in enumerate(outcomes) if status == 303)
    # The one who lost the race sees the answer that won, never an error.
    assert "This link has been answered" in outcomes[1 - winner][1]
    won = answers[winner]
    expected = (
        Outcome(
            "partially_signed",
            [("sign_partly", "employer")],
            1,
            {"employer": "Sven Supervisor"},
            [],
            False,
            "agreement_out",
        )
        if won == "sign"
        else Outcome(
            "declined", [("decline", "employer")], 1, {}, ["employer"], False, "agreement_out"
        )
    )
    assert outcome(app, arranged) == expected
    assert link_of(app, arranged.link_ids["employer"]) == (won, f"browser-{winner}")
    if meet_before_spend:
        # Both read the link open; the conditional UPDATE let exactly one through.
        assert sorted(spent) == [False, True]
    else:
        # The second request waited for the first and found the link already spent.
        assert spent == [True]


@pytest.mark.committed
def test_the_last_two_parties_signing_together_complete_the_agreement_once(
    app, committed_cleanup, make_client, monkeypatch
):
    arranged = arrange(app, provider_signed=True)
    postgres = is_postgres(app)
    real_find, real_spend = links.find, links.spend
    together = threading.Barrier(2, timeout=30)

    def find(token: str, *, lock: bool = False) -> Any:
        if lock and not postgres:
            together.wait()  # SQLite: they meet before their first statement
        return real_find(token, lock=lock)

    def spend(link: ActionLink, *args: Any, **kwargs: Any) -> bool:
        result = real_spend(link, *args, **kwargs)
        if postgres:
            # Each has spent its own link and is about to count the signatures: without the
            # agreement's row lock each would count only its own and neither would complete.
            together.wait()
        return result

    monkeypatch.setattr(links, "find", find)
    monkeypatch.setattr(links, "spend", spend)

    outcomes = race(
        make_client,
        [
            (arranged.paths["employer"], ANSWERS["sign"]),
            (arranged.paths["learner"], ANSWERS["learner"]),
        ],
    )

    assert [status for status, _page in outcomes] == [303, 303], outcomes
    result = outcome(app, arranged)
    assert result.state == "signed"
    assert sorted(result.transitions) == [("sign_all", "employer"), ("sign_partly", "user")] or (
        sorted(result.transitions) == [("sign_all", "learner"), ("sign_partly", "user")]
    )
    assert result.signed == {
        "provider": "Mia Manager",
        "employer": "Sven Supervisor",
        "learner": "Lena Lernend",
    }
    assert result.sealed and result.placement_state == "ready"
    assert result.officer_emails == 3
    with app.app_context():
        users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    assert users == 3
