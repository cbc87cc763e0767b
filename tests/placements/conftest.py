"""Fixtures for the placement tests: users of each role, logged-in clients, a learner and an
organisation ready for a match."""

from __future__ import annotations

from typing import Any

import pytest

from crm.workflow import service
from tests.core.fixtures import (  # noqa: F401
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
from tests.placements.support import World, build_world


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); rolled-back tests store them anew."""
    monkeypatch.setattr(service, "_snapshot_cache", {})


@pytest.fixture
def world(ctx: Any, officer: Any) -> World:  # noqa: F811 (the fixture imported above)
    """A learner of `officer` and an employer in the learner's sector with an active
    partnership, two free places per school year and a workplace supervisor."""
    return build_world(officer)
