"""`flask crm health recompute`: recompute every partnership's health score now."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from crm.extensions import db

health_cli = AppGroup("health", help="Partnership health scores.")


@health_cli.command("recompute")
def recompute_command() -> None:
    """Recompute every partnership's health score and record today's in the history.

    The scheduler does this every night and whenever something a score depends on
    changes; run it after editing workflows/health.yaml to apply the new weights at once.
    """
    from crm.health.jobs import recompute_all

    try:
        run = recompute_all()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(
        f"Scored {run.scored:,} partnerships ({run.unscored:,} in a final stage have no score)."
    )
