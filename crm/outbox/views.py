"""The development mailbox (or, with SMTP, the admins' delivery log), one message, resend."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from crm.auth.forms import EmptyForm
from crm.core.pagination import page_number, paginate
from crm.core.security import roles_required, safe_next_url
from crm.extensions import db
from crm.outbox import service as outbox
from crm.outbox.forms import ResendForm
from crm.outbox.models import OutboxMessage, OutboxStatus

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

# The HTML body is shown as its own page, sandboxed: no scripts, no requests, no framing.
HTML_BODY_POLICY = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@bp.app_template_global()
def outbox_status_label(status: OutboxStatus) -> str:
    """The translated name of a message's status (for templates/outbox/_messages.html)."""
    return str(outbox.STATUS_LABELS[OutboxStatus(status)])


@bp.app_template_global()
def outbox_can_view(message: OutboxMessage) -> bool:
    """Whether the current user may open the message."""
    return outbox.can_view(current_user, message)


@bp.app_template_global()
def outbox_can_redirect(message: OutboxMessage) -> bool:
    """Whether the current user may resend the message to another address (memoised)."""
    memo: dict[int, bool] = g.setdefault("outbox_can_redirect", {})
    if message.id not in memo:
        memo[message.id] = outbox.can_redirect(current_user, message)
    return memo[message.id]


@bp.app_template_global()
def outbox_mailbox_open() -> bool:
    """Whether the current user may see the mailbox (or, with SMTP, the delivery log)."""
    return outbox.is_dev_mailbox() or bool(current_user.is_admin)


def _viewable_or_404(message_id: int) -> OutboxMessage:
    message = outbox.get_message(message_id)
    if message is None or not outbox.can_view(current_user, message):
        abort(404)
    return message


@bp.get("/")
def index() -> str:
    if not outbox_mailbox_open():
        abort(404)
    raw_status = request.args.get("status", "")
    status = OutboxStatus(raw_status) if raw_status in {s.value for s in OutboxStatus} else None
    page = paginate(
        outbox.mailbox_query(status),
        page_number(request.args.get("page")),
        current_app.config["CRM_PAGE_SIZE"],
    )
    return render_template(
        "outbox/index.html",
        page=page,
        status=status,
        dev_mailbox=outbox.is_dev_mailbox(),
        test_form=EmptyForm(),
    )


@bp.get("/<int:message_id>")
def show(message_id: int) -> str:
    message = _viewable_or_404(message_id)
    body_text, body_html = outbox.bodies(message)
    return render_template(
        "outbox/show.html",
        message=message,
        body_text=body_text,
        body_html=body_html,
        links=outbox.links_in(body_text),
        resend_form=ResendForm(to_email=message.to_email),
    )


@bp.get("/<int:message_id>/html")
def html_body(message_id: int) -> Response:
    message = _viewable_or_404(message_id)
    _body_text, body_html = outbox.bodies(message)
    response = Response(body_html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = HTML_BODY_POLICY
    return response


@bp.post("/<int:message_id>/resend")
def resend(message_id: int) -> Response:
    message = outbox.get_message(message_id)
    if message is None:
        abort(404)
    form = ResendForm()
    back = safe_next_url(form.next.data) or url_for("outbox.show", message_id=message.id)
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "danger")
        return redirect(back)
    try:
        copy = outbox.resend(message, form.to_email.data or None, acting=current_user)
    except outbox.OutboxError as exc:
        flash(str(exc), "danger")
        return redirect(back)
    db.session.commit()
    flash(_("The e-mail to %(address)s will be sent again.", address=copy.to_email), "success")
    return redirect(back)


@bp.post("/test")
@roles_required("admin")
def send_test() -> Response:
    outbox.queue_email(
        kind="test_message",
        to_email=current_user.email,
        to_name=current_user.name,
        language=current_user.locale,
        context={},
        user_id=current_user.id,
    )
    db.session.commit()
    flash(_("A test e-mail to %(address)s is on its way.", address=current_user.email), "success")
    return redirect(url_for("outbox.index"))
