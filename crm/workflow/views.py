"""Pages that show the loaded workflows: a diagram and every state's rules."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _

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
        actor_labels={
            "officer": _("officers"),
            "manager": _("managers"),
            "admin": _("administrators"),
            "employer": _("the employer (by link)"),
            "learner": _("the learner (by link)"),
            "system": _("automatically"),
        },
        effect_labels={
            "schedule_follow_up": _("a follow-up"),
            "close_follow_ups": _("close the step's follow-ups"),
            "send_email": _("an e-mail"),
            "fire_related": _("move the related record"),
        },
    )


@bp.app_template_global()
def state_label(workflow_name: str, state: str) -> str:
    """A state's translated label for templates (the state's name if it is unknown)."""
    from flask_babel import gettext as _

    definition = current_pack().definitions.get(workflow_name)
    if definition is None or state not in definition.states:
        return state
    return _(definition.states[state].label)
