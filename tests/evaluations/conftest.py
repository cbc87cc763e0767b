"""Fixtures for the evaluation tests: users, and a completed placement whose supervisor has
been sent an evaluation link (and its learner a feedback link)."""

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
from tests.evaluations.support import Evaluated, with_skills
from tests.portal.support import completed


@pytest.fixture(autouse=True)
def _fresh_snapshot_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stored definitions are cached by (name, version); rolled-back tests store them anew."""
    monkeypatch.setattr(service, "_snapshot_cache", {})


@pytest.fixture
def world(ctx: Any, officer: Any) -> Evaluated:  # noqa: F811
    """A completed placement of a programme with three skills (and one retired): both links
    are out."""
    return with_skills(completed(officer))
