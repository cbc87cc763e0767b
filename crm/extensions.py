"""Flask extensions, created unbound and initialised by the app factory."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect

from crm.db import Base


class CRMSession(FlaskSession):
    """Flask-SQLAlchemy's session, which also honours an explicit bind.

    Tests bind the session to a connection inside an outer transaction (SQLAlchemy's
    "join a session into an external transaction" recipe); Flask-SQLAlchemy's own
    `get_bind` would ignore that bind and use the engine.
    """

    def get_bind(
        self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any
    ) -> Any:
        if bind is None and self.bind is not None:
            return self.bind
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": CRMSession})
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()

__all__ = ["babel", "csrf", "db", "login_manager", "migrate", "sa"]
