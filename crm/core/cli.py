"""The `flask crm ...` command group; each command calls the services and commits."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from crm.extensions import db

crm_cli = AppGroup("crm", help="Partnership CRM administration commands.")


@crm_cli.command("create-user")
@click.option("--email", required=True, help="Login e-mail address.")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role",
    type=click.Choice(["admin", "manager", "officer"]),
    default="officer",
    show_default=True,
)
@click.password_option(help="Password (asked for when not given).")
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from crm.auth.models import Role
    from crm.auth.service import AccountError, UserValues, create_user

    try:
        user = create_user(UserValues(email=email, name=name, role=Role(role)), password)
    except AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}")


def register_cli(app: Flask) -> None:
    """Attach the `crm` command group (and the data-set commands) to the app."""
    from crm.demo.cli import register_data_commands
    from crm.workflow.cli import workflows_cli

    register_data_commands(crm_cli)
    crm_cli.add_command(workflows_cli)
    app.cli.add_command(crm_cli)
