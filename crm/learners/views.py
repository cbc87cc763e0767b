"""Learner pages (list, export, detail, create, edit, archive) and programme pages."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import to_user_timezone
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from crm.auth.forms import EmptyForm
from crm.core.pagination import page_number
from crm.core.security import roles_required
from crm.db import utcnow
from crm.extensions import db
from crm.learners import programmes
from crm.learners import service as learners
from crm.learners.forms import CohortForm, LearnerForm, ProgrammeForm
from crm.learners.models import Cohort, Learner, Programme
from crm.organisations import nace

bp = Blueprint("learners", __name__, url_prefix="/learners")
programmes_bp = Blueprint("programmes", __name__, url_prefix="/programmes")

STAFF = ("admin", "manager", "officer")


def _show_error(form: FlaskForm, error: learners.LearnerError) -> None:
    """Put a service error next to the field it concerns."""
    field = form._fields.get(error.field) or next(iter(form))
    field.errors = [*field.errors, str(error)]


def _number(name: str) -> int | None:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() else None


# --- learners ---------------------------------------------------------------------------------


def _filters() -> learners.LearnerFilters:
    return learners.LearnerFilters(
        query=request.args.get("q", "")[:200],
        programme_id=_number("programme"),
        cohort_id=_number("cohort"),
        officer_id=_number("officer"),
        include_archived=request.args.get("archived") == "1",
    )


def _learner_or_404(learner_id: int, editing: bool = False) -> Learner:
    learner = learners.get_learner(learner_id)
    if learner is None or (editing and not learners.can_edit(current_user, learner)):
        abort(404)
    return learner


def _learner_form(learner: Learner | None) -> LearnerForm:
    officers = None
    if current_user.sees_everything:
        officers = [(u.id, u.name) for u in learners.officers()]
        if learner is not None and learner.officer_id not in {o[0] for o in officers}:
            officers.append((learner.officer_id, learner.officer.name))
    form = LearnerForm(
        obj=learner,
        programmes=learners.programme_choices(learner.programme_id if learner else None),
        officers=officers,
    )
    if learner is not None and not learners.can_see_support_needs(current_user, learner):
        del form.support_needs
    if request.method == "GET" and learner is not None:
        form.consent_basis.data = learner.consent_basis.value
    return form


@bp.get("/")
def index() -> str:
    filters = _filters()
    page = learners.list_learners(
        filters, page_number(request.args.get("page")), current_app.config["CRM_PAGE_SIZE"]
    )
    return render_template(
        "learners/index.html",
        page=page,
        filters=filters,
        programmes=learners.programme_filter_choices(),
        cohorts=learners.cohort_filter_choices(),
        officers=learners.officer_filter_choices(),
    )


@bp.get("/export.csv")
@roles_required(*STAFF)
def export() -> Response:
    body = "\ufeff" + learners.learners_csv(_filters())  # the BOM makes Excel read UTF-8
    filename = f"learners-{utcnow().date().isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | str:
    form = _learner_form(None)
    if request.method == "GET":
        form.programme_id.data = _number("programme") or 0
        form.cohort_id.data = _number("cohort") or 0
        if "officer_id" in form:
            form.officer_id.data = current_user.id
    if form.validate_on_submit():
        try:
            learner = learners.create_learner(form.values(), current_user)
        except learners.LearnerError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("%(name)s added.", name=learner.name), "success")
            return redirect(url_for("learners.show", learner_id=learner.id))
    return render_template("learners/form.html", form=form, learner=None)


@bp.get("/<int:learner_id>")
def show(learner_id: int) -> str:
    from crm.placements.service import placements_of_learner

    learner = _learner_or_404(learner_id)
    today = to_user_timezone(utcnow()).date()
    may_see = learners.can_see_support_needs(current_user, learner)
    return render_template(
        "learners/show.html",
        learner=learner,
        can_edit=learners.can_edit(current_user, learner),
        support_needs=learner.support_needs if may_see else None,
        age=learners.age_on(learner.birth_date, today),
        is_minor=learners.is_minor(learner.birth_date, today),
        learner_placements=placements_of_learner(learner.id),
        action_form=EmptyForm(),
    )


@bp.route("/<int:learner_id>/edit", methods=["GET", "POST"])
def edit(learner_id: int) -> Response | str:
    learner = _learner_or_404(learner_id, editing=True)
    form = _learner_form(learner)
    if form.validate_on_submit():
        try:
            learners.update_learner(learner, form.values(), current_user)
        except learners.LearnerError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("learners.show", learner_id=learner.id))
    return render_template("learners/form.html", form=form, learner=learner)


@bp.post("/<int:learner_id>/archive")
def archive(learner_id: int) -> Response:
    learner = _learner_or_404(learner_id, editing=True)
    form = EmptyForm()
    if form.validate_on_submit():
        restore = request.form.get("restore") == "1"
        learners.set_learner_archived(learner, not restore, current_user)
        db.session.commit()
        if restore:
            flash(_("%(name)s is back on the list.", name=learner.name), "success")
        else:
            flash(_("%(name)s is archived; the history is kept.", name=learner.name), "success")
    return redirect(url_for("learners.show", learner_id=learner.id))


# --- programmes -------------------------------------------------------------------------------


def _programme_or_404(programme_id: int, managing: bool = False) -> Programme:
    programme = programmes.get_programme(programme_id)
    if programme is None or (managing and not programmes.can_manage_programmes(current_user)):
        abort(404)
    return programme


def _programme_page(programme: Programme, cohort_form: CohortForm, cohort: Cohort | None) -> str:
    return render_template(
        "programmes/show.html",
        programme=programme,
        section_label=nace.SECTIONS.get(programme.sector, ""),
        active_outcomes=[o for o in programme.outcomes if not o.retired],
        retired_outcomes=[o for o in programme.outcomes if o.retired],
        learner_counts=programmes.cohort_learner_counts(programme.id),
        can_manage=programmes.can_manage_programmes(current_user),
        cohort_form=cohort_form,
        editing_cohort=cohort,
        action_form=EmptyForm(),
    )


@programmes_bp.get("/")
def index_programmes() -> str:
    return render_template(
        "programmes/index.html",
        rows=programmes.list_programmes(include_archived=request.args.get("archived") == "1"),
        include_archived=request.args.get("archived") == "1",
        can_manage=programmes.can_manage_programmes(current_user),
        sections=nace.SECTIONS,
    )


@programmes_bp.route("/new", methods=["GET", "POST"], endpoint="new")
@roles_required("admin", "manager")
def new_programme() -> Response | str:
    form = ProgrammeForm()
    if form.validate_on_submit():
        try:
            programme = programmes.create_programme(form.values(), current_user)
        except learners.LearnerError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Programme %(name)s added.", name=programme.name), "success")
            return redirect(url_for("programmes.show", programme_id=programme.id))
    return render_template("programmes/form.html", form=form, programme=None)


@programmes_bp.get("/<int:programme_id>", endpoint="show")
def show_programme(programme_id: int) -> str:
    programme = _programme_or_404(programme_id)
    cohort = None
    if programmes.can_manage_programmes(current_user) and _number("cohort"):
        cohort = next((c for c in programme.cohorts if c.id == _number("cohort")), None)
    return _programme_page(programme, CohortForm(obj=cohort), cohort)


@programmes_bp.route("/<int:programme_id>/edit", methods=["GET", "POST"], endpoint="edit")
def edit_programme(programme_id: int) -> Response | str:
    programme = _programme_or_404(programme_id, managing=True)
    form = ProgrammeForm(obj=programme)
    if request.method == "GET":
        form.outcomes.data = "\n".join(o.text for o in programme.outcomes if not o.retired)
    if form.validate_on_submit():
        try:
            programmes.update_programme(programme, form.values(), current_user)
        except learners.LearnerError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Changes saved."), "success")
            return redirect(url_for("programmes.show", programme_id=programme.id))
    return render_template("programmes/form.html", form=form, programme=programme)


@programmes_bp.post("/<int:programme_id>/archive", endpoint="archive")
def archive_programme(programme_id: int) -> Response:
    programme = _programme_or_404(programme_id, managing=True)
    if EmptyForm().validate_on_submit():
        restore = request.form.get("restore") == "1"
        programmes.set_programme_archived(programme, not restore, current_user)
        db.session.commit()
        if restore:
            flash(_("%(name)s is offered again.", name=programme.name), "success")
        else:
            flash(_("%(name)s is archived.", name=programme.name), "success")
    return redirect(url_for("programmes.show", programme_id=programme.id))


@programmes_bp.post("/<int:programme_id>/cohorts", defaults={"cohort_id": None})
@programmes_bp.post("/<int:programme_id>/cohorts/<int:cohort_id>")
def save_cohort(programme_id: int, cohort_id: int | None) -> Response | str:
    programme = _programme_or_404(programme_id, managing=True)
    cohort = None
    if cohort_id is not None:
        cohort = next((c for c in programme.cohorts if c.id == cohort_id), None)
        if cohort is None:
            abort(404)
    form = CohortForm()
    if form.validate_on_submit():
        try:
            if cohort is None:
                programmes.add_cohort(programme, form.values(), current_user)
            else:
                programmes.update_cohort(cohort, programme, form.values(), current_user)
        except learners.LearnerError as exc:
            _show_error(form, exc)
        else:
            db.session.commit()
            flash(_("Cohort %(name)s saved.", name=form.name.data), "success")
            return redirect(
                url_for("programmes.show", programme_id=programme.id, _anchor="cohorts")
            )
    return _programme_page(programme, form, cohort)
