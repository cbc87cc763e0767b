"""Partnership pages: list with bulk move, pipeline board, detail with stage and actions."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_translations
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.activities.timeline import organisation_timeline
from crm.agreements.forms import ActionForm
from crm.agreements.service import MEMORANDUM_STAGES, OPEN_STATES, agreements_of_partnership
from crm.core.locales import country_choices
from crm.core.pagination import page_number
from crm.core.validators import choices
from crm.db import utcnow
from crm.extensions import db
from crm.followups.service import open_follow_ups_for
from crm.health.config import BAND_NAMES
from crm.health.score import band_label
from crm.health.service import band_choices, current_config, health_view
from crm.organisations import nace
from crm.organisations.service import get_organisation, owners
from crm.partnerships import service as partnerships
from crm.partnerships.forms import BulkMoveForm, PartnershipForm
from crm.partnerships.models import Partnership
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.actions import ChecklistForm, TransitionForm, fire_from_form, tick_from_form

bp = Blueprint("partnerships", __name__, url_prefix="/partnerships")


def _filters() -> partnerships.PartnershipFilters:
    args = request.args
    owner = args.get("owner", "")
    wf = partnerships.definition()
    return partnerships.PartnershipFilters(
        query=args.get("q", "")[:200],
        state=args.get("state", "") if args.get("state", "") in wf.states else "",
        owner_id=int(owner) if owner.isdigit() else None,
        section=args.get("sector", "") if args.get("sector", "") in nace.SECTIONS else "",
        country=args.get("country", "")[:2].upper(),
        waiting_on=args.get("waiting_on", "")
        if args.get("waiting_on") in ("us", "employer", "learner")
        else "",
        overdue_only=args.get("overdue") == "1",
        band=args.get("band", "") if args.get("band", "") in BAND_NAMES else "",
        sort=args.get("sort", "") if args.get("sort", "") in ("health", "-health") else "",
    )


def _filter_context() -> dict[str, object]:
    return {
        "filters": _filters(),
        "sections": nace.section_choices(),
        "countries": country_choices(),
        "owners": owners(),
        "definition": partnerships.definition(),
        "health_bands": band_choices(),
        "band_of": current_config().band_of,
        # Translated once per page, not once per row (see board_view).
        "band_labels": {band: band_label(band) for band in (*BAND_NAMES, None)},
    }


def _get_or_404(partnership_id: int) -> Partnership:
    partnership = partnerships.get_partnership(partnership_id)
    if partnership is None:
        abort(404)
    return partnership


def _editable_or_404(partnership_id: int) -> Partnership:
    partnership = _get_or_404(partnership_id)
    if not partnerships.ADAPTER.may_edit(current_user, partnership):
        abort(404)
    return partnership


@bp.get("/")
def index() -> str:
    context = _filter_context()
    page = partnerships.list_partnerships(
        context["filters"],  # type: ignore[arg-type]
        page_number(request.args.get("page")),
        current_app.config["CRM_PAGE_SIZE"],
    )
    wf = partnerships.definition()
    bulk = BulkMoveForm()
    bulk.transition.choices = choices(
        [("", _("Choose a step…"))]
        + [
            (t.name, f"{_(t.label)} → {_(wf.state(t.to).label)}")
            for t in wf.transitions
            if current_user.role.value in t.by
        ]
    )
    return render_template("partnerships/index.html", page=page, bulk=bulk, now=utcnow(), **context)


@bp.post("/bulk")
def bulk_move() -> Response | str:
    wf = partnerships.definition()
    form = BulkMoveForm()
    form.transition.choices = choices((t.name, t.label) for t in wf.transitions)
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()][:500]
    if not form.validate_on_submit() or not ids:
        flash(_("Select partnerships and a step first."), "warning")
        return redirect(url_for("partnerships.index"))
    records = [p for p in (partnerships.get_partnership(i) for i in ids) if p is not None]
    results = workflow.fire_many(
        records, form.transition.data or "", current_user, form.comment.data or ""
    )
    db.session.commit()
    return render_template(
        "partnerships/bulk_result.html",
        results=results,
        transition=wf.transition(form.transition.data or ""),
        definition=wf,
    )


@bp.get("/board")
def board_view() -> str:
    context = _filter_context()
    columns = partnerships.board(context["filters"])  # type: ignore[arg-type]
    now = utcnow()
    # Per card the template only looks things up: translating "N days" and building the
    # card's URL once per distinct value instead of once per card (Flask-Babel finds the
    # translations through the context locals on every call).
    ngettext = get_translations().ngettext
    days = {(now - card.state_entered_at).days for column in columns for card in column.cards}
    day_labels = {n: ngettext("%(num)d day", "%(num)d days", n) % {"num": n} for n in days}
    return render_template(
        "partnerships/board.html",
        columns=columns,
        now=now,
        day_labels=day_labels,
        card_url=url_for("partnerships.show", partnership_id=0).removesuffix("0"),
        **context,
    )


@bp.post("/new/<int:organisation_id>")
def new(organisation_id: int) -> Response:
    organisation = get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    try:
        partnership = partnerships.start_partnership(organisation, current_user)
    except PermissionError:
        abort(404)
    except partnerships.PartnershipError as exc:
        flash(str(exc), "warning")
        return redirect(url_for("organisations.show", organisation_id=organisation.id))
    db.session.commit()
    flash(_("Partnership started."), "success")
    return redirect(url_for("partnerships.show", partnership_id=partnership.id))


@bp.get("/<int:partnership_id>")
def show(partnership_id: int) -> str:
    partnership = _get_or_404(partnership_id)
    wf = workflow.definition_for(partnership)
    now = utcnow()
    can_edit = partnerships.ADAPTER.may_edit(current_user, partnership)
    return render_template(
        "partnerships/show.html",
        partnership=partnership,
        organisation=partnership.organisation,
        definition=wf,
        state=wf.state(partnership.state),
        sla=engine.sla_status(wf, partnership.state, partnership.state_entered_at, now),
        options=workflow.options_for(partnership, current_user, now),
        can_edit=can_edit,
        transition_form=TransitionForm(),
        checklist_form=ChecklistForm(),
        ticked=set((partnership.checklist or {}).get(partnership.state, [])),
        entries=organisation_timeline(partnership.organisation_id, limit=100),
        follow_ups=open_follow_ups_for("partnership", partnership.id),
        health=health_view(partnership, now),
        **_memorandum_panel(partnership, can_edit),
    )


def _memorandum_panel(partnership: Partnership, can_edit: bool) -> dict[str, object]:
    """The partnership's memoranda, and the button preparing one while it is being agreed."""
    memoranda = agreements_of_partnership(partnership.id)
    prepare = (
        can_edit
        and partnership.state in MEMORANDUM_STAGES
        and not any(m.state in OPEN_STATES for m in memoranda)
    )
    return {
        "agreements_panel": memoranda,
        "memorandum_action": url_for("agreements.prepare_memorandum", partnership_id=partnership.id)
        if prepare
        else None,
        "memorandum_form": ActionForm(),
    }


@bp.post("/<int:partnership_id>/fire")
def fire(partnership_id: int) -> Response:
    fire_from_form(_get_or_404(partnership_id))
    return redirect(url_for("partnerships.show", partnership_id=partnership_id))


@bp.post("/<int:partnership_id>/checklist")
def checklist(partnership_id: int) -> Response:
    tick_from_form(_editable_or_404(partnership_id))
    return redirect(url_for("partnerships.show", partnership_id=partnership_id, _anchor="stage"))


@bp.route("/<int:partnership_id>/edit", methods=["GET", "POST"])
def edit(partnership_id: int) -> Response | str:
    partnership = _editable_or_404(partnership_id)
    form = PartnershipForm(obj=partnership)
    if current_user.sees_everything:
        form.owner_id.choices = choices((u.id, u.name) for u in owners())
    else:
        del form.owner_id
    if form.validate_on_submit():
        try:
            partnerships.update_partnership(partnership, form.values(), current_user)
        except partnerships.PartnershipError as exc:
            form.memorandum_signed_on.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("partnerships.show", partnership_id=partnership.id))
    return render_template(
        "partnerships/form.html",
        form=form,
        partnership=partnership,
        organisation=partnership.organisation,
    )
