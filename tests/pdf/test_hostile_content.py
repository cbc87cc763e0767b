"""HTML or CSS typed into a field prints as text: nothing is fetched, nothing embedded, no
style changes; and no field, however long, makes a long document."""

from __future__ import annotations

import weasyprint

from crm.agreements.document import (
    ELLIPSIS,
    ITEM_LIMIT,
    LIST_LIMIT,
    TERM_FIELDS,
    TERMS_LIMIT,
    TEXT_LIMIT,
    bounded,
    bounded_list,
    bounded_text,
    default_terms,
    render_version,
)
from crm.agreements.models import AgreementKind
from crm.core import pdf
from crm.core.pdf import ASSETS_DIR, AssetFetcher, render_pdf
from crm.extensions import db
from tests.pdf.support import embedded_files, page_texts, text_of


def squeezed(text: str) -> str:
    """Without any whitespace: long lines may wrap anywhere, even inside a word."""
    return "".join(text.split())


def record_fetches(monkeypatch) -> list[str]:
    """Every URL WeasyPrint asks the documents' fetcher for (the cached stylesheet is
    dropped, so that at least the print CSS is asked for)."""
    asked: list[str] = []
    real_fetch = AssetFetcher.fetch

    def fetch(self, url, headers=None):
        asked.append(url)
        return real_fetch(self, url, headers)

    monkeypatch.setattr(AssetFetcher, "fetch", fetch)
    pdf.forget_render_kits()
    return asked


def test_hostile_field_content_prints_as_text_and_fetches_or_embeds_nothing(
    placed, bait, bait_server, monkeypatch
):
    asked = record_fetches(monkeypatch)
    learner = placed.world.learner
    learner.first_name = bait.bold
    learner.last_name = bait.attachment
    placed.world.organisation.legal_name = bait.remote_image
    placed.world.supervisor.job_title = bait.css_import
    placed.placement.role_description = bait.joined
    placed.placement.learning_objectives = bait.css_file_url
    placed.agreement.terms = {
        **default_terms(AgreementKind.PLACEMENT),
        "insurance": [bait.remote_image, bait.attachment],
        "special_conditions": bait.joined,
    }
    db.session.commit()

    rendered, values = render_version(placed.agreement, 1)

    text = squeezed(text_of(rendered.data))
    for hostile in bait.all:
        assert squeezed(hostile) in text, hostile
    assert squeezed(f"Name {bait.bold} {bait.attachment}") in text
    assert values["learner"]["name"] == f"{bait.bold} {bait.attachment}"
    assert embedded_files(rendered.data) == []
    assert bait_server.requests == []
    assert asked, "the fetcher was not used: the recording is broken"
    assert all(AssetFetcher().asset_path(url) is not None for url in asked), asked
    assert all(url.startswith(ASSETS_DIR.as_uri() + "/") for url in asked), asked


def test_hostile_content_in_the_evidence_prints_as_text(ctx, bait, bait_server, monkeypatch):
    asked = record_fetches(monkeypatch)
    sha = "ab" * 32
    rendered = render_pdf(
        "pdf/evidence.html",
        {
            "agreement_title": bait.joined,
            "version_number": 1,
            "original_sha256": sha,
            "sealed_at": "2026-12-06T10:00:00+00:00",
            "signers": [
                {
                    "party_label": "Employer",
                    "name": bait.bold,
                    "typed_name": bait.attachment,
                    "role_title": bait.css_import,
                    "signed_at": "2026-12-06T09:00:00+00:00",
                    "ip": "203.0.113.9",
                    "user_agent": bait.remote_image + bait.css_file_url,
                    "signed_sha256": sha,
                    "method": "link",
                }
            ],
        },
        language="en",
        title=bait.joined,
        author=bait.attachment,
    )

    text = squeezed(text_of(rendered.data))
    for hostile in (bait.bold, bait.attachment, bait.css_import, bait.remote_image):
        assert squeezed(hostile) in text, hostile
    assert embedded_files(rendered.data) == []
    assert bait_server.requests == []
    assert all(url.startswith(ASSETS_DIR.as_uri() + "/") for url in asked), asked


def test_the_fetcher_alone_stops_markup_that_reaches_the_html(ctx, bait, bait_server):
    """Defence in depth: even unescaped markup (a template bug) fetches and embeds nothing."""
    html = f"<html><head>{bait.css_import}</head><body><p>Text</p>{bait.joined}</body></html>"

    data = weasyprint.HTML(string=html, url_fetcher=AssetFetcher()).write_pdf(
        pdf_variant=pdf.PDF_VARIANT
    )

    assert bait_server.requests == []
    assert embedded_files(data) == []
    assert "Text" in text_of(data)


def test_without_the_fetcher_the_same_markup_would_fetch_and_embed(ctx, bait, bait_server):
    """The control: WeasyPrint's default fetcher requests the bait and embeds the file, so
    the checks above can see a leak."""
    html = f"<html><head>{bait.css_import}</head><body><p>Text</p>{bait.joined}</body></html>"

    data = weasyprint.HTML(string=html).write_pdf()

    assert "/import.css" in bait_server.requests
    assert "/x.png" in bait_server.requests
    assert embedded_files(data) != []


# --- bounded lengths ------------------------------------------------------------------------------


def test_huge_fields_do_not_make_a_long_document(placed):
    huge = "A very long clause. " * 5_000  # 100,000 characters
    lines = "line\n" * 20_000  # 100,000 characters, 20,000 lines
    word = "x" * 100_000
    placed.placement.role_description = huge
    placed.placement.learning_objectives = lines
    placed.placement.workplace_address = lines
    clauses = [huge[:1_000]] * 100  # 100,000 characters in 100 clauses
    placed.agreement.terms = {
        key: (clauses if isinstance(value, list) else huge)
        for key, value in default_terms(AgreementKind.PLACEMENT).items()
    } | {"insurance": [huge], "special_conditions": word}
    db.session.commit()

    rendered, values = render_version(placed.agreement, 1)

    assert rendered.pages <= 10, rendered.pages  # 4 with ordinary content
    assert len(values["placement"]["role_description"]) == TEXT_LIMIT
    assert values["placement"]["role_description"].endswith(ELLIPSIS)
    assert values["placement"]["learning_objectives"].count("\n") < 45
    terms = values["terms"].values()
    texts = sum(len(v) for v in terms if isinstance(v, str))
    items = sum(len(item) for v in terms if isinstance(v, list) for item in v)
    # within the budget, plus at most one "…" per field marking a cut
    assert texts + items <= TERMS_LIMIT + len(TERM_FIELDS[AgreementKind.PLACEMENT])
    assert ELLIPSIS in text_of(rendered.data)


def test_one_huge_field_stays_within_a_page_or_two(placed):
    placed.placement.role_description = "B" * 100_000
    db.session.commit()

    rendered, _values = render_version(placed.agreement, 1)

    pages = page_texts(rendered.data)
    assert len(pages) <= 6, len(pages)  # 4 with ordinary content
    assert all(len(page) < 6_000 for page in pages)


def test_bounding_helpers_cut_and_mark():
    assert bounded("  Lena \n\t Lernend  ") == "Lena Lernend"
    assert bounded("x" * 300) == "x" * 199 + ELLIPSIS
    assert bounded("Le\u202ena\x00\x07") == "Lena"  # bidi override and controls removed
    assert bounded_text("a\r\n\r\n\r\n\r\nb") == "a\n\nb"
    assert bounded_text("y" * 5_000) == "y" * (TEXT_LIMIT - 1) + ELLIPSIS
    assert bounded_text("l\n" * 100).endswith(ELLIPSIS)
    items = bounded_list([f"item {n}" for n in range(50)])
    assert len(items) == LIST_LIMIT
    assert items[-1] == f"item {LIST_LIMIT - 1} {ELLIPSIS}"
    assert bounded("a" * 100_000 + "b") == "a" * 199 + ELLIPSIS
    assert bounded(" " * 10_000 + "late") == ELLIPSIS  # pre-cut: marked, not silently empty
    assert bounded_list(["", "  ", "kept"]) == ["kept"]
    assert bounded_list("one\ntwo") == ["one", "two"]
    assert bounded_list(None) == []
    assert len(bounded_list(["z" * 5_000])[0]) == ITEM_LIMIT
