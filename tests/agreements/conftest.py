"""Fixtures for the agreement tests: users of each role, logged-in clients, a learner and an
employer ready for an agreement."""

from __future__ import annotations

from typing import Any

import pytest

from crm.workflow import service
from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
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
    """A learner of `officer` (an adult with an e-mail address) and an employer with an
    active partnership and a workplace supervisor with an e-mail address."""
    return build_world(officer)
