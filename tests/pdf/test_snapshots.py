"""The documents' HTML against stored snapshots: a change to a template or to the values it
prints shows here first. After a deliberate change, regenerate them with
`UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/pdf/test_snapshots.py` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from crm.agreements.document import TEMPLATES
from crm.agreements.models import AgreementKind
from crm.core.pdf import render_html
from tests.pdf.test_evidence import evidence_context
from tests.pdf.values import memorandum_values, placement_values

SNAPSHOTS = Path(__file__).parent / "snapshots"


def matches_snapshot(name: str, html: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(html, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert html == path.read_text(encoding="utf-8")


def document_html(template: str, context: dict, language: str = "en") -> str:
    return render_html(
        template,
        {**context, "title": "The title", "author": "The author", "subject": "The subject"},
        language=language,
    )


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (AgreementKind.PLACEMENT, placement_values),
        (AgreementKind.PARTNERSHIP, memorandum_values),
    ],
)
def test_document_html_matches_the_snapshot(ctx, kind, values):
    html = document_html(TEMPLATES[kind], {"v": values()})

    matches_snapshot(f"{kind.value}.en.html", html)


def test_evidence_html_matches_the_snapshot(ctx):
    matches_snapshot("evidence.en.html", document_html("pdf/evidence.html", evidence_context()))
