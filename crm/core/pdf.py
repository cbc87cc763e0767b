"""PDF rendering with WeasyPrint: a Jinja template in templates/pdf/, in a given language,
fetching nothing outside the app's own PDF assets.

(First version by the lead; the "pdf" helper hardens it: the restricted URL fetcher,
archival PDF/A output, metadata, fonts.)
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered document: its bytes, their SHA-256 and its number of pages."""

    data: bytes
    sha256: str
    pages: int


def render_html(template: str, context: dict[str, Any], *, language: str) -> str:
    """The document's HTML in `language` (Jinja autoescapes every value)."""
    with force_locale("en_GB" if language == "en" else language):
        return current_app.jinja_env.get_template(template).render(
            {**context, "document_language": language}
        )


def render_pdf(
    template: str,
    context: dict[str, Any],
    *,
    language: str,
    title: str,
    author: str,
    subject: str = "",
) -> RenderedPdf:
    """Render `template` to a PDF in `language`, with the given title and author."""
    import weasyprint
    from pypdf import PdfReader

    html = render_html(
        template,
        {**context, "title": title, "author": author, "subject": subject},
        language=language,
    )
    data = weasyprint.HTML(string=html, url_fetcher=_refuse).write_pdf()
    assert data is not None
    pages = len(PdfReader(io.BytesIO(data)).pages)
    return RenderedPdf(data, hashlib.sha256(data).hexdigest(), pages)


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError("documents fetch nothing")
