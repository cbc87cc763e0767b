"""The officer's buttons on a record's links panel: withdraw a link, send a new one."""

from __future__ import annotations

from flask_wtf import FlaskForm


class LinkActionForm(FlaskForm):
    """A button that posts (withdraw, send a new link): the CSRF token only.

    What the button acts on travels in the address; the view checks it against the record
    and the user.
    """
