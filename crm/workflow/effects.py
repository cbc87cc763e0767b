"""Built-in effects. They only write rows in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import sqlalchemy as sa
from flask_babel import gettext as _
from pydantic import BaseModel, ConfigDict, Field, field_validator

from crm.extensions import db
from crm.followups.models import FollowUp, FollowUpStatus
from crm.workflow.registry import effect


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FollowUpParams(_Params):
    days: int = Field(ge=0, le=3650)
    subject: str = Field(min_length=1, max_length=200)
    assignee: Literal["owner", "actor"] = "owner"


class RelatedParams(_Params):
    relation: str
    transition: str


@effect("schedule_follow_up", FollowUpParams)
def schedule_follow_up(params: FollowUpParams, context: object) -> None:
    """Create a follow-up for the record's owner (or the actor) due in N days."""
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    assignee_id = (
        context.user.id
        if params.assignee == "actor" and context.user is not None
        else context.adapter.owner_id(context.record)
    )
    if assignee_id is None:
        return
    db.session.add(
        FollowUp(
            subject=params.subject,
            due_at=context.now + dt.timedelta(days=params.days),
            assignee_id=assignee_id,
            record_type=context.adapter.record_type,
            record_id=context.record.id,
            organisation_id=context.adapter.organisation_id(context.record),
            created_by_id=None,
            created_by_rule=f"{context.definition.name}.{context.transition.name}",
        )
    )


@effect("close_follow_ups")
def close_follow_ups(params: BaseModel, context: object) -> None:
    """Close the open follow-ups the workflow made on this record: their reason is resolved."""
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    db.session.execute(
        sa.update(FollowUp)
        .where(
            FollowUp.record_type == context.adapter.record_type,
            FollowUp.record_id == context.record.id,
            FollowUp.status == FollowUpStatus.OPEN,
            FollowUp.created_by_rule.like(f"{context.definition.name}.%"),
        )
        .values(status=FollowUpStatus.DONE, completed_at=context.now)
        .execution_options(synchronize_session=False)
    )


@effect("fire_related", RelatedParams, records=frozenset({"placement", "agreement"}))
def fire_related(params: RelatedParams, context: object) -> None:
    """Fire a transition on a related record (e.g. a signed memorandum activates a partnership)."""
    from crm.workflow.service import EffectContext, TransitionBlocked, fire

    assert isinstance(context, EffectContext)
    related = context.adapter.related(context.record, params.relation)
    if related is None:
        raise TransitionBlocked(
            [_("The related %(relation)s is missing.", relation=params.relation)]
        )
    fire(related, params.transition, party="system", now=context.now)


EmailRecipient = Literal["owner", "actor", "focal_person", "decision_maker", "workplace_supervisor"]
# Where a record's page is, for the link in e-mails (later record types add theirs).
RECORD_PAGES = {
    "partnership": ("partnerships.show", "partnership_id"),
    "placement": ("placements.show", "placement_id"),
}


class EmailParams(_Params):
    template: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    to: EmailRecipient = "owner"

    @field_validator("template")
    @classmethod
    def _template_exists(cls, value: str) -> str:
        from crm.config import PROJECT_ROOT

        folder = PROJECT_ROOT / "templates" / "emails"
        missing = [
            f"{value}{suffix}"
            for suffix in (".subject.txt", ".txt", ".html")
            if not (folder / f"{value}{suffix}").is_file()
        ]
        if missing:
            raise ValueError(f"no e-mail template templates/emails/{', '.join(missing)}")
        return value


@effect("send_email", EmailParams)
def send_email(params: EmailParams, context: object) -> None:
    """Queue an e-mail from a template to the owner, the actor or the organisation's contacts."""
    from crm.auth.models import User
    from crm.contacts.models import Contact
    from crm.organisations.models import Organisation
    from crm.outbox.service import absolute_url, queue_email
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    organisation_id = context.adapter.organisation_id(context.record)
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    recipients: list[tuple[str, str, str]] = []  # (address, name, language)
    if params.to in ("owner", "actor"):
        user_id = (
            context.adapter.owner_id(context.record)
            if params.to == "owner"
            else (context.user.id if context.user else None)
        )
        user = db.session.get(User, user_id) if user_id else None
        if user is not None and user.is_active_account:
            recipients.append((user.email, user.name, user.locale))
    elif organisation_id is not None:
        contacts = db.session.scalars(
            sa.select(Contact).where(
                Contact.organisation_id == organisation_id,
                Contact.role == params.to,
                Contact.archived_at.is_(None),
                Contact.email != "",
            )
        )
        recipients.extend((c.email, c.full_name, c.preferred_language) for c in contacts)
    page = RECORD_PAGES.get(context.adapter.record_type)
    url = absolute_url(page[0], **{page[1]: context.record.id}) if page else ""
    state = context.definition.state(context.transition.to)
    for address, name, language in recipients:
        queue_email(
            kind=params.template,
            to_email=address,
            to_name=name,
            language=language,
            context={
                "record_name": organisation.display_name if organisation else "",
                "record_type": context.adapter.record_type,
                "from_label": context.definition.state(context.from_state).label,
                "state_label": state.label,
                "step_label": context.transition.label,
                "guidance": state.guidance,
                "url": url,
            },
            record_type=context.adapter.record_type,
            record_id=context.record.id,
            organisation_id=organisation_id,
        )


LinkPurposeName = Literal["confirm_placement", "evaluate_placement", "learner_feedback"]


class LinkParams(_Params):
    purpose: LinkPurposeName


@effect("send_action_link", LinkParams, records=frozenset({"placement"}))
def send_action_link(params: LinkParams, context: object) -> None:
    """E-mail the record's recipient a single-purpose link (confirm, evaluate, give feedback);
    an earlier link for the same purpose is superseded."""
    from crm.links import service as links
    from crm.links.models import LinkPurpose
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    links.issue(LinkPurpose(params.purpose), context.record, acting=context.user, now=context.now)


@effect("issue_agreement_version", records=frozenset({"agreement"}))
def issue_agreement_version(params: BaseModel, context: object) -> None:
    """Render the agreement's next version (an immutable PDF), supersede the previous one,
    and ask every party to sign it (links by e-mail; the provider in the app)."""
    from crm.agreements import service as agreements
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    agreements.issue_version(context.record, acting=context.user, now=context.now)


@effect("seal_agreement", records=frozenset({"agreement"}))
def seal_agreement(params: BaseModel, context: object) -> None:
    """Make the sealed copy: the signed version's pages plus the evidence page."""
    from crm.agreements import sealing
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    sealing.seal_current_version(context.record, now=context.now)


@effect("advance_agreement_subject", records=frozenset({"agreement"}))
def advance_agreement_subject(params: BaseModel, context: object) -> None:
    """Move the placement (agreement signed → ready) or the partnership (memorandum signed →
    active) on, when it waits for this agreement."""
    from crm.agreements import service as agreements
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    agreements.advance_subject(context.record, now=context.now)


class AgreementParams(_Params):
    kind: Literal["placement_agreement"] = "placement_agreement"


@effect("issue_agreement", AgreementParams, records=frozenset({"placement"}))
def issue_agreement(params: AgreementParams, context: object) -> None:
    """Prepare the placement's agreement from its data and issue it for signature at once
    (the officer can still correct the terms and issue a new version)."""
    from crm.agreements import service as agreements
    from crm.workflow.service import EffectContext

    assert isinstance(context, EffectContext)
    agreements.issue_for_placement(context.record, acting=context.user, now=context.now)
