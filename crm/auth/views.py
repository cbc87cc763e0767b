"""Login, logout, the user's own account, and the administrators' user pages."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from crm.auth import service
from crm.auth.forms import (
    EmptyForm,
    LanguageForm,
    LoginForm,
    PasswordChangeForm,
    PreferencesForm,
    UserForm,
)
from crm.auth.models import User
from crm.core.locales import ui_language_choices
from crm.core.security import roles_required, safe_next_url
from crm.core.validators import choices
from crm.extensions import db
from crm.followups.agenda import renew_calendar_token

auth_bp = Blueprint("auth", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")


@auth_bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("organisations.index"))
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        try:
            user = service.authenticate(form.email.data or "", form.password.data or "")
        except service.LoginRefused as refused:
            db.session.commit()  # keep the failure count
            error = str(refused)
        else:
            db.session.commit()
            login_user(user)
            return redirect(safe_next_url(form.next.data) or url_for("organisations.index"))
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status  # type: ignore[return-value]


@auth_bp.post("/logout")
def logout() -> Response:
    # CSRFProtect has already checked the token; logging out ends every session of the user.
    service.end_all_sessions(current_user)
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@auth_bp.post("/language")
def set_language() -> Response:
    form = LanguageForm()
    if form.validate_on_submit():
        try:
            service.set_preferences(current_user, locale=form.locale.data)
            db.session.commit()
        except service.AccountError as exc:
            flash(str(exc), "danger")
    return redirect(safe_next_url(form.next.data) or url_for("organisations.index"))


@auth_bp.route("/account", methods=["GET", "POST"])
def account() -> Response | str:
    prefs = PreferencesForm(prefix="prefs", obj=current_user)
    prefs.locale.choices = choices(ui_language_choices())
    password = PasswordChangeForm(prefix="pw")
    calendar = EmptyForm(prefix="cal")
    calendar_url = None
    if "prefs-submit" in request.form and prefs.validate_on_submit():
        try:
            service.set_preferences(
                current_user, locale=prefs.locale.data, timezone=prefs.timezone.data
            )
        except service.AccountError as exc:
            prefs.timezone.errors = [str(exc)]
        else:
            db.session.commit()
            flash(_("Your preferences are saved."), "success")
            return redirect(url_for("auth.account"))
    if "pw-submit" in request.form and password.validate_on_submit():
        if not service.password_matches(current_user, password.current_password.data or ""):
            password.current_password.errors = [_("This is not your current password.")]
        else:
            service.set_password(current_user, password.new_password.data or "")
            db.session.commit()
            # This browser continues under the new session token. Pass the user itself: the
            # `current_user` proxy would be stored as the user and resolve to itself forever.
            login_user(current_user._get_current_object())
            flash(_("Your password is changed; your other sessions have ended."), "success")
            return redirect(url_for("auth.account"))
    if "cal-submit" in request.form and calendar.validate_on_submit():
        token = renew_calendar_token(current_user)
        db.session.commit()
        # Shown on this response only, never stored in clear nor put in the session.
        calendar_url = current_app.config["CRM_BASE_URL"] + url_for(
            "followups.calendar_feed", token=token
        )
    return render_template(
        "auth/account.html",
        prefs=prefs,
        password=password,
        calendar=calendar,
        calendar_url=calendar_url,
    )


# --- administrators -----------------------------------------------------------------------


@admin_bp.get("/users")
@roles_required("admin")
def users() -> str:
    rows = db.session.scalars(sa.select(User).order_by(User.is_active_account.desc(), User.name))
    return render_template("auth/users.html", users=rows.all())


@admin_bp.route("/users/new", methods=["GET", "POST"])
@roles_required("admin")
def new_user() -> Response | str:
    form = UserForm()
    form.locale.choices = choices(ui_language_choices())
    if request.method == "GET":
        form.timezone.data = current_app.config["CRM_DISPLAY_TIMEZONE"]
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors = [_("Set a first password for the new account.")]
        else:
            try:
                user = service.create_user(form.values(), form.password.data)
            except service.AccountError as exc:
                form[exc.field].errors = [str(exc)]
            else:
                db.session.commit()
                flash(_("Account for %(name)s created.", name=user.name), "success")
                return redirect(url_for("admin.users"))
    return render_template("auth/user_form.html", form=form, user=None)


@admin_bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required("admin")
def edit_user(user_id: int) -> Response | str:
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user)
    form.locale.choices = choices(ui_language_choices())
    if request.method == "GET":
        form.role.data = user.role.value
        form.is_active.data = user.is_active_account
    if form.validate_on_submit():
        try:
            service.update_user(user, form.values(), acting=current_user)
            if form.password.data:
                service.set_password(user, form.password.data)
        except service.AccountError as exc:
            form[exc.field].errors = [str(exc)]
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)  # keep the administrator's own session after a reset
            flash(_("Account of %(name)s saved.", name=user.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("auth/user_form.html", form=form, user=user)
