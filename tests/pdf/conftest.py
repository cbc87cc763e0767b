"""Fixtures for the document tests: a placement with its agreement, a partnership with its
memorandum (made directly, without the agreement service), and a local HTTP server that
records every request made to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crm.workflow import service
from tests.core.fixtures import (  # noqa: F401
    _close_pooled_connections,
    officer,
)
from tests.pdf.support import Bait, BaitServer, Subject, memorandum_of, placement_agreement_of
from tests.placements.support import build_world


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); rolled-back tests store them anew."""
    monkeypatch.setattr(service, "_snapshot_cache", {})


@pytest.fixture
def placed(ctx: Any, officer: Any) -> Subject:  # noqa: F811 (the fixture imported above)
    """A placement of Lena Lernend at Werkzeugbau Kern GmbH with a draft agreement."""
    return placement_agreement_of(build_world(officer))


@pytest.fixture
def memorandum(ctx: Any, officer: Any) -> Subject:  # noqa: F811
    """A partnership with Werkzeugbau Kern GmbH and a draft memorandum."""
    return memorandum_of(officer)


@pytest.fixture
def bait_server() -> Iterator[BaitServer]:
    """An HTTP server on loopback that counts the requests it gets (none are expected)."""
    server = BaitServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def bait(bait_server: BaitServer) -> Bait:
    """Hostile field contents aimed at `bait_server` and at local files."""
    return Bait.aimed_at(bait_server)
