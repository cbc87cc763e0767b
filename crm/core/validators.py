"""Form validators shared by several areas."""

from __future__ import annotations

from collections.abc import Iterable

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms import Field, Form, SelectChoice
from wtforms.validators import ValidationError


class EmailAddress:
    """Checks the syntax of an e-mail address only: no DNS lookups (none are possible here).

    Special-use domains such as `.test` are accepted so that demo and test accounts work.
    """

    def __call__(self, form: Form, field: Field) -> None:
        if not field.data:
            return
        try:
            validate_email(field.data, check_deliverability=False, test_environment=True)
        except EmailNotValidError as exc:
            raise ValidationError(_l("Enter a valid e-mail address.")) from exc


def strip_whitespace(value: object) -> object:
    """A WTForms filter: surrounding spaces (often pasted with an address) are dropped."""
    return value.strip() if isinstance(value, str) else value


def choices(
    pairs: Iterable[tuple[object, object]], optgroup: str | None = None
) -> list[SelectChoice]:
    """Select options from (value, label) pairs, optionally under one <optgroup>."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]
