"""Organisation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from crm.core.locales import country_choices
from crm.core.validators import choices
from crm.organisations import nace
from crm.organisations.models import (
    CAPACITY_PERIOD_LABELS,
    SIZE_BAND_LABELS,
    CapacityPeriod,
    SizeBand,
)
from crm.organisations.service import OrganisationValues, parse_tags, website_domain


class OrganisationForm(FlaskForm):
    """Create or edit an organisation; `duplicate_reason` appears when a duplicate is found."""

    legal_name = StringField(_l("Legal name"), validators=[DataRequired(), Length(max=200)])
    trading_name = StringField(_l("Trading name"), validators=[Optional(), Length(max=200)])
    registration_number = StringField(
        _l("Registration or VAT number"), validators=[Optional(), Length(max=60)]
    )
    nace_code = SelectField(_l("Sector (NACE)"), validators=[DataRequired()])
    size_band = SelectField(_l("Size"), validators=[Optional()])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=120)])
    address = TextAreaField(_l("Address"), validators=[Optional(), Length(max=1000)])
    website = StringField(_l("Website"), validators=[Optional(), Length(max=300)])
    tags = StringField(
        _l("Tags"),
        validators=[Optional(), Length(max=500)],
        description=_l("Separate tags with commas."),
    )
    capacity_pledge = IntegerField(
        _l("Capacity pledge (learners)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=10000)],
    )
    capacity_period = SelectField(
        _l("Per"),
        choices=choices((p.value, CAPACITY_PERIOD_LABELS[p]) for p in CapacityPeriod),
        default=CapacityPeriod.YEAR.value,
    )
    owner_id = SelectField(_l("Owner"), coerce=int, validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])
    duplicate_reason = TextAreaField(
        _l("Why add it anyway?"), validators=[Optional(), Length(max=1000)]
    )

    def __init__(
        self, *args: object, owners: list[tuple[int, str]] | None = None, **kwargs: object
    ):
        super().__init__(*args, **kwargs)
        self.nace_code.choices = choices([("", _l("Choose a sector…"))]) + [
            SelectChoice(
                d.code,
                f"{d.code} — {d.label}",
                optgroup=f"{d.section} — {nace.SECTIONS[d.section]}",
            )
            for d in nace.DIVISIONS.values()
        ]
        self.size_band.choices = choices(
            [("", _l("Unknown")), *((b.value, SIZE_BAND_LABELS[b]) for b in SizeBand)]
        )
        self.country.choices = choices([("", _l("Choose a country…")), *country_choices()])
        if owners is None:
            del self.owner_id
        else:
            self.owner_id.choices = choices(owners)

    def validate_website(self, field: StringField) -> None:
        if not field.data:
            return
        text = field.data.strip()
        # Only web addresses: the page links to it, and "javascript://x.com/%0A..." would run.
        scheme = text.split("://", 1)[0].lower() if "://" in text else "https"
        if scheme not in ("http", "https") or "." not in website_domain(text):
            raise ValidationError(_l("Enter a website address such as example.com."))

    def values(self) -> OrganisationValues:
        """The plain values for the service."""
        owner_field = getattr(self, "owner_id", None)
        return OrganisationValues(
            legal_name=self.legal_name.data or "",
            trading_name=self.trading_name.data or "",
            registration_number=self.registration_number.data or "",
            nace_code=self.nace_code.data or "",
            size_band=SizeBand(self.size_band.data) if self.size_band.data else None,
            country=self.country.data or "",
            city=self.city.data or "",
            address=self.address.data or "",
            website=self.website.data or "",
            notes=self.notes.data or "",
            capacity_pledge=self.capacity_pledge.data or 0,
            capacity_period=CapacityPeriod(self.capacity_period.data or "year"),
            tags=parse_tags(self.tags.data or ""),
            owner_id=owner_field.data if owner_field is not None else None,
        )
