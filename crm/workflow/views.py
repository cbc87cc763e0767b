"""Pages that show the loaded workflows: a diagram and every state's rules."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from crm.workflow import engine
from crm.workflow.diagram import render_svg
from crm.workflow.registry import EFFECTS
from crm.workflow.service import current_pack

bp = Blueprint("workflows", __name__, url_prefix="/workflows")


@bp.get("/")
def index() -> str:
    return render_template("workflows/index.html", definitions=current_pack().definitions.values())


@bp.get("/<name>")
def show(name: str) -> str:
    definition = current_pack().definitions.get(name)
    if definition is None:
        abort(404)
    return render_template(
        "workflows/show.html",
        definition=definition,
        diagram=render_svg(definition),
        requirement=engine.requirement,
        effects=EFFECTS,
    )


@bp.app_template_global()
def state_label(workflow_name: str, state: str) -> str:
    """A state's translated label for templates (the state's name if it is unknown)."""
    from flask_babel import gettext as _

    definition = current_pack().definitions.get(workflow_name)
    if definition is None or state not in definition.states:
        return state
    return _(definition.states[state].label)
