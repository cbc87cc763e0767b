"""Placement pages: list, pipeline board, detail with stage and steps, request, edit, matching."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from babel import dates as babel_dates
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date, get_locale, get_translations
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.activities.timeline import TimelineEntry
from crm.agreements.service import agreements_of_placement
from crm.core.pagination import page_number
from crm.core.validators import choices
from crm.db import utcnow
from crm.evaluations.service import evaluations_of
from crm.extensions import db
from crm.followups.service import open_follow_ups_for
from crm.learners import service as learners
from crm.learners.models import Learner
from crm.links import purposes
from crm.links.service import Reissued
from crm.links.views import link_panel
from crm.organisations.models import Organisation
from crm.organisations.service import owners
from crm.placements import board, listing, matching
from crm.placements import service as placements
from crm.placements.forms import MatchForm, PlacementForm, PlacementRequestForm
from crm.placements.models import Placement
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.actions import ChecklistForm, TransitionForm, fire_from_form, tick_from_form

bp = Blueprint("placements", __name__, url_prefix="/placements")


def _id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _date(raw: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return None


def _filters() -> listing.PlacementFilters:
    args = request.args
    state = args.get("state", "")
    return listing.PlacementFilters(
        query=args.get("q", "")[:200],
        programme_id=_id(args.get("programme")),
        cohort_id=_id(args.get("cohort")),
        state=state if state in placements.definition().states else "",
        organisation_id=_id(args.get("organisation")),
        officer_id=_id(args.get("officer")),
        period_from=_date(args.get("from")),
        period_to=_date(args.get("to")),
    )


def _filter_context() -> dict[str, object]:
    filters = _filters()
    organisation = (
        db.session.get(Organisation, filters.organisation_id) if filters.organisation_id else None
    )
    choices = listing.filter_choices()
    return {
        "filters": filters,
        "programmes": choices.programmes,
        "cohort_groups": choices.cohort_groups,
        "officers": choices.officers,
        "filter_organisation": organisation,
        "definition": placements.definition(),
    }


def _get_or_404(placement_id: int) -> Placement:
    placement = placements.get_placement(placement_id)
    if placement is None:
        abort(404)
    return placement


def _editable_or_404(placement_id: int) -> Placement:
    placement = _get_or_404(placement_id)
    if not placements.may_edit(current_user, placement):
        abort(404)
    return placement


def _learner_to_place_or_404(learner_id: int | None) -> Learner:
    learner = placements.get_learner(learner_id) if learner_id else None
    if learner is None or not placements.may_place(current_user, learner):
        abort(404)
    return learner


@bp.get("/")
def index() -> str:
    context = _filter_context()
    page = listing.list_placements(
        context["filters"],  # type: ignore[arg-type]
        page_number(request.args.get("page")),
        current_app.config["CRM_PAGE_SIZE"],
    )
    now = utcnow()
    return render_template(
        "placements/index.html",
        page=page,
        now=now,
        count_cap=listing.LIST_COUNT_CAP,
        **_row_labels(
            now,
            [p.state_entered_at for p in page.items],
            [d for p in page.items for d in (p.start_date, p.end_date) if d is not None],
        ),
        **context,
    )


def _row_labels(
    now: dt.datetime, entered: Iterable[dt.datetime], dates: Iterable[dt.date] = ()
) -> dict[str, object]:
    """What every row or card looks up instead of formatting it again: days in the stage,
    dates, stage names and the placement link, each worked out once per distinct value
    (Flask-Babel finds the locale through the context locals on every call)."""
    ngettext = get_translations().ngettext
    days = {(now - at).days for at in entered}
    wf = placements.definition()
    # flask_babel.format_date(d, "short") without looking the locale up for every date.
    locale = get_locale()
    return {
        "day_labels": {n: ngettext("%(num)d day", "%(num)d days", n) % {"num": n} for n in days},
        "date_labels": {d: babel_dates.format_date(d, "short", locale=locale) for d in set(dates)},
        "state_labels": {name: _(state.label) for name, state in wf.states.items()},
        # Days in a stage after which a placement is late (stages with an SLA that go on).
        "sla_days": {
            name: state.sla_days
            for name, state in wf.states.items()
            if state.sla_days and not state.terminal
        },
        "placement_url": url_for("placements.show", placement_id=0).removesuffix("0"),
    }


@bp.get("/board")
def board_view() -> str:
    context = _filter_context()
    columns = board.columns(context["filters"])  # type: ignore[arg-type]
    now = utcnow()
    entered = [card.state_entered_at for column in columns for card in column.cards]
    ngettext = get_translations().ngettext
    sla_labels = {
        n: ngettext("SLA %(num)d day", "SLA %(num)d days", n) % {"num": n}
        for n in {column.sla_days for column in columns if column.sla_days}
    }
    return render_template(
        "placements/board.html",
        columns=columns,
        now=now,
        sla_labels=sla_labels,
        **_row_labels(now, entered),
        **context,
    )


def _capacity_labels(uses: list[matching.CapacityUse]) -> dict[matching.CapacityUse, list[str]]:
    """The texts of capacity lines, each translated and formatted once per distinct value
    (a match page shows fifty, mostly alike)."""
    ngettext = get_translations().ngettext
    labels: dict[matching.CapacityUse, list[str]] = {}
    for use in uses:
        if use not in labels:
            places = ngettext(
                "%(num)d of %(pledged)d place taken",
                "%(num)d of %(pledged)d places taken",
                use.pledged,
            ) % {"num": use.taken, "pledged": use.pledged}
            starts_on = format_date(use.dates.starts_on, "short")
            ends_on = format_date(use.dates.ends_on, "short")
            labels[use] = [places, f"{use.period.label} ({starts_on} – {ends_on})"]
    return labels


def _officer_choices(form: PlacementRequestForm) -> None:
    if current_user.sees_everything:
        form.officer_id.choices = choices((u.id, u.name) for u in owners())
    else:
        del form.officer_id


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    learner_id = _id(request.args.get("learner_id"))
    learner = _learner_to_place_or_404(learner_id)
    form = PlacementRequestForm()
    _officer_choices(form)
    if request.method == "GET" and "officer_id" in form:
        form.officer_id.data = learner.officer_id
    if form.validate_on_submit():
        try:
            placement = placements.request_placement(learner, current_user, form.values())
        except placements.PlacementError as exc:
            db.session.rollback()
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Placement requested."), "success")
            return redirect(url_for("placements.show", placement_id=placement.id))
        learner = _learner_to_place_or_404(learner_id)
    return render_template("placements/new.html", form=form, learner=learner)


def _show_error(form: PlacementRequestForm, exc: placements.PlacementError) -> None:
    target = form[exc.field] if exc.field and exc.field in form else form.start_date
    target.errors = [*target.errors, str(exc)]


@bp.get("/<int:placement_id>")
def show(placement_id: int) -> str:
    placement = _get_or_404(placement_id)
    wf = workflow.definition_for(placement)
    now = utcnow()
    capacity = matching.placement_capacity(placement)
    can_edit = placements.may_edit(current_user, placement)
    return render_template(
        "placements/show.html",
        placement=placement,
        learner=placement.learner,
        organisation=placement.organisation,
        definition=wf,
        state=wf.state(placement.state),
        sla=engine.sla_status(wf, placement.state, placement.state_entered_at, now),
        options=workflow.options_for(placement, current_user, now),
        can_edit=can_edit,
        transition_form=TransitionForm(),
        checklist_form=ChecklistForm(),
        ticked=set((placement.checklist or {}).get(placement.state, [])),
        entries=[TimelineEntry(t.occurred_at, transition=t) for t in placements.history(placement)],
        capacity=capacity,
        capacity_labels=_capacity_labels([capacity] if capacity else []),
        minor_at_start=placement.start_date is not None
        and learners.is_minor(placement.learner.birth_date, placement.start_date),
        follow_ups=open_follow_ups_for("placement", placement.id),
        links_panel=link_panel(placement, can_edit, now),
        evaluations=evaluations_of(placement.id),
        agreements_panel=agreements_of_placement(placement.id),
    )


@bp.post("/<int:placement_id>/fire")
def fire(placement_id: int) -> Response:
    fire_from_form(_get_or_404(placement_id))
    return redirect(url_for("placements.show", placement_id=placement_id))


@bp.post("/<int:placement_id>/checklist")
def checklist(placement_id: int) -> Response:
    tick_from_form(_editable_or_404(placement_id))
    return redirect(url_for("placements.show", placement_id=placement_id, _anchor="stage"))


def _organisation_choices(form: PlacementForm, placement: Placement) -> None:
    """The current organisation and the learner's matches; the current one's contacts."""
    found = matching.find_matches(
        placement.programme,
        placement.learner.cohort,
        placement.start_date,
        placement.end_date,
        include_full=True,
    )
    listed = [(c.organisation.id, c.organisation.display_name) for c in found.candidates]
    current = placement.organisation
    if current is not None and current.id not in {i for i, _name in listed}:
        listed.insert(0, (current.id, current.display_name))
    form.organisation_id.choices = choices([(0, _("None yet")), *listed])
    contacts = placements.supervisors_of(placement.organisation_id)
    form.supervisor_id.choices = choices([(0, _("Nobody yet"))]) + choices(
        ((c.id, c.full_name) for c in contacts if c.role.value == "workplace_supervisor"),
        optgroup=_("Workplace supervisors"),
    )
    form.supervisor_id.choices += choices(
        (
            (c.id, f"{c.full_name} ({c.role.label})")
            for c in contacts
            if c.role.value != "workplace_supervisor"
        ),
        optgroup=_("Other contacts"),
    )


@bp.route("/<int:placement_id>/edit", methods=["GET", "POST"])
def edit(placement_id: int) -> Response | str:
    placement = _editable_or_404(placement_id)
    form = PlacementForm(obj=placement)
    _officer_choices(form)
    if form.validate_on_submit():
        try:
            reissued = placements.update_placement(placement, form.values(), current_user)
        except placements.PlacementError as exc:
            db.session.rollback()
            _show_error(form, exc)
            placement = _editable_or_404(placement_id)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            _flash_reissued(reissued)
            return redirect(url_for("placements.show", placement_id=placement_id))
    _organisation_choices(form, placement)
    return render_template("placements/form.html", form=form, placement=placement)


def _flash_reissued(reissued: list[Reissued]) -> None:
    """Tell the officer that the employer's link changed with the details they saved."""
    for item in reissued:
        if item.link is None:
            flash(
                _(
                    "The details asked about changed: the link already sent no longer works. "
                    "%(reason)s.",
                    reason=purposes.spec(item.purpose).no_recipient_subject(),
                ),
                "warning",
            )
        else:
            flash(
                _(
                    "The details asked about changed: the link already sent no longer works, "
                    "and a new one was sent to %(name)s (%(email)s).",
                    name=item.link.recipient_name,
                    email=item.link.recipient_email,
                ),
                "info",
            )


@bp.get("/match")
def match() -> str:
    learner = _learner_to_place_or_404(_id(request.args.get("learner_id")))
    requests = placements.requests_of_learner(learner.id)
    chosen = next((p for p in requests if p.id == _id(request.args.get("placement_id"))), None)
    start = _date(request.args.get("start")) or (chosen.start_date if chosen else None)
    end = _date(request.args.get("end")) or (chosen.end_date if chosen else None)
    found = matching.find_matches(
        learner.programme, learner.cohort, start, end, include_full=request.args.get("full") == "1"
    )
    return render_template(
        "placements/match.html",
        learner=learner,
        requests=requests,
        chosen=chosen,
        start=start,
        end=end,
        matches=found,
        capacity_labels=_capacity_labels([c.capacity for c in found.candidates]),
        match_form=MatchForm(),
    )


@bp.post("/match")
def match_post() -> Response:
    learner = _learner_to_place_or_404(_id(request.args.get("learner_id")))
    form = MatchForm()
    organisation = (
        db.session.get(Organisation, form.organisation_id.data)
        if form.validate_on_submit()
        else None
    )
    if organisation is None:
        flash(_("The organisation could not be read. Reload the page and try again."), "danger")
        return redirect(url_for("placements.match", learner_id=learner.id))
    try:
        placement, blocked = _match(learner, organisation, form)
    except PermissionError:
        abort(404)
    except placements.PlacementError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
        return redirect(url_for("placements.match", learner_id=learner.id))
    db.session.commit()
    if blocked is None:
        flash(_("Matched to %(name)s.", name=organisation.display_name), "success")
    else:
        flash(
            _(
                "%(name)s is saved on the placement; before it is matched:",
                name=organisation.display_name,
            ),
            "warning",
        )
        for reason in blocked.reasons:
            flash(reason, "warning")
    return redirect(url_for("placements.show", placement_id=placement.id))


def _match(
    learner: Learner, organisation: Organisation, form: MatchForm
) -> tuple[Placement, workflow.TransitionBlocked | None]:
    """The chosen request of the learner (or a new one for the dates), matched."""
    placement_id = _id(form.placement_id.data)
    placement = placements.get_placement(placement_id) if placement_id else None
    if placement is None or placement.learner_id != learner.id:
        placement = placements.request_placement(
            learner,
            current_user,
            placements.PlacementValues(
                start_date=_date(form.start_date.data), end_date=_date(form.end_date.data)
            ),
        )
    return placement, placements.match_placement(placement, organisation, current_user)
