"""Builders for the signing tests: a placement agreement issued for signature (its signers'
links and tokens), the signing page's form, and readers for what the database holds."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion
from crm.auth.models import User
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.placements.models import Placement
from crm.workflow.service import fire
from tests.placements.support import World, build_world

CSRF = re.compile(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"')
HASH_FIELD = re.compile(r'name="document_sha256" type="hidden" value="([0-9a-f]{64})"')
BROWSER = "Mozilla/5.0 (Linux; Android 14) Chrome/131 Mobile"


@dataclass
class Issued:
    """A placement whose agreement was sent: version 1 issued, every party asked to sign."""

    world: World
    placement: Placement
    agreement: Agreement
    version: AgreementVersion
    signers: dict[str, AgreementSigner] = field(default_factory=dict)
    links: dict[str, ActionLink] = field(default_factory=dict)

    def path(self, party: str) -> str:
        """The signing page of a party's link."""
        return sign_path(self.links[party])

    def document_path(self, party: str) -> str:
        """The PDF of a party's link."""
        return f"{sign_path(self.links[party])}/document.pdf"


def sign_path(link: ActionLink) -> str:
    """`/l/sign/<agreement>/<token>` for a signing link."""
    return f"/l/{link.purpose.slug}/{link.record_id}/{links.token_for(link)}"


def open_links(agreement: Agreement) -> dict[str, ActionLink]:
    """The agreement's newest signing link per party."""
    found: dict[str, ActionLink] = {}
    for link in db.session.scalars(
        sa.select(ActionLink)
        .where(
            ActionLink.purpose == LinkPurpose.SIGN_AGREEMENT,
            ActionLink.record_type == "agreement",
            ActionLink.record_id == agreement.id,
        )
        .order_by(ActionLink.id)
    ):
        found[link.party] = link
    return found


def newest_agreement(placement: Placement) -> Agreement:
    agreement = db.session.scalar(
        sa.select(Agreement)
        .where(Agreement.placement_id == placement.id)
        .order_by(Agreement.id.desc())
        .limit(1)
    )
    assert agreement is not None, "the placement has no agreement"
    return agreement


def version_of(agreement: Agreement, number: int | None = None) -> AgreementVersion:
    version = db.session.scalar(
        sa.select(AgreementVersion).where(
            AgreementVersion.agreement_id == agreement.id,
            AgreementVersion.number == (number or agreement.current_number),
        )
    )
    assert version is not None
    return version


def signers_by_party(version: AgreementVersion) -> dict[str, AgreementSigner]:
    return {
        signer.party.value: signer
        for signer in db.session.scalars(
            sa.select(AgreementSigner)
            .where(AgreementSigner.version_id == version.id)
            .order_by(AgreementSigner.id)
        )
    }


def send_agreement(officer: User, *, minor: bool = False, **fields: Any) -> Issued:
    """A confirmed placement whose officer sends the agreement (v1 issued, links sent)."""
    world = build_world(officer)
    world.learner.email = "lena@learners.test"
    if minor:
        world.learner.birth_date = dt.date(2010, 6, 1)
        world.learner.guardian_name = "Greta Guardian"
        world.learner.guardian_email = "greta@family.test"
    fields.setdefault("supervisor_id", world.supervisor.id)
    fields.setdefault("role_description", "Assembles gearboxes.")
    fields.setdefault("learning_objectives", "Reads technical drawings.")
    fields.setdefault("hours_target", 120)
    fields.setdefault("workplace_address", "Hafenstr. 5, 28195 Bremen")
    placement = world.placement("confirmed", **fields)
    if minor:
        placement.guardian_consent_on = dt.date(2026, 12, 1)
    db.session.flush()
    fire(placement, "send_agreement", user=officer)
    db.session.commit()
    return reread(Issued(world, placement, newest_agreement(placement), None))  # type: ignore[arg-type]


def reread(issued: Issued) -> Issued:
    """The same agreement as the database has it now (current version, signers, links)."""
    db.session.expire_all()
    agreement = db.session.get(Agreement, issued.agreement.id)
    assert agreement is not None
    issued.agreement = agreement
    issued.version = version_of(agreement)
    issued.signers = signers_by_party(issued.version)
    issued.links = open_links(agreement)
    return issued


def page_values(page: str) -> dict[str, str]:
    """The CSRF token and the document hash a signing page carries in its form."""
    csrf = CSRF.search(page)
    sha = HASH_FIELD.search(page)
    assert csrf and sha, page[:3000]
    return {"csrf_token": csrf.group(1), "document_sha256": sha.group(1)}


def sign(client: Any, path: str, typed_name: str = "Sven Supervisor", **extra: Any) -> Any:
    """Open the signing page and sign it as a browser would."""
    opened = client.get(path)
    assert opened.status_code == 200, opened.get_data(as_text=True)[:2000]
    data = {
        **page_values(opened.get_data(as_text=True)),
        "decision": "sign",
        "typed_name": typed_name,
        "consent": "y",
        **extra,
    }
    return client.post(
        path, data={k: v for k, v in data.items() if v is not None}, headers={"User-Agent": BROWSER}
    )
