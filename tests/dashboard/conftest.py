"""Fixtures for the dashboard tests: users of each role, logged-in clients, and (for the
page, export and report tests) a stand-in for build_dashboard with hand-picked numbers."""

from __future__ import annotations

from tests.core.fixtures import (  # noqa: F401
    _cheap_password_hashing,
    _close_pooled_connections,
    admin,
    login_as,
    manager,
    officer,
)
from tests.dashboard.ui_support import (  # noqa: F401
    _fresh_snapshot_cache,
    refreshed_every_ten_minutes,
    shown,
)
