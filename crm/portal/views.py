"""The link pages: `/l/<purpose>/<record>/<token>`, opened from an e-mail without an account.

Opening a page (GET or HEAD, or a mail scanner prefetching it) changes nothing; only the POST
of its form (CSRF-protected) decides. Every request counts against the sender's address
(CRM_LINK_RATE_LIMIT) before anything else is read. The token travels only in the path; the
access logs mask it (crm.core.security.RedactSecrets) and the pages send no referrer.

Each purpose has its page in its own module (crm.portal.confirm, crm.portal.evaluate), called
with an open link; this module answers for links that are spent, expired, ended or unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, g, render_template, request
from flask_babel import refresh

from crm.core import ratelimit
from crm.extensions import db
from crm.links import service as links
from crm.links.models import PURPOSE_BY_SLUG, ActionLink, LinkPurpose

bp = Blueprint("portal", __name__, url_prefix="/l")

# purpose → page(link) -> response; filled by the purpose modules at import.
PAGES: dict[LinkPurpose, Callable[[ActionLink], Any]] = {}


def page(purpose: LinkPurpose) -> Callable[[Callable[[ActionLink], Any]], Callable[..., Any]]:
    """Register the page of a purpose."""

    def decorator(function: Callable[[ActionLink], Any]) -> Callable[[ActionLink], Any]:
        PAGES[purpose] = function
        return function

    return decorator


def client_ip() -> str:
    """The sender's address as the server saw it (behind a proxy, configure ProxyFix)."""
    return request.remote_addr or ""


def user_agent() -> str:
    """The browser's own description, kept with a decision as evidence."""
    return request.headers.get("User-Agent", "")[:500]


@bp.before_request
def _count_request() -> Any:
    """Count the request against the sender's address; 429 past the limit."""
    rate = ratelimit.parse_rate(current_app.config["CRM_LINK_RATE_LIMIT"])
    allowed = ratelimit.hit("link-pages", client_ip(), rate)
    db.session.commit()  # the hit counts even when the request is refused
    if not allowed:
        response = Response(
            render_template("portal/limited.html"), status=429, mimetype="text/html"
        )
        response.headers["Retry-After"] = str(rate.seconds)
        return response
    return None


@bp.after_request
def _private(response: Response) -> Response:
    # Nothing of a link page is kept by caches, and no address leaves with a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def speak(link: ActionLink | None) -> None:
    """Answer in the recipient's language (the link's), else the browser's."""
    if link is not None and link.language in current_app.config["CRM_LANGUAGES"]:
        g.portal_language = link.language
        refresh()


@bp.route("/<purpose>/<int:record_id>/<token>", methods=["GET", "POST"])
def link(purpose: str, record_id: int, token: str) -> Any:
    """The link's page: its purpose's form while open, otherwise what became of it."""
    link_purpose = PURPOSE_BY_SLUG.get(purpose)
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
        return render_template("portal/answered.html", link=found)
    if state != links.LinkStatus.OPEN:
        return unavailable(purpose, record_id, token)
    assert found is not None and link_purpose is not None
    return PAGES[link_purpose](found)


def unavailable(purpose: str, record_id: int, token: str, status: int = 410) -> Any:
    """One plain page for expired, withdrawn, changed and unknown links alike."""
    return (
        render_template(
            "portal/unavailable.html", purpose=purpose, record_id=record_id, token=token
        ),
        status,
    )


@bp.route("/<purpose>/<int:record_id>/<token>/fresh", methods=["POST"])
def fresh(purpose: str, record_id: int, token: str) -> Any:
    """ "Send me a fresh link": to the address on record only, never to one typed here.

    The answer is the same whatever the link was (or whether it existed at all).
    """
    from crm.portal.fresh import request_fresh_link

    link_purpose = PURPOSE_BY_SLUG.get(purpose)
    found = links.find(token, lock=True) if link_purpose else None
    if found is not None and (found.purpose != link_purpose or found.record_id != record_id):
        found = None
    speak(found)
    if found is not None:
        request_fresh_link(found)
    db.session.commit()
    return render_template("portal/fresh_sent.html")


# The purposes' pages register themselves.
from crm.portal import confirm, evaluate  # noqa: E402, F401
