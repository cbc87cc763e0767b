"""`crm demo` and `crm generate`: the demo data set and a large one for benchmarks."""

from __future__ import annotations

import time

import click
import sqlalchemy as sa
from flask.cli import AppGroup, with_appcontext

from crm.extensions import db


def register_data_commands(group: AppGroup) -> None:
    """Add the data-set commands to the `crm` group."""
    group.add_command(demo_command)
    group.add_command(generate_command)


@click.command("demo")
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the database already has accounts (for start-up scripts).",
)
@with_appcontext
def demo_command(if_empty: bool) -> None:
    """Load the demo data set: four logins, about sixty employers across Europe, and learners
    on placements in every stage."""
    from crm.demo.demo import (
        DEMO_PASSWORD,
        DEMO_USERS,
        any_user_exists,
        demo_users_exist,
        load_demo,
    )

    if if_empty and any_user_exists():
        click.echo("The database already has accounts; the demo data set was not loaded.")
        return
    if demo_users_exist():
        raise click.ClickException(
            "The demo accounts (admin@demo.test, ...) already exist: the demo data set is "
            "loaded. Use an empty database, or --if-empty to skip quietly."
        )
    from crm.dashboard.jobs import refresh_dashboard

    try:
        summary = load_demo()
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    refresh_dashboard()  # the dashboard's figures, so its first visit need not compute them
    click.echo(
        f"Loaded the demo data set: {summary.users} accounts, {summary.organisations} "
        f"organisations, {summary.contacts} contacts, {summary.activities} activities, "
        f"{summary.tags} tags, {summary.partnerships} partnerships, {summary.programmes} "
        f"programmes, {summary.learners} learners, {summary.placements} placements, "
        f"{summary.links} e-mailed links, {summary.evaluations} evaluations."
    )
    click.echo(
        f"Added {summary.agreements} agreements ({summary.memoranda} partnership memoranda, "
        f"{summary.memoranda_expiring} of them expiring within 90 days); "
        f"{summary.support_needs} learners have support needs. Agreement documents are "
        "placeholders: issue a new version to render one."
    )
    if summary.links_queued:
        click.echo(
            f"{summary.links_queued} links to employers and learners are waiting in the "
            "outbox: open /outbox/ (the development mailbox) to answer as one of them."
        )
    click.echo(f"Log in with any of these, password {DEMO_PASSWORD!r}:")
    for user in DEMO_USERS:
        click.echo(f"  {user.email:<22} {user.role.value}")


@click.command("generate")
@click.option("--organisations", type=click.IntRange(min=1), default=20_000, show_default=True)
@click.option("--contacts", type=click.IntRange(min=0), default=60_000, show_default=True)
@click.option("--activities", type=click.IntRange(min=0), default=1_000_000, show_default=True)
@click.option(
    "--partnerships",
    type=click.IntRange(min=0),
    default=None,
    help="Partnerships with histories [default: one per organisation that is not archived].",
)
@click.option(
    "--placements",
    type=click.IntRange(min=0),
    default=None,
    help="Placements with histories [default: ten per organisation].",
)
@click.option(
    "--learners",
    type=click.IntRange(min=0),
    default=None,
    help="Learners [default: one per two placements].",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@with_appcontext
def generate_command(
    organisations: int,
    contacts: int,
    activities: int,
    partnerships: int | None,
    placements: int | None,
    learners: int | None,
    seed: int,
) -> None:
    """Add a large synthetic register to the database, for benchmarks."""
    from crm.demo.generate import (
        GENERATED_MANAGER,
        GENERATED_PASSWORD,
        ScaleTargets,
        generate_register,
    )

    targets = ScaleTargets(
        organisations, contacts, activities, seed, partnerships, placements, learners
    )
    wanted = "one per organisation" if partnerships is None else f"{partnerships:,}"
    click.echo(
        f"Generating {organisations:,} organisations, {contacts:,} contacts, "
        f"{activities:,} activities and partnerships ({wanted}), "
        f"{targets.learner_count():,} learners and {targets.placement_count():,} placements "
        f"on {db.engine.dialect.name} ..."
    )
    try:
        report = generate_register(targets, progress=click.echo)
        analyse_started = time.monotonic()
        db.session.execute(sa.text("ANALYZE"))  # fresh planner statistics for the benchmarks
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(
        f"Added {report.organisations:,} organisations, {report.contacts:,} contacts and "
        f"{report.activities:,} activities in {report.seconds:.1f} s."
    )
    click.echo(
        f"Added {report.partnerships:,} partnerships with {report.transitions:,} transitions "
        f"and {report.follow_ups:,} follow-ups in {report.partnership_seconds:.1f} s "
        f"(included above)."
    )
    school = report.learners
    click.echo(
        f"Added {school.programmes:,} programmes, {school.learners:,} learners and "
        f"{school.placements:,} placements with {school.transitions:,} transitions and "
        f"{school.follow_ups:,} follow-ups in {school.seconds:.1f} s (included above); "
        f"ANALYZE took {time.monotonic() - analyse_started:.1f} s."
    )
    outcomes = school.agreements
    memoranda = report.memoranda
    click.echo(
        f"Added {school.evaluations:,} employers' evaluations with {school.ratings:,} ratings, "
        f"{school.feedback:,} learners' feedback, {outcomes.agreements:,} placement agreements "
        f"with {outcomes.signers:,} signers and {school.own_follow_ups:,} officers' own "
        f"follow-ups in {school.outcome_seconds:.1f} s; {school.support_needs:,} learners have "
        "support needs (included above)."
    )
    click.echo(
        f"Added {memoranda.written.agreements:,} partnership memoranda ({memoranda.signed:,} "
        f"signed, {memoranda.expiring:,} of them expiring within 90 days) in "
        f"{memoranda.seconds:.1f} s (included above)."
    )
    click.echo(
        "Agreement documents were not rendered: every version stores the same one-page "
        "placeholder PDF that says so (issue a new version to render a real one)."
    )
    click.echo(
        f"Computed {report.health_scores:,} health scores in {report.health_seconds:.1f} s and "
        f"refreshed the dashboard in {report.dashboard_seconds:.1f} s (included above)."
    )
    if report.officers_created:
        click.echo(
            f"Created {report.officers_created} officers (officerNN@generated.test), "
            f"password {GENERATED_PASSWORD!r}."
        )
    if report.manager_created:
        click.echo(
            f"Created a manager ({GENERATED_MANAGER}), password {GENERATED_PASSWORD!r}: "
            "they sign agreements for the provider and may open the dashboard."
        )
