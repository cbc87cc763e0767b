"""The placeholder documents of the data sets' agreements.

No agreement of the demo or of `crm generate` is rendered: a rendered agreement is tens of
kilobytes and takes a good part of a second, so rendering one per agreement would take an
hour and store gigabytes at scale. Every issued version stores instead the same one-page PDF,
which says it is a placeholder of a generated data set and how to get the real document
("Issue a new version" on the agreement's page renders one), with that PDF's real SHA-256; a
signed version's sealed copy is the placeholder with a placeholder evidence page appended,
as crm.agreements.sealing appends the real one (the copy starts with the original's bytes).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Documents:
    """The placeholder PDFs every generated version stores, and their SHA-256."""

    pdf: bytes
    sha256: str
    sealed_pdf: bytes
    sealed_sha256: str


def _pdf(title: str, lines: Sequence[str]) -> bytes:
    """A one-page PDF in a standard font (nothing embedded) with these lines of ASCII text."""

    def text(value: str) -> str:
        return value.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    shown = " ".join(f"({text(line)}) Tj T*" for line in lines)
    content = f"BT /F1 11 Tf 56 780 Td 16 TL {shown} ET"
    objects = (
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        f"<< /Title ({text(title)}) /Producer (Partnership CRM data sets) >>",
    )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode("ascii")
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode("ascii")
    return bytes(out)


@functools.cache
def placeholder_documents(source: str) -> Documents:
    """The placeholder of a version's PDF and of its sealed copy, for data made by `source`
    (e.g. "crm generate"); the same bytes on every call."""
    from crm.agreements.sealing import append_pages

    pdf = _pdf(
        "Placeholder document (generated data set)",
        (
            "PLACEHOLDER: this agreement's document was not rendered.",
            f"Data set made by `{source}`: every version stores this page.",
            "Issue a new version on the agreement's page to render the real one.",
        ),
    )
    evidence = _pdf(
        "Placeholder evidence page",
        ("PLACEHOLDER evidence page: the signatures are listed on the agreement's page.",),
    )
    sealed = append_pages(pdf, evidence)
    return Documents(
        pdf, hashlib.sha256(pdf).hexdigest(), sealed, hashlib.sha256(sealed).hexdigest()
    )
