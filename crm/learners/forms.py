"""Programme, cohort and learner forms."""

from __future__ import annotations

from collections.abc import Sequence

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from crm.contacts.models import CONSENT_BASIS_LABELS, ConsentBasis
from crm.core.validators import EmailAddress, choices, strip_whitespace
from crm.db import utcnow
from crm.learners.models import Programme
from crm.learners.programmes import (
    OUTCOME_MAX_LENGTH,
    CohortValues,
    ProgrammeValues,
    parse_outcomes,
)
from crm.learners.service import EARLIEST_BIRTH_DATE, LearnerValues
from crm.organisations import nace


class ProgrammeForm(FlaskForm):
    """Create or edit a programme; its outcomes are edited one per line."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=30)],
        filters=[strip_whitespace],
        description=_l("A short unique code, e.g. MECH-4."),
    )
    eqf_level = IntegerField(
        _l("EQF level"),
        validators=[InputRequired(), NumberRange(min=1, max=8)],
        description=_l("The level of the European Qualifications Framework, 1 to 8."),
    )
    sector = SelectField(_l("Sector (NACE section)"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    outcomes = TextAreaField(
        _l("Skills and learning outcomes"),
        validators=[Optional(), Length(max=30000)],
        description=_l(
            "One per line. Employers rate these in their evaluations; an outcome you remove "
            "is kept for earlier evaluations but no longer asked."
        ),
        render_kw={"rows": 8},
    )

    def __init__(self, *args: object, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.sector.choices = choices([("", _l("Choose a sector…")), *nace.section_choices()])

    def validate_outcomes(self, field: TextAreaField) -> None:
        if any(len(text) > OUTCOME_MAX_LENGTH for text in parse_outcomes(field.data or "")):
            raise ValidationError(
                _l("Each outcome can be at most %(num)d characters long.", num=OUTCOME_MAX_LENGTH)
            )

    def values(self) -> ProgrammeValues:
        """The plain values for the service."""
        return ProgrammeValues(
            name=self.name.data or "",
            code=self.code.data or "",
            eqf_level=self.eqf_level.data or 0,
            sector=self.sector.data or "",
            description=self.description.data or "",
            outcomes=parse_outcomes(self.outcomes.data or ""),
        )


class CohortForm(FlaskForm):
    """Add or change a programme year."""

    name = StringField(
        _l("Cohort"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("The programme year, e.g. 2026/27."),
    )
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on"), validators=[InputRequired()])

    def validate_ends_on(self, field: DateField) -> None:
        if self.starts_on.data and field.data and field.data <= self.starts_on.data:
            raise ValidationError(_l("The programme year must end after it starts."))

    def values(self) -> CohortValues:
        """The plain values for the service."""
        assert self.starts_on.data is not None and self.ends_on.data is not None
        return CohortValues(
            name=self.name.data or "", starts_on=self.starts_on.data, ends_on=self.ends_on.data
        )


class LearnerForm(FlaskForm):
    """Create or edit a learner.

    The view removes `support_needs` for users who may not see it, and `officer_id` for
    officers (they look after the learners they add).
    """

    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(
        _l("E-mail address"),
        validators=[Optional(), EmailAddress(), Length(max=254)],
        filters=[strip_whitespace],
    )
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
    cohort_id = SelectField(
        _l("Cohort"),
        coerce=int,
        validators=[DataRequired()],
        description=_l("The programme year; placements must fall inside it."),
    )
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    consent_basis = SelectField(_l("Lawful basis (GDPR)"), validators=[DataRequired()])
    guardian_name = StringField(
        _l("Parent or guardian"),
        validators=[Optional(), Length(max=200)],
        description=_l("Needed for learners under 18."),
    )
    guardian_email = EmailField(
        _l("Parent or guardian's e-mail address"),
        validators=[Optional(), EmailAddress(), Length(max=254)],
        filters=[strip_whitespace],
    )
    support_needs = TextAreaField(
        _l("Support needs (confidential)"),
        validators=[Optional(), Length(max=10000)],
        description=_l(
            "Confidential: only the learner's officer, managers and administrators see this. "
            "It never appears in lists, exports or e-mails."
        ),
    )
    officer_id = SelectField(_l("Officer"), coerce=int, validators=[DataRequired()])

    def __init__(
        self,
        *args: object,
        programmes: Sequence[Programme] = (),
        officers: Sequence[tuple[int, str]] | None = None,
        **kwargs: object,
    ):
        super().__init__(*args, **kwargs)
        self._cohort_programme = {c.id: p.id for p in programmes for c in p.cohorts}
        self.programme_id.choices = choices(
            [(0, _l("Choose a programme…"))] + [(p.id, f"{p.name} ({p.code})") for p in programmes]
        )
        self.cohort_id.choices = choices([(0, _l("Choose a cohort…"))])
        for programme in programmes:
            self.cohort_id.choices += choices(
                ((c.id, c.name) for c in programme.cohorts), optgroup=programme.name
            )
        self.consent_basis.choices = choices(
            [("", _l("Choose…")), *((b.value, CONSENT_BASIS_LABELS[b]) for b in ConsentBasis)]
        )
        if officers is None:
            del self.officer_id
        else:
            self.officer_id.choices = choices(officers)

    def validate_cohort_id(self, field: SelectField) -> None:
        if field.data and self.programme_id.data:
            if self._cohort_programme.get(field.data) != self.programme_id.data:
                raise ValidationError(_l("Choose a cohort of the chosen programme."))

    def validate_birth_date(self, field: DateField) -> None:
        if field.data and field.data > utcnow().date():
            raise ValidationError(_l("The date of birth cannot be in the future."))
        if field.data and field.data < EARLIEST_BIRTH_DATE:
            raise ValidationError(_l("Check the date of birth."))

    def values(self) -> LearnerValues:
        """The plain values for the service (no support needs if the field was removed)."""
        support = getattr(self, "support_needs", None)
        officer = getattr(self, "officer_id", None)
        return LearnerValues(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            email=self.email.data or "",
            programme_id=self.programme_id.data or 0,
            cohort_id=self.cohort_id.data or 0,
            birth_date=self.birth_date.data,
            consent_basis=ConsentBasis(self.consent_basis.data),
            guardian_name=self.guardian_name.data or "",
            guardian_email=self.guardian_email.data or "",
            support_needs=(support.data or "") if support is not None else None,
            officer_id=officer.data if officer is not None else None,
        )
