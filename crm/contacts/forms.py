"""Contact forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from crm.contacts.models import CONSENT_BASIS_LABELS, CONTACT_ROLE_LABELS, ConsentBasis, ContactRole
from crm.contacts.service import ContactValues
from crm.core.locales import contact_language_choices
from crm.core.validators import EmailAddress, choices, strip_whitespace


class ContactForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(
        _l("Role at the organisation"),
        choices=choices((r.value, CONTACT_ROLE_LABELS[r]) for r in ContactRole),
    )
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=150)])
    email = EmailField(
        _l("E-mail address"),
        validators=[Optional(), EmailAddress(), Length(max=254)],
        filters=[strip_whitespace],
    )
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=50)])
    preferred_language = SelectField(_l("Preferred language"), default="en")
    consent_basis = SelectField(_l("Lawful basis (GDPR)"))
    consent_date = DateField(_l("Since"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.preferred_language.choices = choices(contact_language_choices())
        self.consent_basis.choices = choices(
            [("", _l("Not recorded")), *((b.value, CONSENT_BASIS_LABELS[b]) for b in ConsentBasis)]
        )

    def values(self) -> ContactValues:
        """The plain values for the service."""
        return ContactValues(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            role=ContactRole(self.role.data),
            job_title=self.job_title.data or "",
            email=self.email.data or "",
            phone=self.phone.data or "",
            preferred_language=self.preferred_language.data or "en",
            consent_basis=ConsentBasis(self.consent_basis.data)
            if self.consent_basis.data
            else None,
            consent_date=self.consent_date.data,
            notes=self.notes.data or "",
        )
