"""Login, account and preference forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from crm.auth.models import ROLE_LABELS, Role
from crm.auth.service import MIN_PASSWORD_LENGTH, UserValues
from crm.core.validators import EmailAddress, choices, strip_whitespace

COMMON_TIMEZONES = [
    "Europe/Lisbon",
    "Europe/Dublin",
    "Europe/London",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Amsterdam",
    "Europe/Luxembourg",
    "Europe/Berlin",
    "Europe/Vienna",
    "Europe/Zurich",
    "Europe/Rome",
    "Europe/Prague",
    "Europe/Warsaw",
    "Europe/Copenhagen",
    "Europe/Stockholm",
    "Europe/Oslo",
    "Europe/Helsinki",
    "Europe/Tallinn",
    "Europe/Riga",
    "Europe/Vilnius",
    "Europe/Budapest",
    "Europe/Bratislava",
    "Europe/Ljubljana",
    "Europe/Zagreb",
    "Europe/Bucharest",
    "Europe/Sofia",
    "Europe/Athens",
    "Asia/Nicosia",
    "Europe/Malta",
    "UTC",
]


def email_field(label: str | object) -> EmailField:
    """An e-mail field checked for syntax only (no DNS lookups here)."""
    return EmailField(
        label,
        validators=[DataRequired(), EmailAddress(), Length(max=254)],
        filters=[strip_whitespace],
    )


class LoginForm(FlaskForm):
    email = StringField(
        _l("E-mail address"),
        validators=[DataRequired(), Length(max=254)],
        filters=[strip_whitespace],
        render_kw={"autocomplete": "username", "type": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class UserForm(FlaskForm):
    """An administrator creates or edits a staff account."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    email = email_field(_l("E-mail address"))
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    role = SelectField(_l("Role"), choices=choices((r.value, ROLE_LABELS[r]) for r in Role))
    timezone = SelectField(_l("Time zone"), choices=choices((tz, tz) for tz in COMMON_TIMEZONES))
    locale = SelectField(_l("Language"), choices=[])
    is_active = BooleanField(_l("Active"), default=True)
    password = PasswordField(
        _l("Password"),
        validators=[Optional(), Length(min=MIN_PASSWORD_LENGTH, max=1024)],
        description=_l("Leave empty to keep the current password."),
    )

    def values(self) -> UserValues:
        """The plain values for the service."""
        return UserValues(
            email=self.email.data or "",
            name=self.name.data or "",
            role=Role(self.role.data),
            phone=self.phone.data or "",
            timezone=self.timezone.data or "UTC",
            locale=self.locale.data or "en",
            is_active=bool(self.is_active.data),
        )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=1024)]
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
    )


class PreferencesForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[])
    timezone = SelectField(_l("Time zone"), choices=choices((tz, tz) for tz in COMMON_TIMEZONES))


class LanguageForm(FlaskForm):
    """The language switch in the user menu."""

    locale = HiddenField(validators=[DataRequired()])
    next = HiddenField()


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for buttons that post."""
