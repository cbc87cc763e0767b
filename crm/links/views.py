"""The officer's side of action links: the links panel of a record page, withdrawing a link
and sending a new one.

Staff never see a link's address or token (they could answer in the recipient's place): the
panel says to whom a link went, when, and what became of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.auth.models import User
from crm.db import utcnow
from crm.extensions import db
from crm.followups.service import RECORD_ENDPOINTS
from crm.links import purposes
from crm.links import service as links
from crm.links.forms import LinkActionForm
from crm.links.models import PURPOSE_BY_SLUG, ActionLink, LinkEnd, LinkPurpose
from crm.links.service import LinkState
from crm.workflow.service import adapter_for

bp = Blueprint("links", __name__, url_prefix="/links")

STATE_LABELS = {
    LinkState.OPEN: _l("Open"),
    LinkState.ANSWERED: _l("Answered"),
    LinkState.EXPIRED: _l("Expired unanswered"),
    LinkState.WITHDRAWN: _l("Withdrawn"),
    LinkState.REPLACED: _l("Replaced by a newer link"),
    LinkState.CLOSED: _l("Closed: the stage moved on without this answer"),
    LinkState.CHANGED: _l("Changed: the details changed after it was sent"),
}
# The decisions of the link pages (crm.portal); an unknown one is shown as "Answered".
DECISION_LABELS = {
    "confirm": _l("Confirmed"),
    "decline": _l("Declined"),
    "propose": _l("Proposed other dates"),
}
ANSWER_LABELS = {
    LinkPurpose.EVALUATE_PLACEMENT: _l("Evaluation given"),
    LinkPurpose.LEARNER_FEEDBACK: _l("Feedback given"),
    LinkPurpose.SIGN_AGREEMENT: _l("Signed"),
}
SEND_LABELS = {
    LinkPurpose.CONFIRM_PLACEMENT: _l("Send a new confirmation link"),
    LinkPurpose.EVALUATE_PLACEMENT: _l("Send a new evaluation link"),
    LinkPurpose.LEARNER_FEEDBACK: _l("Send a new feedback link"),
    LinkPurpose.SIGN_AGREEMENT: _l("Send a new signing link"),
}


@dataclass(frozen=True)
class LinkRow:
    """One link as the panel shows it."""

    link: ActionLink
    state: str
    withdrawn_by: str  # the officer's name ("" unless withdrawn)

    @property
    def state_label(self) -> str:
        """What became of the link, in words."""
        return str(STATE_LABELS[self.state])

    @property
    def answer_label(self) -> str:
        """The decision the recipient sent ("" unless answered)."""
        if self.state != LinkState.ANSWERED:
            return ""
        if self.link.decision in DECISION_LABELS:
            return str(DECISION_LABELS[self.link.decision])
        return str(ANSWER_LABELS.get(self.link.purpose, _l("Answered")))


@dataclass(frozen=True)
class LinkPanel:
    """The links section of a record page."""

    record_type: str
    record_id: int
    rows: list[LinkRow]
    can_edit: bool  # withdraw and send buttons, and the evidence of answers
    to_send: list[tuple[str, str]]  # (purpose slug, button label) a new link can be sent for
    form: LinkActionForm
    now: dt.datetime


def link_panel(record: Any, can_edit: bool, now: dt.datetime | None = None) -> LinkPanel:
    """The links section of a record's page, in at most two statements whatever the number
    of links (the links; the names of officers who withdrew some)."""
    now = now or utcnow()
    record_type = adapter_for(record).record_type
    found = links.links_of(record_type, record.id)
    withdrawn_by = {
        link.ended_by_id
        for link in found
        if link.end_reason == LinkEnd.REVOKED and link.ended_by_id is not None
    }
    names: dict[int, str] = {}
    if withdrawn_by:
        query = sa.select(User.id, User.name).where(User.id.in_(withdrawn_by))
        names = dict(db.session.execute(query).all())
    rows = []
    for link in found:
        state = links.link_state(link, record, now)
        by = ""
        if state == LinkState.WITHDRAWN and link.ended_by_id is not None:
            by = names.get(link.ended_by_id, "")
        rows.append(LinkRow(link, state, by))
    to_send = (
        [
            (purpose.slug, str(SEND_LABELS[purpose]))
            for purpose in links.purposes_to_send(record_type, record, found)
        ]
        if can_edit
        else []
    )
    return LinkPanel(record_type, record.id, rows, can_edit, to_send, LinkActionForm(), now)


# --- actions ---------------------------------------------------------------------------------


def _editable_record_or_404(record_type: str, record_id: int) -> Any:
    """The record, if the current user may change it (a user who may not gets 404)."""
    spec = next((s for s in purposes.SPECS.values() if s.record_type == record_type), None)
    record = spec.load(record_id) if spec is not None else None
    if record is None or not adapter_for(record).may_edit(current_user, record):
        abort(404)
    return record


def _back_to(record_type: str, record_id: int) -> Response:
    endpoint, argument = RECORD_ENDPOINTS[record_type]
    values: dict[str, Any] = {argument: record_id, "_anchor": "links"}
    return redirect(url_for(endpoint, **values))


@bp.post("/<int:link_id>/withdraw")
def withdraw(link_id: int) -> Response:
    link = links.get_link(link_id)
    if link is None:
        abort(404)
    _editable_record_or_404(link.record_type, link.record_id)
    if not LinkActionForm().validate_on_submit():
        flash(_("The request could not be read. Reload the page and try again."), "danger")
        return _back_to(link.record_type, link.record_id)
    try:
        links.withdraw(link, current_user)
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        db.session.commit()
        flash(_("The link was withdrawn: it no longer works."), "success")
    return _back_to(link.record_type, link.record_id)


@bp.post("/<record_type>/<int:record_id>/<purpose>/new")
def send_new(record_type: str, record_id: int, purpose: str) -> Response:
    link_purpose = PURPOSE_BY_SLUG.get(purpose)
    if link_purpose is None or purposes.spec(link_purpose).record_type != record_type:
        abort(404)
    record = _editable_record_or_404(record_type, record_id)
    if not LinkActionForm().validate_on_submit():
        flash(_("The request could not be read. Reload the page and try again."), "danger")
        return _back_to(record_type, record_id)
    try:
        link = links.send_new_link(link_purpose, record, current_user)
    except ValueError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return _back_to(record_type, record_id)
    db.session.commit()
    if link is None:
        flash(purposes.spec(link_purpose).no_recipient_subject(), "warning")
    else:
        flash(
            _(
                "A new link was sent to %(name)s (%(email)s). Earlier links no longer work.",
                name=link.recipient_name,
                email=link.recipient_email,
            ),
            "success",
        )
    return _back_to(record_type, record_id)
