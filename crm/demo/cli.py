"""`crm demo` and `crm generate` (filled in by the data-set module)."""

from __future__ import annotations

from flask.cli import AppGroup


def register_data_commands(group: AppGroup) -> None:
    """Add the data-set commands to the `crm` group."""
