"""PDF rendering with WeasyPrint: a Jinja template in templates/pdf/, in a given language,
as an archival PDF/A-2b file that fetches nothing outside the app's own PDF assets.

- Every value reaches the HTML through Jinja's autoescaping, so HTML or CSS typed into a
  field prints as text.
- The only resources WeasyPrint may load are files under crm/static/pdf/ (the print CSS):
  `AssetFetcher` refuses http(s), data:, file: anywhere else, `..` and symlink escapes. A
  refused resource is skipped; WeasyPrint's default fetcher would embed `file://` targets of
  `<link rel="attachment">` and fetch remote images.
- Fonts come from fontconfig (DejaVu on the base image); WeasyPrint embeds the subsets used.
- The output is deterministic: the same template, values and language give the same bytes,
  so a version's stored values re-render to its stored hash.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import mimetypes
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from flask import current_app
from flask_babel import force_locale, format_date
from markupsafe import Markup

if TYPE_CHECKING:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent.parent / "static" / "pdf"
STYLESHEET = "document.css"
# Archival: PDF/A-2b (ISO 19005-2, level B). Unlike PDF/A-3 it allows no embedded file other
# than PDF/A documents, and WeasyPrint removes any other attachment: a second line of defence
# behind the fetcher.
PDF_VARIANT = "pdf/a-2b"


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered document: its bytes, their SHA-256 and its number of pages."""

    data: bytes
    sha256: str
    pages: int


class RefusedURL(ValueError):
    """A resource outside the app's PDF assets: WeasyPrint skips it."""


class AssetFetcher:
    """WeasyPrint's URL fetcher for documents: files under crm/static/pdf/, nothing else.

    WeasyPrint calls its fetcher with a URL and reads `_fail_on_errors`; this class offers
    that interface of `weasyprint.urls.URLFetcher` without subclassing it, so that importing
    this module (at every app start) does not import WeasyPrint (over a second).
    """

    # A refused resource is skipped (WeasyPrint logs a warning), not a failed document.
    _fail_on_errors = False

    def __init__(self, root: Path = ASSETS_DIR) -> None:
        self.root = root.resolve()

    def __call__(self, url: str) -> Any:
        return self.fetch(url)

    def fetch(self, url: str, headers: Any = None) -> Any:
        """The asset's bytes; `RefusedURL` for anything else (logged without the URL)."""
        from weasyprint.urls import URLFetcherResponse

        path = self.asset_path(url)
        if path is None:
            scheme = url.split(":", 1)[0].lower() if ":" in url[:12] else ""
            log.debug("PDF rendering refused a resource (scheme %r)", scheme)
            raise RefusedURL("documents fetch only their own assets")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(
            path.as_uri(), body=path.read_bytes(), headers={"Content-Type": content_type}
        )

    def asset_path(self, url: str) -> Path | None:
        """The file under the assets folder that `url` names, or None if it names anything
        else: another scheme or host, a `..` segment, a missing file, a symlink out."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return None
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            return None
        raw = unquote(parts.path)
        if "\x00" in raw or "\\" in raw or any(s in ("..", ".") for s in raw.split("/")):
            return None
        candidate = Path(url2pathname(parts.path))
        if not candidate.is_absolute() or not _inside(Path(os.path.normpath(candidate)), self.root):
            return None
        try:
            resolved = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not _inside(resolved, self.root) or not resolved.is_file():
            return None
        return resolved


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def render_html(template: str, context: dict[str, Any], *, language: str) -> str:
    """The document's HTML in `language` (Jinja autoescapes every value)."""
    with force_locale(_babel_locale(language)):
        return current_app.jinja_env.get_template(template).render(
            {
                "format_date": _format_iso_date,
                "format_utc": _format_iso_utc,
                # For the footer's translated "Page %(page)s of %(pages)s": the print CSS
                # fills these with the page counters.
                "page_number": Markup('<span class="page-number"></span>'),
                "page_count": Markup('<span class="page-count"></span>'),
                **context,
                "document_language": language,
            }
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
    """Render `template` to a PDF/A-2b file in `language`, with the given title, author and
    subject in its metadata (and `language` as its /Lang)."""
    import weasyprint

    html = render_html(
        template,
        {**context, "title": title, "author": author, "subject": subject},
        language=language,
    )
    kit = _render_kit()
    document = weasyprint.HTML(
        string=html, base_url=ASSETS_DIR.as_uri() + "/", url_fetcher=kit.fetcher
    ).render(font_config=kit.fonts, stylesheets=[kit.stylesheet], pdf_variant=PDF_VARIANT)
    data = document.write_pdf(pdf_variant=PDF_VARIANT)
    assert data is not None
    return RenderedPdf(data, hashlib.sha256(data).hexdigest(), len(document.pages))


# One font configuration and parsed stylesheet per thread, kept between renders: building them
# costs more than a page of layout (measured in bench/agreements.py). Per thread, because
# pango's font maps are not thread-safe (the scheduler runs jobs in a thread pool). The
# stylesheet is parsed again when its file changes.


@dataclass
class _RenderKit:
    fetcher: AssetFetcher
    fonts: FontConfiguration
    stylesheet: weasyprint.CSS
    stylesheet_mtime_ns: int


_kits = threading.local()


def _render_kit() -> _RenderKit:
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    mtime_ns = (ASSETS_DIR / STYLESHEET).stat().st_mtime_ns
    kit: _RenderKit | None = getattr(_kits, "kit", None)
    if kit is None or kit.stylesheet_mtime_ns != mtime_ns:
        fetcher, fonts = AssetFetcher(), FontConfiguration()
        stylesheet = weasyprint.CSS(
            url=(ASSETS_DIR / STYLESHEET).as_uri(), url_fetcher=fetcher, font_config=fonts
        )
        kit = _kits.kit = _RenderKit(fetcher, fonts, stylesheet, mtime_ns)
    return kit


def forget_render_kits() -> None:
    """Drop this thread's font configuration and stylesheet (tests: fetch the CSS again)."""
    _kits.kit = None


# --- helpers the PDF templates call -----------------------------------------------------------


def _babel_locale(language: str) -> str:
    # English documents use British conventions (day month year), as the app's pages do.
    return "en_GB" if language == "en" else language


def _format_iso_date(value: str | None, fmt: str = "long") -> str:
    """A stored ISO date ("2027-03-01") in the document's language; "" when empty."""
    if not value:
        return ""
    try:
        date = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(date, fmt)


def _format_iso_utc(value: str | None) -> str:
    """A stored UTC time as "2026-12-06 14:03:12 UTC": the evidence keeps UTC, unambiguous."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
