"""Contact pages: the list, detail with timeline, create, edit, archive."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.activities.forms import ActivityForm
from crm.activities.service import timeline
from crm.auth.forms import EmptyForm
from crm.contacts import service as contacts
from crm.contacts.forms import ContactForm
from crm.contacts.models import CONTACT_ROLE_LABELS, Contact, ContactRole
from crm.core.locales import country_choices, language_for_country
from crm.core.pagination import page_number
from crm.core.validators import choices
from crm.extensions import db
from crm.organisations import nace
from crm.organisations.service import can_edit, get_organisation, owner_filter_choices

bp = Blueprint("contacts", __name__, url_prefix="/contacts")


def _filters() -> contacts.ContactFilters:
    args = request.args
    owner = args.get("owner", "")
    role = args.get("role", "")
    return contacts.ContactFilters(
        query=args.get("q", "")[:200],
        role=role if role in {r.value for r in ContactRole} else "",
        section=args.get("sector", "") if args.get("sector", "") in nace.SECTIONS else "",
        country=args.get("country", "")[:2].upper(),
        owner_id=int(owner) if owner.isdigit() else None,
        include_archived=args.get("archived") == "1",
        sort=args.get("sort", "name"),
    )


def _editable_or_404(contact_id: int) -> Contact:
    contact = contacts.get_contact(contact_id)
    if contact is None or not contacts.can_edit_contact(current_user, contact):
        abort(404)
    return contact


@bp.get("/")
def index() -> str:
    filters = _filters()
    page = contacts.list_contacts(
        filters, page_number(request.args.get("page")), current_app.config["CRM_PAGE_SIZE"]
    )
    return render_template(
        "contacts/index.html",
        page=page,
        filters=filters,
        roles=[(r.value, CONTACT_ROLE_LABELS[r]) for r in ContactRole],
        sections=nace.section_choices(),
        countries=country_choices(),
        owners=owner_filter_choices(),
        sorts=contacts.CONTACT_SORTS,
    )


@bp.route("/new/<int:organisation_id>", methods=["GET", "POST"])
def new(organisation_id: int) -> Response | str:
    organisation = get_organisation(organisation_id)
    if organisation is None or not can_edit(current_user, organisation):
        abort(404)
    form = ContactForm()
    if request.method == "GET":
        form.preferred_language.data = language_for_country(organisation.country)
    if form.validate_on_submit():
        try:
            contact = contacts.create_contact(organisation, form.values(), current_user)
        except contacts.ContactError as exc:
            form.consent_date.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("%(name)s added.", name=contact.full_name), "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    return render_template("contacts/form.html", form=form, contact=None, organisation=organisation)


@bp.get("/<int:contact_id>")
def show(contact_id: int) -> str:
    contact = contacts.get_contact(contact_id)
    if contact is None:
        abort(404)
    activity_form = ActivityForm(contact_id=contact.id)
    activity_form.contact_id.choices = choices([(contact.id, contact.full_name)])
    return render_template(
        "contacts/show.html",
        contact=contact,
        organisation=contact.organisation,
        activities=timeline(contact_id=contact.id, limit=100),
        activity_form=activity_form,
        can_edit=contacts.can_edit_contact(current_user, contact),
        action_form=EmptyForm(),
    )


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
def edit(contact_id: int) -> Response | str:
    contact = _editable_or_404(contact_id)
    form = ContactForm(obj=contact)
    if request.method == "GET":
        form.role.data = contact.role.value
        form.consent_basis.data = contact.consent_basis.value if contact.consent_basis else ""
    if form.validate_on_submit():
        try:
            contacts.update_contact(contact, form.values(), current_user)
        except contacts.ContactError as exc:
            form.consent_date.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("contacts.show", contact_id=contact.id))
    return render_template(
        "contacts/form.html", form=form, contact=contact, organisation=contact.organisation
    )


@bp.post("/<int:contact_id>/archive")
def archive(contact_id: int) -> Response:
    contact = _editable_or_404(contact_id)
    restore = request.form.get("restore") == "1"
    contacts.set_archived(contact, not restore, current_user)
    db.session.commit()
    flash(
        _("%(name)s restored.", name=contact.full_name)
        if restore
        else _("%(name)s archived.", name=contact.full_name),
        "success",
    )
    return redirect(url_for("contacts.show", contact_id=contact.id))
