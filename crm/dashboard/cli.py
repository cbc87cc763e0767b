"""`flask crm dashboard refresh`: aggregate the dashboard's numbers now."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.extensions import db

dashboard_cli = AppGroup("dashboard", help="The managers' dashboard.")


@dashboard_cli.command("refresh")
def refresh_command() -> None:
    """Aggregate the dashboard's numbers again and commit them.

    The scheduler does this every 10 minutes; run it after loading or importing data to see
    it on the dashboard at once.
    """
    from crm.dashboard.jobs import tidy_facts
    from crm.dashboard.service import refresh

    try:
        run = refresh()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    tidy_facts()
    click.echo(f"Dashboard refreshed: {run.facts:,} facts in {run.milliseconds / 1000:.1f} s.")
