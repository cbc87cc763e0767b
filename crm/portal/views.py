"""The link pages: `/l/<purpose>/<record>/<token>`, opened from an e-mail without an account.

Opening a page (GET or HEAD, or a mail scanner prefetching it) changes nothing; only the POST
of its form (CSRF-protected) decides. Every request counts against the sender's address
(CRM_LINK_RATE_LIMIT) before anything else is read, form posts without a CSRF token
included. The token travels only in the path; the logs mask it
(crm.core.security.install_log_redaction) and the pages send no referrer.

Each purpose has its page in its own module (crm.portal.confirm, crm.portal.evaluate), called
with an open link; this module answers for links that are spent, expired, ended or unknown,
all of which but the spent one get the same page and status, whatever the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    make_response,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import HTTPException
from wtforms import ValidationError

from crm.core import ratelimit
from crm.extensions import csrf, db
from crm.links import service as links
from crm.links.models import PURPOSE_BY_SLUG, ActionLink, LinkPurpose

bp = Blueprint("portal", __name__, url_prefix="/l")
# CSRF is checked by `_guard`, after the request is counted (see `_check_csrf`).
csrf.exempt(bp)
log = logging.getLogger(__name__)

# purpose → page(link) -> response; filled by the purpose modules at import.
PAGES: dict[LinkPurpose, Callable[[ActionLink], Any]] = {}
# purpose → answered(link) -> what its spent link's page adds (filled like PAGES).
ANSWERED: dict[LinkPurpose, Callable[[ActionLink], dict[str, Any]]] = {}
RATE_SCOPE = "link-pages"


def page(purpose: LinkPurpose) -> Callable[[Callable[[ActionLink], Any]], Callable[..., Any]]:
    """Register the page of a purpose."""

    def decorator(function: Callable[[ActionLink], Any]) -> Callable[[ActionLink], Any]:
        PAGES[purpose] = function
        return function

    return decorator


def client_ip() -> str:
    """The sender's address as the server saw it (behind proxies, set CRM_PROXY_HOPS)."""
    return request.remote_addr or ""


def user_agent() -> str:
    """The browser's own description, kept with a decision as evidence."""
    return request.headers.get("User-Agent", "")[:500]


@bp.before_request
def _guard() -> Any:
    """Count the request against the sender's address (429 past the limit), then check CSRF."""
    rate = ratelimit.parse_rate(current_app.config["CRM_LINK_RATE_LIMIT"])
    allowed = ratelimit.hit(RATE_SCOPE, client_ip(), rate)
    db.session.commit()  # the hit counts even when the request is refused
    if not allowed:
        response = make_response(render_template("portal/limited.html"), 429)
        response.headers["Retry-After"] = str(ratelimit.retry_after(rate))
        return response
    _check_csrf()
    return None


def _check_csrf() -> None:
    """Refuse a form post without its session's CSRF token (400).

    Done here rather than by CSRFProtect's own hook, which runs first: posts without a token
    must count against the rate limit too. And without Flask-WTF's HTTPS referrer check:
    these pages send no referrer (their address holds the token), so browsers post their
    forms without one. The token, bound to the visitor's session, stops a forged post.
    """
    config = current_app.config
    if not config["WTF_CSRF_ENABLED"] or request.method not in config["WTF_CSRF_METHODS"]:
        return
    try:
        validate_csrf(_posted_csrf_token())
    except ValidationError as error:
        raise CSRFError(error.args[0]) from error
    g.csrf_valid = True  # the purpose pages' FlaskForms need not check it again


def _posted_csrf_token() -> str | None:
    name = current_app.config["WTF_CSRF_FIELD_NAME"]
    if request.form.get(name):
        return request.form[name]
    for key, value in request.form.items():  # a form with a prefix: "<prefix>-csrf_token"
        if key.endswith(name) and value:
            return value
    return None


@bp.after_request
def _private(response: Response) -> Response:
    # Nothing of a link page is kept by caches, and no address leaves with a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# CSRFError by name too: the app's handler for it is registered by status code, which Flask
# prefers to a blueprint's handler for a base class.
@bp.errorhandler(CSRFError)
@bp.errorhandler(Exception)
def _error(error: Exception) -> Any:
    """Errors on a link page in the public layout (the staff one offers a register)."""
    if isinstance(error, CSRFError):
        code, title = 400, _("The form has expired")
        message = _(
            "For your security the form could not be accepted. "
            "Go back, reload the page and send it again."
        )
    elif isinstance(error, HTTPException):
        code, title = error.code or 500, _("Error")
        message = {
            404: _("There is no such page, or you are not allowed to see it."),
            413: _("What you sent is too large."),
        }.get(code, _("The request could not be understood."))
    else:
        if current_app.testing and not current_app.config.get("CRM_RENDER_ERRORS_IN_TESTS"):
            raise error  # let the test show the traceback
        log.exception("unhandled error on a link page")
        db.session.rollback()
        code, title = 500, _("Something went wrong")
        message = _("An unexpected error happened and nothing was changed.")
    values = request.view_args or {}
    back = (
        url_for("portal.link", **values)
        if {"purpose", "record_id", "token"} <= values.keys()
        else None
    )
    return render_template("portal/error.html", title=title, message=message, back=back), code


def speak(link: ActionLink | None) -> None:
    """Answer in the recipient's language (the link's), else the browser's."""
    if link is not None and link.language in current_app.config["CRM_LANGUAGES"]:
        g.portal_language = link.language
        refresh()


def _purpose(slug: str) -> LinkPurpose | None:
    """The purpose an address names, if it has a page (a purpose whose page is not written
    yet answers like an unknown one)."""
    from crm.links import purposes

    purpose = PURPOSE_BY_SLUG.get(slug)
    if purpose is None or purpose not in PAGES or purpose not in purposes.SPECS:
        return None
    return purpose


@bp.route("/<purpose>/<int:record_id>/<token>", methods=["GET", "POST"])
def link(purpose: str, record_id: int, token: str) -> Any:
    """The link's page: its purpose's form while open, otherwise what became of it."""
    link_purpose = _purpose(purpose)
    found = links.find(token, lock=request.method == "POST") if link_purpose else None
    state = (
        links.status(found, link_purpose, record_id)
        if link_purpose is not None
        else links.LinkStatus.UNKNOWN
    )
    if state == links.LinkStatus.UNKNOWN:
        found = None  # a link used under another purpose or record tells nothing about itself
    speak(found)
    if state == links.LinkStatus.SPENT:
        assert found is not None
        return answered(found)
    if state != links.LinkStatus.OPEN:
        return unavailable(purpose, record_id, token)
    assert found is not None and link_purpose is not None
    return PAGES[link_purpose](found)


def answered(link: ActionLink) -> str:
    """The page of a spent link: what was decided and when, and what its purpose adds."""
    extra = ANSWERED.get(link.purpose)
    return render_template("portal/answered.html", link=link, **(extra(link) if extra else {}))


def unavailable(purpose: str, record_id: int, token: str) -> Any:
    """One plain page, one status, for expired, withdrawn, changed and unknown links alike."""
    return (
        render_template(
            "portal/unavailable.html", purpose=purpose, record_id=record_id, token=token
        ),
        410,
    )


@bp.route("/<purpose>/<int:record_id>/<token>/fresh", methods=["POST"])
def fresh(purpose: str, record_id: int, token: str) -> Any:
    """ "Send me a fresh link": to the address on record only, never to one typed here.

    The answer is the same whatever the link was (or whether it existed at all).
    """
    from crm.portal.fresh import request_fresh_link

    link_purpose = _purpose(purpose)
    found = links.find(token, lock=True) if link_purpose else None
    if found is not None and (found.purpose != link_purpose or found.record_id != record_id):
        found = None
    speak(found)
    if found is not None:
        request_fresh_link(found)
    db.session.commit()
    return render_template("portal/fresh_sent.html")


# The purposes' pages register themselves.
from crm.portal import confirm, evaluate, sign  # noqa: E402, F401
