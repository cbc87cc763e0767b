"""Organisation pages: the register list, detail with timeline, create, edit, archive."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.activities.forms import ActivityForm
from crm.activities.timeline import organisation_timeline, parse_before
from crm.auth.forms import EmptyForm
from crm.contacts.service import contacts_of
from crm.core.locales import country_choices
from crm.core.pagination import page_number
from crm.core.validators import choices
from crm.extensions import db
from crm.organisations import nace
from crm.organisations import service as organisations
from crm.organisations.forms import OrganisationForm
from crm.organisations.models import Organisation
from crm.outbox.forms import ResendForm
from crm.outbox.service import messages_for_organisation
from crm.partnerships.service import is_open, partnerships_of
from crm.placements.service import placements_of_organisation

bp = Blueprint("organisations", __name__, url_prefix="/organisations")

TIMELINE_PAGE = 100


def _filters() -> organisations.OrganisationFilters:
    args = request.args
    owner = args.get("owner", "")
    return organisations.OrganisationFilters(
        query=args.get("q", "")[:200],
        section=args.get("sector", "") if args.get("sector", "") in nace.SECTIONS else "",
        country=args.get("country", "")[:2].upper(),
        owner_id=int(owner) if owner.isdigit() else None,
        tag=args.get("tag", "")[:60],
        include_archived=args.get("archived") == "1",
        sort=args.get("sort", "name"),
    )


def _editable_or_404(organisation_id: int) -> Organisation:
    organisation = organisations.get_organisation(organisation_id)
    if organisation is None or not organisations.can_edit(current_user, organisation):
        abort(404)
    return organisation


def _owner_choices() -> list[tuple[int, str]] | None:
    if not current_user.sees_everything:
        return None
    return [(u.id, u.name) for u in organisations.owners()]


@bp.get("/")
def index() -> str:
    filters = _filters()
    page = organisations.list_organisations(
        filters, page_number(request.args.get("page")), current_app.config["CRM_PAGE_SIZE"]
    )
    return render_template(
        "organisations/index.html",
        page=page,
        filters=filters,
        sections=nace.section_choices(),
        countries=country_choices(),
        owners=organisations.owner_filter_choices(),
        tags=organisations.all_tags(),
        sorts=organisations.ORGANISATION_SORTS,
        nace=nace,
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    form = OrganisationForm(owners=_owner_choices())
    if request.method == "GET" and "owner_id" in form:
        form.owner_id.data = current_user.id
    duplicates: list[organisations.DuplicateMatch] = []
    if form.validate_on_submit():
        values = form.values()
        duplicates = organisations.find_duplicates(values)
        reason = form.duplicate_reason.data or ""
        if duplicates and not reason.strip():
            if request.form.get("confirm_duplicate"):
                form.duplicate_reason.errors = [_("Say why this is not the same organisation.")]
        else:
            try:
                organisation = organisations.create_organisation(values, current_user, reason)
            except organisations.OrganisationError as exc:
                form.nace_code.errors = [str(exc)]
            else:
                db.session.commit()
                flash(
                    _("%(name)s added to the register.", name=organisation.display_name), "success"
                )
                return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template(
        "organisations/form.html", form=form, organisation=None, duplicates=duplicates
    )


@bp.get("/<int:organisation_id>")
def show(organisation_id: int) -> str:
    organisation = organisations.get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    contacts = contacts_of(organisation, include_archived=request.args.get("archived") == "1")
    activity_form = ActivityForm()
    activity_form.contact_id.choices = choices(
        [
            (0, _("Nobody in particular")),
            *((c.id, c.full_name) for c in contacts if not c.is_archived),
        ]
    )
    can_edit = organisations.can_edit(current_user, organisation)
    partnerships = partnerships_of(organisation.id)
    return render_template(
        "organisations/show.html",
        organisation=organisation,
        contacts=contacts,
        entries=organisation_timeline(
            organisation.id, limit=TIMELINE_PAGE, before=parse_before(request.args.get("before"))
        ),
        timeline_page=TIMELINE_PAGE,
        outbox_messages=messages_for_organisation(organisation.id, limit=20),
        resend_form=ResendForm(),
        partnerships=partnerships,
        organisation_placements=placements_of_organisation(organisation.id),
        can_start_partnership=can_edit and not any(is_open(p) for p in partnerships),
        activity_form=activity_form,
        can_edit=can_edit,
        division=nace.division(organisation.nace_code),
        action_form=EmptyForm(),
    )


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
def edit(organisation_id: int) -> Response | str:
    organisation = _editable_or_404(organisation_id)
    form = OrganisationForm(obj=organisation, owners=_owner_choices())
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in organisation.tags)
        form.size_band.data = organisation.size_band.value if organisation.size_band else ""
        form.capacity_period.data = organisation.capacity_period.value
    if form.validate_on_submit():
        try:
            organisations.update_organisation(organisation, form.values(), current_user)
        except organisations.OrganisationError as exc:
            form.nace_code.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template(
        "organisations/form.html", form=form, organisation=organisation, duplicates=[]
    )


@bp.post("/<int:organisation_id>/archive")
def archive(organisation_id: int) -> Response:
    organisation = _editable_or_404(organisation_id)
    restore = request.form.get("restore") == "1"
    organisations.set_archived(organisation, not restore, current_user)
    db.session.commit()
    if restore:
        flash(_("%(name)s is back in the register.", name=organisation.display_name), "success")
    else:
        flash(
            _("%(name)s is archived; its history is kept.", name=organisation.display_name),
            "success",
        )
    return redirect(url_for("organisations.show", organisation_id=organisation.id))
