"""Builders for the agreement tests: placements ready for their agreement, agreements in any
stage (cheaply, without rendering, for the list), and readers of what was issued."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from typing import Any

import sqlalchemy as sa
from pypdf import PdfReader

from crm.agreements import service as agreements
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion
from crm.auth.models import User
from crm.extensions import db
from crm.links.models import ActionLink, LinkPurpose
from crm.partnerships.models import Partnership
from crm.placements.models import Placement
from crm.workflow import service as workflow
from tests.factories import make_learner, make_placement
from tests.placements.support import SPRING, World
from tests.workflow.support import make_partnership

NOW = dt.datetime(2027, 1, 15, 9, 30, tzinfo=dt.UTC)


def confirmed_placement(world: World, learner: Any = None, **fields: Any) -> Placement:
    """A confirmed placement at the world's organisation, its supervisor named, ready for
    `send_agreement`."""
    fields.setdefault("supervisor_id", world.supervisor.id)
    fields.setdefault("start_date", SPRING[0])
    fields.setdefault("end_date", SPRING[1])
    fields.setdefault("hours_target", 160)
    fields.setdefault("role_description", "Assembles gearboxes.")
    fields.setdefault("learning_objectives", "Reads technical drawings.")
    return make_placement(
        learner or world.learner, "confirmed", organisation=world.organisation, **fields
    )


def minor(world: World, **overrides: Any) -> Any:
    """A learner under 18 at the spring placement's start, with a guardian on record."""
    overrides.setdefault("guardian_name", "Greta Guardian")
    overrides.setdefault("guardian_email", "greta@family.test")
    return make_learner(world.officer, world.programme, birth_date=dt.date(2010, 6, 1), **overrides)


def send_agreement(placement: Placement, user: User, now: dt.datetime | None = None) -> Agreement:
    """The officer sends the agreement (the placement's `send_agreement`); its agreement."""
    workflow.fire(placement, "send_agreement", user=user, now=now)
    db.session.commit()
    return newest(placement)


def newest(placement: Placement) -> Agreement:
    found = agreements.agreements_of_placement(placement.id)
    assert found, "the placement has no agreement"
    return found[0]


def versions(agreement: Agreement) -> list[AgreementVersion]:
    """Every version, oldest first, as the database has them now."""
    return list(
        db.session.scalars(
            sa.select(AgreementVersion)
            .where(AgreementVersion.agreement_id == agreement.id)
            .order_by(AgreementVersion.number)
            .execution_options(populate_existing=True)
        )
    )


def signers(version: AgreementVersion) -> dict[str, AgreementSigner]:
    return {
        s.party.value: s
        for s in db.session.scalars(
            sa.select(AgreementSigner)
            .where(AgreementSigner.version_id == version.id)
            .order_by(AgreementSigner.id)
            .execution_options(populate_existing=True)
        )
    }


def signing_links(agreement: Agreement) -> list[ActionLink]:
    """The agreement's signing links, oldest first."""
    return list(
        db.session.scalars(
            sa.select(ActionLink)
            .where(
                ActionLink.purpose == LinkPurpose.SIGN_AGREEMENT,
                ActionLink.record_type == "agreement",
                ActionLink.record_id == agreement.id,
            )
            .order_by(ActionLink.id)
            .execution_options(populate_existing=True)
        )
    )


def pdf_text(data: bytes) -> str:
    """Every page's text, with whitespace collapsed."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def page_count(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def agreement_in(
    state: str,
    *,
    world: World | None = None,
    partnership: Partnership | None = None,
    expires_on: dt.date | None = None,
    officer: User | None = None,
    placement: Placement | None = None,
) -> Agreement:
    """A draft agreement put straight into `state` (no version rendered): for the list."""
    if partnership is not None:
        agreement = agreements.create_for_partnership(partnership, None)
    else:
        assert world is not None
        placement = placement or make_placement(
            make_learner(world.officer, world.programme),
            "agreement_out",
            organisation=world.organisation,
            start_date=SPRING[0],
            end_date=SPRING[1],
        )
        agreement = agreements.create_for_placement(placement, None)
    agreement.state = state
    agreement.expires_on = expires_on
    if officer is not None:
        agreement.officer_id = officer.id
    db.session.commit()
    return agreement


def memorandum_partnership(owner: User, state: str = "needs_analysed", **kw: Any) -> Partnership:
    """A partnership in `state` whose organisation has a decision maker with an e-mail."""
    from crm.contacts.models import ContactRole
    from crm.organisations.models import Organisation
    from tests.factories import make_contact

    partnership = make_partnership(owner, state, **kw)
    make_contact(
        db.session.get(Organisation, partnership.organisation_id),
        role=ContactRole.DECISION_MAKER,
        first_name="Dora",
        last_name="Decider",
        email="dora@employer.test",
        job_title="Managing director",
    )
    return partnership
