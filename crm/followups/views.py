"""Follow-up pages: add one to a record, act on it, My day, and the calendar feed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from crm.activities.models import ActivityKind
from crm.auth.models import User
from crm.contacts.models import Contact
from crm.core.security import safe_next_url
from crm.core.validators import choices
from crm.db import utcnow
from crm.extensions import db
from crm.followups import agenda
from crm.followups import service as followups
from crm.followups.forms import (
    PREFIX,
    ActionForm,
    CompleteForm,
    FollowUpForm,
    ReassignForm,
    SnoozeForm,
)
from crm.followups.models import FollowUp
from crm.followups.service import FollowUpError, ListedFollowUp
from crm.organisations.models import Organisation
from crm.partnerships.models import Partnership

bp = Blueprint("followups", __name__)


def _assignee_choices(users: list[User]) -> list[Any]:
    return choices((u.id, u.name) for u in users)


def _changeable_or_404(follow_up_id: int) -> ListedFollowUp:
    """The follow-up, locked for the change; 404 for those who may not change it."""
    listed = followups.get_listed(follow_up_id, for_update=True)
    if listed is None or not followups.may_change(current_user, listed.follow_up, listed.record):
        abort(404)
    return listed


def _back(listed: ListedFollowUp, form: ActionForm) -> BaseResponse:
    """To the page the action was sent from (My day or the record), else the record."""
    target = safe_next_url(form.next.data)
    return redirect((target or listed.record.url() or url_for("followups.my_day")) + "#follow-ups")


def _refused(form: ActionForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "danger")


# --- on record pages ------------------------------------------------------------------------


@dataclass
class FollowUpPanel:
    """What a record page's follow-up section shows."""

    record: followups.Record
    items: list[tuple[ListedFollowUp, bool]]  # each follow-up, and whether the user may act
    form: FollowUpForm
    assignees: list[User]
    now: dt.datetime
    activity_kinds: tuple[ActivityKind, ...] = tuple(ActivityKind)


def _add_form(record: followups.Record, assignees: list[User], **kwargs: Any) -> FollowUpForm:
    form = FollowUpForm(prefix=PREFIX, **kwargs)
    form.assignee_id.choices = _assignee_choices(assignees)
    form.due_at.description = _("In your time zone (%(zone)s).", zone=current_user.timezone)
    if request.method == "GET" or "formdata" in kwargs:
        form.assignee_id.data = followups.default_assignee(record, current_user, assignees)
    return form


@bp.app_template_global()
def follow_up_panel(
    obj: Organisation | Contact | Partnership, follow_ups: list[FollowUp] | None = None
) -> FollowUpPanel:
    """The follow-up section of a record page, in two statements (or one if the page has
    already loaded the follow-ups). The pages of other areas include it from their templates."""
    record = followups.record_of(obj)
    assignees = followups.assignable_users()
    items = [
        (listed, followups.may_change(current_user, listed.follow_up, record))
        for listed in followups.listed_for(record, follow_ups)
    ]
    form = _add_form(record, assignees, formdata=None)
    return FollowUpPanel(record, items, form, assignees, now=utcnow())


@bp.route("/follow-ups/new/<record_type>/<int:record_id>", methods=["GET", "POST"])
def new(record_type: str, record_id: int) -> BaseResponse | tuple[str, int]:
    record = followups.find_record(record_type, record_id)
    if record is None:
        abort(404)
    form = _add_form(record, followups.assignable_users())
    if form.validate_on_submit():
        try:
            followups.add_follow_up(record, form.values(), current_user)
        except FollowUpError as exc:
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Follow-up added."), "success")
            return redirect(f"{record.url()}#follow-ups")
    status = 422 if request.method == "POST" else 200
    return render_template("followups/form.html", form=form, record=record), status


# --- actions --------------------------------------------------------------------------------


@bp.post("/follow-ups/<int:follow_up_id>/complete")
def complete(follow_up_id: int) -> BaseResponse:
    listed = _changeable_or_404(follow_up_id)
    form = CompleteForm()
    if not form.validate_on_submit():
        _refused(form)
        return _back(listed, form)
    try:
        activity = followups.complete_follow_up(listed, current_user, form.activity())
    except FollowUpError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        if activity is not None:
            flash(_("Follow-up done; the activity is on the timeline."), "success")
        else:
            flash(_("Follow-up done."), "success")
    return _back(listed, form)


@bp.post("/follow-ups/<int:follow_up_id>/snooze")
def snooze(follow_up_id: int) -> BaseResponse:
    listed = _changeable_or_404(follow_up_id)
    form = SnoozeForm()
    if not form.validate_on_submit():
        _refused(form)
        return _back(listed, form)
    now = utcnow()
    until = form.until_utc() or followups.snooze_target(listed.follow_up, form.by.data or "", now)
    try:
        followups.snooze_follow_up(listed, current_user, until, now)
    except FollowUpError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Follow-up snoozed."), "success")
    return _back(listed, form)


@bp.post("/follow-ups/<int:follow_up_id>/reassign")
def reassign(follow_up_id: int) -> BaseResponse:
    listed = _changeable_or_404(follow_up_id)
    form = ReassignForm()
    form.assignee_id.choices = _assignee_choices(followups.assignable_users())
    if not form.validate_on_submit():
        _refused(form)
        return _back(listed, form)
    try:
        assignee = followups.reassign_follow_up(listed, current_user, form.assignee_id.data)
    except FollowUpError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Follow-up given to %(name)s.", name=assignee.name), "success")
    return _back(listed, form)


@bp.post("/follow-ups/<int:follow_up_id>/cancel")
def cancel(follow_up_id: int) -> BaseResponse:
    listed = _changeable_or_404(follow_up_id)
    form = ActionForm()
    if not form.validate_on_submit():
        _refused(form)
        return _back(listed, form)
    try:
        followups.cancel_follow_up(listed, current_user)
    except FollowUpError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        flash(_("Follow-up cancelled."), "success")
    return _back(listed, form)


# --- My day ---------------------------------------------------------------------------------


def _day_of() -> User:
    """Whose day to show: one's own; managers and admins may pick anyone (?officer=<id>)."""
    raw = request.args.get("officer", "")
    if not raw or raw == str(current_user.id):
        return current_user._get_current_object()
    if not raw.isdigit() or not current_user.sees_everything:
        abort(404)
    user = db.session.get(User, int(raw))
    if user is None:
        abort(404)
    return user


@bp.get("/my-day")
def my_day() -> str:
    day = agenda.my_day(_day_of())
    assignees = followups.assignable_users()
    return render_template(
        "followups/my_day.html",
        day=day,
        assignees=assignees,
        officers=assignees if current_user.sees_everything else [],
        activity_kinds=tuple(ActivityKind),
    )


# --- the calendar feed ----------------------------------------------------------------------


@bp.get("/calendar/<token>.ics")
def calendar_feed(token: str) -> Response:
    """No login: the secret address is the key. The token is looked up by its hash only."""
    user = agenda.user_for_calendar_token(token)
    if user is None:
        abort(404)
    with force_locale(user.locale):
        body = agenda.calendar_for(user, current_app.config["CRM_BASE_URL"])
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="follow-ups.ics"'},
    )
