"""Outbox forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField
from wtforms.validators import Length, Optional

from crm.core.validators import EmailAddress, strip_whitespace


class ResendForm(FlaskForm):
    """Send a message again, to its address or to a corrected one."""

    to_email = EmailField(
        _l("Send to"),
        validators=[Optional(), EmailAddress(), Length(max=254)],
        filters=[strip_whitespace],
        description=_l("Correct the address if it was wrong."),
    )
    next = HiddenField()
