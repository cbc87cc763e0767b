"""Error pages in the site's layout; no stack trace ever reaches a user."""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crm.extensions import db

log = logging.getLogger(__name__)


def install_error_pages(app: Flask) -> None:
    """Render 4xx/5xx errors with the site's templates."""

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> tuple[str, int]:
        return (
            render_template(
                "errors/error.html",
                code=400,
                title=_("The form has expired"),
                message=_(
                    "For your security the form could not be accepted. "
                    "Go back, reload the page and send it again."
                ),
            ),
            400,
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> tuple[str, int]:
        code = error.code or 500
        titles = {
            400: _("Bad request"),
            403: _("Not allowed"),
            404: _("Page not found"),
            405: _("Not allowed"),
            413: _("Too large"),
            429: _("Too many requests"),
        }
        messages = {
            400: _("The request could not be understood."),
            403: _("You are not allowed to see this page."),
            404: _("There is no such page, or you are not allowed to see it."),
            405: _("This address does not accept that kind of request."),
            413: _("What you sent is too large."),
            429: _("Please slow down and try again in a moment."),
        }
        return (
            render_template(
                "errors/error.html",
                code=code,
                title=titles.get(code, _("Error")),
                message=messages.get(code, _("Something went wrong.")),
            ),
            code,
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return _http(error)
        if app.testing and not app.config.get("CRM_RENDER_ERRORS_IN_TESTS"):
            raise error  # let the test show the traceback
        log.exception("unhandled error")
        db.session.rollback()
        return (
            render_template(
                "errors/error.html",
                code=500,
                title=_("Something went wrong"),
                message=_(
                    "An unexpected error happened and nothing was changed. "
                    "Please try again; if it keeps happening, tell your administrator."
                ),
            ),
            500,
        )
