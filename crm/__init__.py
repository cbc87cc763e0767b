"""Partnership CRM: the Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, request
from flask_login import current_user

from crm.config import PROJECT_ROOT, Settings, engine_options
from crm.db import configure_sqlite_engine, sqlite_read_only
from crm.extensions import babel, csrf, db, login_manager, migrate

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: settings, extensions, blueprints, CLI, error pages, Jinja."""
    settings = Settings.from_env()
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    app.config.update(settings.flask_config())
    if config:
        app.config.update(config)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        (PROJECT_ROOT / "instance").mkdir(exist_ok=True)

    _init_extensions(app)
    _load_workflows(app)
    _register_blueprints(app)
    _install_request_hooks(app)

    from crm.core.cli import register_cli
    from crm.core.errors import install_error_pages
    from crm.core.formatting import install_formatting
    from crm.core.security import install_log_redaction, install_security_headers

    install_security_headers(app)
    install_log_redaction()
    hops = int(app.config.get("CRM_PROXY_HOPS", 0))
    if hops:
        # Behind reverse proxies: the client's address (rate limits, a decision's evidence)
        # and scheme come from the X-Forwarded-* headers the trusted proxies set.
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    install_error_pages(app)
    install_formatting(app)
    register_cli(app)
    return app


def _init_extensions(app: Flask) -> None:
    import crm.models  # noqa: F401  (every table, for the metadata and Alembic)

    db.init_app(app)
    with app.app_context():
        configure_sqlite_engine(db.engine)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"

    from crm.auth.service import load_session_user

    login_manager.user_loader(load_session_user)

    def select_locale() -> str | None:
        languages = app.config["CRM_LANGUAGES"]
        if not has_request_context():
            language = "en"  # jobs and commands: e-mails choose theirs with force_locale
        elif g.get("portal_language") in languages:
            language = str(g.portal_language)  # a link page speaks its recipient's language
        elif current_user and current_user.is_authenticated and current_user.locale in languages:
            language = str(current_user.locale)
        else:
            language = request.accept_languages.best_match(languages) or "en"
        # English means British English formats (day before month, 24-hour clock), which
        # European users expect; the "en" catalogue still applies.
        return "en_GB" if language == "en" else language

    def select_timezone() -> str:
        if has_request_context() and current_user and current_user.is_authenticated:
            return str(current_user.timezone)
        return str(app.config["CRM_DISPLAY_TIMEZONE"])

    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)


def _load_workflows(app: Flask) -> None:
    """Load and validate the workflow pack and the health score's configuration beside it;
    an invalid one stops the app from starting.

    Only `flask crm workflows check` starts on a broken pack, so that it can report it.
    """
    import sys
    from pathlib import Path

    from crm.health.config import HealthConfigError, load_config
    from crm.workflow.definitions import WorkflowPackError, load_pack

    directory = Path(app.config.get("CRM_WORKFLOWS_DIR") or PROJECT_ROOT / "workflows")
    args = sys.argv[1:]
    checking = any(args[i : i + 2] == ["workflows", "check"] for i in range(len(args)))
    try:
        app.extensions["crm_workflows"] = pack = load_pack(directory)
    except WorkflowPackError as exc:
        if checking:
            app.extensions["crm_workflows_error"] = exc
            return
        raise
    # The health score's configuration lives beside the workflows and is held to the same
    # rule: a broken file stops the app (crm.health.config).
    try:
        app.extensions["crm_health"] = load_config(directory, _open_partnership_states(pack))
    except HealthConfigError:
        if not checking:
            raise


def _open_partnership_states(pack: Any) -> list[str] | None:
    """The partnership workflow's stages that are not final (None without that workflow)."""
    try:
        partnership = pack.for_record("partnership")
    except KeyError:
        return None
    return [name for name, state in partnership.states.items() if not state.terminal]


def _register_blueprints(app: Flask) -> None:
    # Record types whose area has no pages yet still need their workflow adapter.
    import crm.agreements.adapter  # noqa: F401
    from crm.activities.views import bp as activities_bp
    from crm.agreements.views import bp as agreements_bp
    from crm.auth.views import admin_bp, auth_bp
    from crm.contacts.views import bp as contacts_bp
    from crm.dashboard.views import bp as dashboard_bp
    from crm.followups.views import bp as followups_bp
    from crm.learners.views import bp as learners_bp
    from crm.learners.views import programmes_bp
    from crm.links.views import bp as links_bp
    from crm.organisations.views import bp as organisations_bp
    from crm.outbox.views import bp as outbox_bp
    from crm.partnerships.views import bp as partnerships_bp
    from crm.placements.views import bp as placements_bp
    from crm.portal.views import bp as portal_bp
    from crm.search.views import bp as search_bp
    from crm.workflow.views import bp as workflows_bp

    for blueprint in (
        auth_bp,
        admin_bp,
        organisations_bp,
        contacts_bp,
        activities_bp,
        search_bp,
        partnerships_bp,
        programmes_bp,
        learners_bp,
        placements_bp,
        agreements_bp,
        workflows_bp,
        followups_bp,
        links_bp,
        outbox_bp,
        portal_bp,
        dashboard_bp,
    ):
        app.register_blueprint(blueprint)


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def _mark_read_only() -> None:
        # On SQLite, read-only requests start deferred transactions (see crm.db).
        g.sqlite_token = sqlite_read_only.set(request.method in READ_ONLY_METHODS)

    @app.teardown_request
    def _reset_read_only(_exc: BaseException | None) -> None:
        token = g.pop("sqlite_token", None)
        if token is not None:
            sqlite_read_only.reset(token)

    @app.before_request
    def _require_login() -> Any:
        # The calendar feed has no session: its secret address is the key.
        if request.endpoint in {"static", "auth.login", "followups.calendar_feed"}:
            return None
        if request.blueprint == "portal":
            return None  # link pages: the link is the key (crm.portal.views)
        if request.path.startswith("/l/"):
            # A mangled link address (no such page): a plain "not found", not a login form
            # that would puzzle an employer who has no account.
            from flask import abort

            abort(404)
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None
