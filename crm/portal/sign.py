"""The signing page: a party opens the agreement, types their full name and signs, or declines
with a reason. And the agreement's PDF for the holder of the link.

crm.portal.views calls `sign_page` with an open link only (its row locked for a POST), and
`answered_values` for a spent one: a signer who answered an earlier version hears there that
a newer one awaits their signature.
Opening the page or the PDF changes nothing. The page posts `decision` (sign or decline)
with the form's fields; the hash of the version shown travels in a hidden field and must
still be the current version's. An invalid answer comes back with its errors next to the
fields (400); a valid one is taken by crm.agreements.signing, committed here, and the browser
is sent back to the link's address (303), which then shows the answered page.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from crm.agreements import signing
from crm.agreements.links import (
    asked_again,
    current_version,
    get_agreement,
    link_sent_to,
    officer_of,
    organisation_of,
    title,
    version_signed_by_link,
)
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion
from crm.core.validators import strip_whitespace
from crm.extensions import db
from crm.links import service as links
from crm.links.models import ActionLink, LinkPurpose
from crm.portal.views import (
    ANSWERED,
    answered,
    bp,
    client_ip,
    page,
    speak,
    unavailable,
    user_agent,
)
from crm.workflow.service import WorkflowError


class SignForm(FlaskForm):
    """Sign: the typed full name, the explicit consent, and the hash of the version shown."""

    typed_name = StringField(
        _l("Your full name"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Type your full name to sign.")),
            Length(max=signing.MAX_NAME),
        ],
    )
    consent = BooleanField(
        _l("I have read the agreement and sign it electronically"),
        validators=[
            DataRequired(
                _l("Tick the box to confirm that you have read the agreement and sign it.")
            )
        ],
    )
    document_sha256 = HiddenField()


class DeclineForm(FlaskForm):
    """Decline to sign, with the reason."""

    reason = TextAreaField(
        _l("Why do you decline to sign?"),
        filters=[strip_whitespace],
        validators=[
            DataRequired(_l("Tell us why you decline to sign.")),
            Length(max=signing.MAX_REASON),
        ],
    )


Forms = dict[str, SignForm | DeclineForm]


def _hash_groups(sha256: str) -> str:
    """A SHA-256 in groups of four characters, easier to read aloud and compare."""
    return " ".join(sha256[i : i + 4] for i in range(0, len(sha256), 4))


def _loaded(link: ActionLink) -> tuple[Agreement, AgreementVersion, AgreementSigner]:
    """The link's agreement, the version it signs and its signer (404 if gone since)."""
    agreement = get_agreement(link.record_id)
    version = current_version(agreement) if agreement is not None else None
    signer = (
        signing.signer_of_party(version, link.party)
        if version is not None and version.sha256 == link.fingerprint
        else None
    )
    if agreement is None or version is None or signer is None:
        abort(404)  # status() saw it open a moment ago; gone since means gone
    return agreement, version, signer


def _render(
    link: ActionLink,
    forms: Forms,
    *,
    chosen: str = "",
    problems: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    agreement, version, signer = _loaded(link)
    token = links.token_for(link)
    sign_form = forms["sign"]
    assert isinstance(sign_form, SignForm)
    # What is shown is what is signed next: after a refusal, the version now current.
    sign_form.document_sha256.data = version.sha256
    return (
        render_template(
            "portal/sign.html",
            link=link,
            agreement=agreement,
            agreement_title=title(agreement),
            version=version,
            signer=signer,
            signers=signing.signers_of(version.id),
            officer=officer_of(agreement),
            organisation=organisation_of(agreement),
            hash_groups=_hash_groups(version.sha256),
            document_url=url_for("portal.sign_document", record_id=link.record_id, token=token),
            forms=forms,
            chosen=chosen,
            problems=problems or [],
        ),
        status,
    )


def _blank_forms(version: AgreementVersion) -> Forms:
    return {
        "sign": SignForm(formdata=None, document_sha256=version.sha256),
        "decline": DeclineForm(formdata=None),
    }


@page(LinkPurpose.SIGN_AGREEMENT)
def sign_page(link: ActionLink) -> Any:
    """Show the agreement to sign (GET, HEAD); sign it or decline (POST)."""
    _agreement, version, _signer = _loaded(link)
    forms = _blank_forms(version)
    if request.method != "POST":
        return _render(link, forms)
    chosen = request.form.get("decision", "")
    if chosen not in ("sign", "decline"):
        return _render(link, forms, problems=[_("Choose to sign or to decline.")], status=400)
    form: SignForm | DeclineForm
    form = forms[chosen] = SignForm() if chosen == "sign" else DeclineForm()
    if not form.validate_on_submit():
        return _render(link, forms, chosen=chosen, status=400)
    evidence = signing.now_evidence(client_ip(), user_agent())
    try:
        if isinstance(form, SignForm):
            signer = signing.sign_by_link(
                link,
                form.typed_name.data or "",
                bool(form.consent.data),
                evidence,
                document_sha256=form.document_sha256.data or "",
            )
        else:
            signer = signing.decline_by_link(link, form.reason.data or "", evidence)
    except signing.SigningError as exc:
        db.session.rollback()
        field = (
            getattr(form, exc.field, None) if exc.field and exc.field != "document_sha256" else None
        )
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        return _render(
            link, forms, chosen=chosen, problems=[] if field is not None else [str(exc)], status=400
        )
    except WorkflowError as exc:
        db.session.rollback()
        return _render(link, forms, chosen=chosen, problems=exc.reasons, status=409)
    if signer is None:
        # Another submission of this link won a moment ago: change nothing, show its answer.
        db.session.rollback()
        return answered(link)
    officer_name = officer_of(_agreement).name  # read before the commit expires it
    db.session.commit()
    if chosen == "sign":
        flash(
            _(
                "Thank you. Your signature is recorded and %(officer)s has been told.",
                officer=officer_name,
            ),
            "success",
        )
    else:
        flash(
            _("Thank you for letting us know. %(officer)s has been told.", officer=officer_name),
            "success",
        )
    return redirect(request.path, code=303)


def answered_values(link: ActionLink) -> dict[str, Any]:
    """What the page of a spent signing link adds: whether a newer version awaits the same
    signer (`newer_version`), and whether its link was sent to them (`new_link_sent`).

    Only the link's own signer hears of a newer version; nothing else of it is shown (its
    PDF stays behind its own link).
    """
    signer = asked_again(link)
    return {
        "newer_version": signer is not None,
        "new_link_sent": signer is not None and link_sent_to(signer),
    }


ANSWERED[LinkPurpose.SIGN_AGREEMENT] = answered_values


@bp.get("/sign/<int:record_id>/<token>/document.pdf")
def sign_document(record_id: int, token: str) -> Any:
    """The PDF of the version a signing link asks to sign, while the link is open or spent
    (read only: opening it changes nothing)."""
    found = links.find(token)
    state = links.status(found, LinkPurpose.SIGN_AGREEMENT, record_id)
    if state not in (links.LinkStatus.OPEN, links.LinkStatus.SPENT):
        speak(None)
        return unavailable(LinkPurpose.SIGN_AGREEMENT.slug, record_id, token)
    assert found is not None
    version = version_signed_by_link(found)
    if version is None:
        abort(404)
    response = make_response(version.pdf)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'inline; filename="agreement-{record_id}-v{version.number}.pdf"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
