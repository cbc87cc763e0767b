"""The sealed copy of a signed version: the original PDF, unchanged, plus an evidence page.

The evidence page (templates/pdf/evidence.html) lists every signature (party, name on record,
typed name, role, time in UTC, address, browser, the hash of the version signed, and how it
was given) and the original document's SHA-256. It is added to the original as a PDF
*incremental update*: the sealed file begins with the original file byte for byte, followed
by the objects of the new page and a cross-reference section that points back to the
original's. So the original pages, their content and the metadata stay exactly as issued,
and anyone holding only the sealed copy can check the original: its first N bytes (N = the
original's length) have the original's SHA-256, which the evidence page prints.

The version's `pdf` and `sha256` never change; the copy and its own hash go to `sealed_pdf`,
`sealed_sha256` and `sealed_at`. Never commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    IndirectObject,
    NameObject,
    NumberObject,
)

from crm.agreements.links import current_version, title
from crm.agreements.models import Agreement, AgreementSigner, AgreementVersion, SignerParty
from crm.agreements.signing import BY_LINK, IN_APP, signers_of
from crm.core.pdf import render_pdf
from crm.db import utcnow
from crm.extensions import db

EVIDENCE_TEMPLATE = "pdf/evidence.html"
_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF")


class SealingError(Exception):
    """A version that cannot be sealed (not every party has signed)."""


def seal_current_version(agreement: Agreement, *, now: dt.datetime | None = None) -> None:
    """Append the evidence page to the signed version and store the copy and its hash."""
    version = current_version(agreement)
    if version is None:
        raise SealingError("the agreement has no issued version to seal")
    seal(agreement, version, now=now or utcnow())


def seal(agreement: Agreement, version: AgreementVersion, *, now: dt.datetime) -> AgreementVersion:
    """Seal one version (once: a sealed version is left as it is)."""
    if version.sealed_pdf is not None:
        return version
    signers = signers_of(version.id, fresh=True)
    if not signers or any(signer.signed_at is None for signer in signers):
        raise SealingError(f"not every party has signed version {version.id}")
    evidence = render_evidence(agreement, version, signers, now)
    sealed = append_pages(version.pdf, evidence)
    version.sealed_pdf = sealed
    version.sealed_sha256 = hashlib.sha256(sealed).hexdigest()
    version.sealed_at = now
    db.session.flush()
    return version


def utc_iso(value: dt.datetime | None) -> str:
    """A time as ISO 8601 in UTC, to the second ("2026-12-06T09:30:00Z")."""
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def evidence_context(
    agreement: Agreement,
    version: AgreementVersion,
    signers: list[AgreementSigner],
    sealed_at: dt.datetime,
) -> dict[str, Any]:
    """What the evidence page shows, worded in the version's language."""
    metadata = PdfReader(io.BytesIO(version.pdf)).metadata
    with force_locale("en_GB" if version.language == "en" else version.language):
        document_title = (metadata.title if metadata else None) or title(agreement)
        rows = [_signer_row(signer) for signer in signers]
    return {
        "agreement_title": str(document_title),
        "version_number": version.number,
        "original_sha256": version.sha256,
        "original_bytes": len(version.pdf),
        "original_pages": version.pages,
        "sealed_at": utc_iso(sealed_at),
        "signers": rows,
    }


def _signer_row(signer: AgreementSigner) -> dict[str, Any]:
    signed_for_provider_by = ""
    if signer.user_id is not None:
        from crm.auth.models import User

        user = db.session.get(User, signer.user_id)
        signed_for_provider_by = user.name if user is not None else ""
    return {
        "party": signer.party.value,
        "party_label": str(signer.party.label),
        "name": signer.name,
        "typed_name": signer.typed_name,
        "role_title": signer.role_title,
        "signed_at": utc_iso(signer.signed_at),
        "ip": signer.ip,
        "user_agent": signer.user_agent,
        "signed_sha256": signer.signed_sha256,
        "method": IN_APP if signer.party == SignerParty.PROVIDER else BY_LINK,
        "signed_by": signed_for_provider_by,
    }


def render_evidence(
    agreement: Agreement,
    version: AgreementVersion,
    signers: list[AgreementSigner],
    sealed_at: dt.datetime,
) -> bytes:
    """The evidence page as a PDF of its own, in the version's language."""
    context = evidence_context(agreement, version, signers, sealed_at)
    metadata = PdfReader(io.BytesIO(version.pdf)).metadata
    author = (metadata.author if metadata else None) or current_app.config.get(
        "CRM_PROVIDER_NAME", ""
    )
    with force_locale("en_GB" if version.language == "en" else version.language):
        evidence_title = _("Evidence of signature: %(title)s", title=context["agreement_title"])
    rendered = render_pdf(
        EVIDENCE_TEMPLATE,
        context,
        language=version.language,
        title=evidence_title,
        author=str(author or ""),
    )
    return rendered.data


# --- the incremental update ------------------------------------------------------------------


def append_pages(original: bytes, extra: bytes) -> bytes:
    """`original` with the pages of `extra` added at the end, as an incremental update.

    The result starts with `original` unchanged. Written with pypdf's public API rather than
    its incremental `write`, whose cross-reference stream leaves itself out of its own
    section (qpdf then warns that the file's object count is wrong).
    """
    writer = PdfWriter(io.BytesIO(original), incremental=True)
    for page in PdfReader(io.BytesIO(extra)).pages:
        writer.add_page(page)
    changed = sorted(writer.list_objects_in_increment(), key=lambda ref: ref.idnum)
    if not changed:
        return original
    trailer = PdfReader(io.BytesIO(original)).trailer
    out = io.BytesIO()
    out.write(original)
    if not original.endswith(b"\n"):
        out.write(b"\n")
    positions: dict[int, int] = {}
    for ref in changed:
        positions[ref.idnum] = out.tell()
        out.write(f"{ref.idnum} 0 obj\n".encode())
        writer.get_object(ref).write_to_stream(out)
        out.write(b"\nendobj\n")
    size = int(trailer["/Size"])  # type: ignore[call-overload]
    xref_id = max(max(positions), size - 1) + 1
    positions[xref_id] = out.tell()
    xref = _xref_stream(trailer, writer, positions, xref_id)
    xref[NameObject("/Prev")] = NumberObject(_previous_xref(original))
    file_id = trailer.get("/ID")
    if file_id is not None:
        # The first identifier stays (the same document); the second changes with the update.
        first = getattr(file_id[0], "original_bytes", None) or bytes(file_id[0])
        second = hashlib.md5(original + extra, usedforsecurity=False).digest()
        xref[NameObject("/ID")] = ArrayObject([ByteStringObject(first), ByteStringObject(second)])
    out.write(f"{xref_id} 0 obj\n".encode())
    xref.flate_encode().write_to_stream(out)
    out.write(f"\nendobj\nstartxref\n{positions[xref_id]}\n%%EOF\n".encode())
    return out.getvalue()


def _previous_xref(original: bytes) -> int:
    """Where the original's last cross-reference section starts."""
    matches = _STARTXREF.findall(original)
    if not matches:
        raise ValueError("the original PDF has no startxref")
    return int(matches[-1])


def _xref_stream(
    trailer: Any, writer: PdfWriter, positions: dict[int, int], xref_id: int
) -> DecodedStreamObject:
    """The update's cross-reference stream, listing every object it writes, itself included."""
    ids = sorted(positions)
    blocks: list[list[int]] = []
    for idnum in ids:
        if blocks and blocks[-1][0] + blocks[-1][1] == idnum:
            blocks[-1][1] += 1
        else:
            blocks.append([idnum, 1])
    stream = DecodedStreamObject()
    stream.set_data(b"".join(struct.pack(">BIH", 1, positions[idnum], 0) for idnum in ids))
    stream[NameObject("/Type")] = NameObject("/XRef")
    stream[NameObject("/Size")] = NumberObject(xref_id + 1)
    stream[NameObject("/Root")] = writer.root_object.indirect_reference
    stream[NameObject("/Index")] = ArrayObject(NumberObject(n) for block in blocks for n in block)
    stream[NameObject("/W")] = ArrayObject([NumberObject(1), NumberObject(4), NumberObject(2)])
    info = trailer.get("/Info")
    if isinstance(info, IndirectObject):
        stream[NameObject("/Info")] = IndirectObject(info.idnum, info.generation, writer)
    return stream
