"""Logging an activity from an organisation's or a contact's page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.activities.forms import ActivityForm
from crm.activities.service import ActivityError, log_activity
from crm.contacts.service import contacts_of
from crm.core.validators import choices
from crm.extensions import db
from crm.organisations.service import get_organisation

bp = Blueprint("activities", __name__, url_prefix="/activities")


@bp.route("/new/<int:organisation_id>", methods=["GET", "POST"])
def new(organisation_id: int) -> Response | str:
    organisation = get_organisation(organisation_id)
    if organisation is None:
        abort(404)
    form = ActivityForm()
    form.contact_id.choices = choices(
        [(0, _("Nobody in particular")), *((c.id, c.full_name) for c in contacts_of(organisation))]
    )
    back = request.args.get("back") or request.form.get("back") or ""
    if form.validate_on_submit():
        try:
            log_activity(organisation, form.values(), current_user)
        except ActivityError as exc:
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Activity logged."), "success")
            contact_id = form.contact_id.data
            if back == "contact" and contact_id:
                return redirect(url_for("contacts.show", contact_id=contact_id))
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
    status = 422 if request.method == "POST" else 200
    return render_template(  # type: ignore[return-value]
        "activities/form.html", form=form, organisation=organisation, back=back
    ), status
