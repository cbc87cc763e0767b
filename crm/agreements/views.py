"""Agreement pages: the list (managers see all, officers their own) with its export, the
agreement page (stage, terms, versions, signers, the provider's signature), the downloads,
and preparing a partnership's memorandum.

Any staff member may view an agreement and download its versions, as they may view its
placement or partnership; its officer, managers and admins change it; managers and admins
sign for the provider.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from crm.agreements import listing, replacement, signing
from crm.agreements import service as agreements
from crm.agreements.forms import ActionForm, ProviderSignatureForm, TermsForm, terms_form
from crm.agreements.models import Agreement, AgreementKind, AgreementSigner, SignerParty
from crm.core.locales import ui_language_choices
from crm.core.pagination import page_number
from crm.db import utcnow
from crm.extensions import db
from crm.followups.service import open_follow_ups_for
from crm.links.views import STATE_LABELS
from crm.organisations.service import owner_filter_choices
from crm.partnerships.service import get_partnership
from crm.placements.models import Placement
from crm.workflow import engine
from crm.workflow import service as workflow
from crm.workflow.actions import TransitionForm, fire_from_form
from crm.workflow.definitions import WorkflowDef

bp = Blueprint("agreements", __name__, url_prefix="/agreements")

# Steps the signing service fires when parties sign: never offered on the workflow panel.
SIGNING_STEPS = frozenset({"sign_partly", "sign_all"})


# --- finding ------------------------------------------------------------------------------------


def _get_or_404(agreement_id: int) -> Agreement:
    agreement = agreements.get_agreement(agreement_id)
    if agreement is None:
        abort(404)
    return agreement


def _editable_or_404(agreement_id: int) -> Agreement:
    agreement = _get_or_404(agreement_id)
    if not agreements.may_edit(current_user, agreement):
        abort(404)
    return agreement


def _back(agreement_id: int, anchor: str | None = None) -> BaseResponse:
    return redirect(url_for("agreements.show", agreement_id=agreement_id, _anchor=anchor))


# --- the list -----------------------------------------------------------------------------------


def _filters() -> listing.AgreementFilters:
    args = request.args
    state = args.get("state", "")
    kind = args.get("kind", "")
    officer = args.get("officer", "")
    within = args.get("expiring", "")
    officer_id = int(officer) if officer.isdigit() else None
    if not current_user.sees_everything:
        officer_id = current_user.id  # officers list their own agreements
    return listing.AgreementFilters(
        query=args.get("q", "")[:200],
        state=state if state in agreements.definition().states else "",
        kind=kind if kind in {k.value for k in AgreementKind} else "",
        officer_id=officer_id,
        expiring_within=min(int(within), listing.MAX_EXPIRING_DAYS) if within.isdigit() else None,
    )


def _state_labels() -> dict[str, str]:
    return {name: _(state.label) for name, state in agreements.definition().states.items()}


@bp.get("/")
def index() -> str:
    filters = _filters()
    page = listing.list_agreements(
        filters,
        page_number(request.args.get("page")),
        current_app.config["CRM_PAGE_SIZE"],
        agreements.local_today(),
    )
    return render_template(
        "agreements/index.html",
        page=page,
        filters=filters,
        state_labels=_state_labels(),
        kinds=[(k.value, k.label) for k in AgreementKind],
        officers=owner_filter_choices() if current_user.sees_everything else [],
        today=agreements.local_today(),
    )


@bp.get("/export.csv")
def export() -> Response:
    today = agreements.local_today()
    body = "\ufeff" + listing.agreements_csv(_filters(), today, _state_labels())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="agreements-{today}.csv"'},
    )


# --- the agreement page -------------------------------------------------------------------------


def _page(
    agreement: Agreement,
    *,
    form: TermsForm | None = None,
    signature_form: ProviderSignatureForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The agreement page, with the terms and signature forms as posted (errors) or fresh."""
    wf = workflow.definition_for(agreement)
    now = utcnow()
    can_edit = agreements.may_edit(current_user, agreement)
    version = agreements.current_version(agreement)
    signers = agreements.signers_of(version) if version is not None else []
    if form is None and can_edit and agreement.state in agreements.EDITABLE_STATES:
        form = _terms_form(agreement)
        form.fill(agreement.terms or {})
        form.language.data = agreement.language
        form.version.data = agreement.lock_version
    provider = next((s for s in signers if s.party == SignerParty.PROVIDER), None)
    subject = agreements.subject_of(agreement)
    subject_args: dict[str, Any] = {subject.argument: subject.record_id}
    if signature_form is None and _may_sign(agreement, provider):
        signature_form = ProviderSignatureForm(formdata=None)
    if signature_form is not None and version is not None:
        signature_form.document_sha256.data = version.sha256
    return render_template(
        "agreements/show.html",
        agreement=agreement,
        subject=subject,
        subject_url=url_for(subject.endpoint, **subject_args),
        definition=wf,
        state=wf.state(agreement.state),
        sla=engine.sla_status(wf, agreement.state, agreement.state_entered_at, now),
        options=[
            o
            for o in workflow.options_for(agreement, current_user, now)
            if o.transition.name not in SIGNING_STEPS
        ],
        can_edit=can_edit,
        transition_form=TransitionForm(),
        checklist_form=None,
        ticked=set(),
        form=form,
        version=version,
        outdated=can_edit and version is not None and agreements.outdated(agreement, version),
        versions=agreements.versions_of(agreement),
        signers=[agreements.signer_status(s, agreement, now) for s in signers],
        signature_form=signature_form if _may_sign(agreement, provider) else None,
        action_form=ActionForm(),
        entries=agreements.history(agreement),
        link_state_labels=STATE_LABELS,
        follow_ups=open_follow_ups_for("agreement", agreement.id),
        replacement=replacement.replacement_for(agreement) if can_edit else None,
        replaced_by=replacement.replaced_by(agreement),
        subject_stage=_subject_stage(agreement),
        now=now,
    ), status


def _subject_stage(agreement: Agreement) -> str:
    """The stage of the agreement's placement or partnership, in words."""
    subject: Any = (
        db.session.get(Placement, agreement.placement_id)
        if agreement.placement_id is not None
        else get_partnership(agreement.partnership_id or 0)
    )
    if subject is None:
        return ""
    wf: WorkflowDef = workflow.definition_for(subject)
    return _(wf.state(subject.state).label)


def _may_sign(agreement: Agreement, provider: AgreementSigner | None) -> bool:
    return (
        provider is not None
        and provider.signed_at is None
        and agreement.state in signing.OPEN_STATES
        and agreements.may_sign_for_provider(current_user)
    )


def _terms_form(agreement: Agreement, **kwargs: Any) -> TermsForm:
    return terms_form(agreement.kind, ui_language_choices(), **kwargs)


@bp.get("/<int:agreement_id>")
def show(agreement_id: int) -> tuple[str, int]:
    return _page(_get_or_404(agreement_id))


@bp.post("/<int:agreement_id>/fire")
def fire(agreement_id: int) -> BaseResponse:
    agreement = _get_or_404(agreement_id)
    step = request.form.get("transition")
    if step in SIGNING_STEPS:
        flash(_("Parties sign on their signing page; the provider below."), "warning")
    elif step == "supersede":
        return _supersede(agreement)
    else:
        fire_from_form(agreement)
    return _back(agreement_id)


def _supersede(agreement: Agreement) -> BaseResponse:
    """ "Replace with another agreement": supersede it and issue or prepare its replacement."""
    form = TransitionForm()
    if not form.validate_on_submit():
        flash(_("The step could not be read. Reload the page and try again."), "danger")
        return _back(agreement.id)
    try:
        new = replacement.supersede(
            agreement,
            current_user,
            comment=form.comment.data or "",
            expected_version=form.version.data,
        )
    except workflow.WorkflowError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "danger")
        return _back(agreement.id)
    stage = _subject_stage(agreement)
    db.session.commit()
    return _replaced(agreement, new, stage)


@bp.post("/<int:agreement_id>/replacement")
def replace(agreement_id: int) -> BaseResponse:
    """Issue or prepare the replacement of an agreement superseded without one."""
    agreement = _editable_or_404(agreement_id)
    if not ActionForm().validate_on_submit():
        flash(_("The request could not be read. Reload the page and try again."), "danger")
        return _back(agreement_id)
    try:
        new = replacement.replace(agreement, current_user)
    except workflow.WorkflowError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "danger")
        return _back(agreement_id)
    if new is None:
        db.session.rollback()
        flash(_("No replacement is due: another agreement is live, or none is needed now."))
        return _back(agreement_id)
    db.session.commit()
    return _replaced(agreement, new, "")


def _replaced(agreement: Agreement, new: Agreement | None, stage: str) -> BaseResponse:
    """Say what replacing the agreement brought, on the replacement's page if there is one."""
    if new is None:
        label = workflow.definition_for(agreement).state(agreement.state).label
        flash(_("Moved to %(state)s.", state=_(label)), "success")
        if agreement.kind == AgreementKind.PLACEMENT:
            flash(_("No new agreement was sent: the placement is %(stage)s.", stage=stage), "info")
        return _back(agreement.id)
    if new.kind == AgreementKind.PLACEMENT:
        flash(
            _(
                "Agreement replaced. The new agreement was issued for signature: every party "
                "has been sent a link to sign it."
            ),
            "success",
        )
    else:
        flash(
            _(
                "Memorandum replaced. The new one was prepared with the same terms: check "
                "them, then issue it for signature."
            ),
            "success",
        )
    return _back(new.id)


@bp.post("/<int:agreement_id>/terms")
def terms(agreement_id: int) -> BaseResponse | tuple[str, int]:
    agreement = _editable_or_404(agreement_id)
    form = _terms_form(agreement)
    if not form.validate_on_submit():
        return _page(agreement, form=form, status=422)
    if form.version.data != agreement.lock_version:
        flash(str(workflow.StaleRecord().reasons[0]), "danger")
        return _back(agreement_id, "terms")
    try:
        needs_new_version = agreements.update_terms(agreement, form.values(), current_user)
    except agreements.AgreementError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "danger")
        return _back(agreement_id, "terms")
    db.session.commit()
    if needs_new_version:
        flash(
            _(
                "Terms saved. The version already issued is unchanged: issue a new version "
                "for the parties to sign the changes."
            ),
            "warning",
        )
    else:
        flash(_("Terms saved."), "success")
    return _back(agreement_id, "terms")


@bp.post("/<int:agreement_id>/sign")
def sign(agreement_id: int) -> BaseResponse | tuple[str, int]:
    agreement = _get_or_404(agreement_id)
    version = agreements.current_version(agreement)
    signers = agreements.signers_of(version) if version is not None else []
    provider = next((s for s in signers if s.party == SignerParty.PROVIDER), None)
    if provider is None or not agreements.may_sign_for_provider(current_user):
        abort(404)
    form = ProviderSignatureForm()
    if not form.validate_on_submit():
        flash(_("The signature could not be read. Reload the page and try again."), "danger")
        return _back(agreement_id, "sign")
    try:
        signing.sign_in_app(
            provider,
            current_user,
            form.typed_name.data or "",
            bool(form.consent.data),
            signing.now_evidence(request.remote_addr or "", _user_agent()),
            document_sha256=request.form.get("document_sha256", ""),
        )
    except signing.SigningError as exc:
        db.session.rollback()
        return _signature_refused(agreement_id, form, exc)
    except workflow.WorkflowError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "danger")
        return _back(agreement_id, "sign")
    db.session.commit()
    flash(_("You signed the agreement for the provider."), "success")
    return _back(agreement_id, "signers")


def _signature_refused(
    agreement_id: int, form: ProviderSignatureForm, exc: signing.SigningError
) -> BaseResponse | tuple[str, int]:
    """Show the signing service's refusal next to its field (or above the form)."""
    if exc.field in ("typed_name", "consent"):
        form[exc.field].errors = [str(exc)]
        return _page(_get_or_404(agreement_id), signature_form=form, status=422)
    flash(str(exc), "danger")
    return _back(agreement_id, "sign")


def _user_agent() -> str:
    return request.headers.get("User-Agent", "")[:500]


@bp.post("/<int:agreement_id>/signers/<int:signer_id>/invite")
def invite(agreement_id: int, signer_id: int) -> BaseResponse:
    agreement = _editable_or_404(agreement_id)
    signer = db.session.get(AgreementSigner, signer_id)
    version = agreements.current_version(agreement)
    if signer is None or version is None or signer.version_id != version.id:
        abort(404)
    if not ActionForm().validate_on_submit():
        flash(_("The request could not be read. Reload the page and try again."), "danger")
        return _back(agreement_id, "signers")
    try:
        link = signing.invite(signer, acting=current_user)
    except (signing.SigningError, ValueError) as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return _back(agreement_id, "signers")
    db.session.commit()
    if link is None:
        flash(_("No link could be sent: %(name)s has no e-mail address.", name=signer.name))
    else:
        flash(
            _(
                "A new signing link was sent to %(name)s (%(email)s). Earlier links no "
                "longer work.",
                name=link.recipient_name,
                email=link.recipient_email,
            ),
            "success",
        )
    return _back(agreement_id, "signers")


# --- downloads ----------------------------------------------------------------------------------


@bp.get("/<int:agreement_id>/versions/<int:number>.pdf")
def download(agreement_id: int, number: int) -> Response:
    agreement = _get_or_404(agreement_id)
    version = agreements.get_version(agreement, number)
    if version is None:
        abort(404)
    return _pdf(version.pdf, agreements.file_name(agreement, version))


@bp.get("/<int:agreement_id>/versions/<int:number>/sealed.pdf")
def download_sealed(agreement_id: int, number: int) -> Response:
    agreement = _get_or_404(agreement_id)
    version = agreements.get_version(agreement, number)
    if version is None or version.sealed_pdf is None:
        abort(404)
    return _pdf(version.sealed_pdf, agreements.file_name(agreement, version, sealed=True))


def _pdf(data: bytes, filename: str) -> Response:
    """A PDF as a download that no cache keeps."""
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "Content-Length": str(len(data)),
        },
    )


# --- the partnership's memorandum ---------------------------------------------------------------


@bp.post("/memorandum/<int:partnership_id>")
def prepare_memorandum(partnership_id: int) -> BaseResponse:
    partnership = get_partnership(partnership_id)
    if partnership is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        flash(_("The request could not be read. Reload the page and try again."), "danger")
        return redirect(url_for("partnerships.show", partnership_id=partnership_id))
    try:
        agreement, created = agreements.prepare_memorandum(partnership, current_user)
    except PermissionError:
        abort(404)
    except agreements.AgreementError as exc:
        db.session.rollback()
        for reason in exc.reasons:
            flash(reason, "warning")
        return redirect(url_for("partnerships.show", partnership_id=partnership_id))
    db.session.commit()
    if created:
        flash(_("Memorandum prepared: check its terms, then issue it for signature."), "success")
    return _back(agreement.id)
