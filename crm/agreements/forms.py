"""Agreement forms: the terms (one field per editable part of the document), signing for the
provider, and the small action forms of the agreement page."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, ValidationError

from crm.agreements.document import (
    ITEM_LIMIT,
    LIST_LIMIT,
    MAX_DURATION_MONTHS,
    TERM_FIELDS,
    TEXT_LIMIT,
    TermField,
)
from crm.agreements.models import AgreementKind
from crm.agreements.service import TermsValues

# The longest full name typed to sign.
TYPED_NAME_LIMIT = 200


class ListOfClauses:
    """A list field (one clause per line): at most LIST_LIMIT clauses of ITEM_LIMIT characters."""

    def __call__(self, form: FlaskForm, field: Field) -> None:
        lines = clauses(field.data)
        if len(lines) > LIST_LIMIT:
            raise ValidationError(
                _l("Keep to %(count)d clauses at most (one per line).", count=LIST_LIMIT)
            )
        if any(len(line) > ITEM_LIMIT for line in lines):
            raise ValidationError(
                _l("Keep each clause under %(count)d characters.", count=ITEM_LIMIT)
            )


def clauses(text: str | None) -> list[str]:
    """The non-empty lines of a list field, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class TermsForm(FlaskForm):
    """The document's language and its editable terms; the version the user saw travels with
    it (`lock_version`), so that two people editing at once do not overwrite each other."""

    language = SelectField(_l("Language of the document"), validators=[DataRequired()])
    version = IntegerField(validators=[InputRequired()])

    kind: AgreementKind

    def term_fields(self) -> list[tuple[TermField, Field]]:
        """The terms' fields in the document's order."""
        return [(spec, self[spec.key]) for spec in TERM_FIELDS[self.kind]]

    def fill(self, terms: dict[str, Any]) -> None:
        """Show the agreement's terms (lists one clause per line)."""
        for spec, field in self.term_fields():
            value = terms.get(spec.key)
            if spec.kind == "list":
                field.data = "\n".join(str(item) for item in value or [])
            elif spec.kind == "months":
                field.data = value
            else:
                field.data = value or ""

    def values(self) -> TermsValues:
        """The plain values for the service."""
        terms: dict[str, Any] = {}
        for spec, field in self.term_fields():
            if spec.kind == "list":
                terms[spec.key] = clauses(field.data)
            elif spec.kind == "months":
                terms[spec.key] = int(field.data)
            else:
                terms[spec.key] = (field.data or "").strip()
        return TermsValues(language=self.language.data or "en", terms=terms)


@cache
def _terms_form_class(kind: AgreementKind) -> type[TermsForm]:
    fields: dict[str, Any] = {"kind": kind}
    for spec in TERM_FIELDS[kind]:
        if spec.kind == "months":
            fields[spec.key] = IntegerField(
                spec.label,
                description=spec.help,
                validators=[InputRequired(), NumberRange(min=1, max=MAX_DURATION_MONTHS)],
            )
        elif spec.kind == "list":
            fields[spec.key] = TextAreaField(
                spec.label,
                description=spec.help,
                validators=[Length(max=LIST_LIMIT * (ITEM_LIMIT + 2)), ListOfClauses()],
                render_kw={"rows": 6},
            )
        else:
            fields[spec.key] = TextAreaField(
                spec.label,
                description=spec.help,
                validators=[Length(max=TEXT_LIMIT)],
                render_kw={"rows": 4},
            )
    return type(f"TermsForm_{kind.name}", (TermsForm,), fields)


def terms_form(kind: AgreementKind, languages: list[tuple[str, str]], **kwargs: Any) -> TermsForm:
    """The terms form of an agreement of `kind`, offering `languages` (code, name)."""
    form = _terms_form_class(AgreementKind(kind))(**kwargs)
    form.language.choices = languages
    return form


class ProviderSignatureForm(FlaskForm):
    """A manager or an admin signs the current version for the provider.

    The signing service checks the name, the tick and the hash (its messages go next to the
    fields), so that the same rules hold in the app and on the signing page.
    """

    typed_name = StringField(
        _l("Your full name"), render_kw={"autocomplete": "name", "maxlength": TYPED_NAME_LIMIT}
    )
    consent = BooleanField(
        _l("I have read this version of the agreement and sign it for the provider.")
    )
    document_sha256 = HiddenField()


class ActionForm(FlaskForm):
    """A button that posts (prepare the memorandum, send a signer a new link): CSRF only."""
