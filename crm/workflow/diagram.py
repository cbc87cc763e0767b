"""Draw a workflow as an SVG diagram, on the server, without any external service.

States are stacked top to bottom in the order the file lists them; a transition to the next
state is a straight arrow, others are arcs — forward ones on the right, backward ones on the
left. Transitions from every stage (`from: "*"`) are listed under their target instead of
drawn from each state.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext
from markupsafe import Markup, escape

from crm.workflow.definitions import ANY_STATE, WorkflowDef

BOX_WIDTH = 240
BOX_HEIGHT = 44
ROW = 78
LEFT = 170
LANE = 26
FORWARD_GAP = 110  # keeps forward arcs clear of the labels of straight arrows
WAITING_COLOURS = {"us": "#cfe2ff", "employer": "#fff3cd", "learner": "#d1e7dd"}


@dataclass(frozen=True)
class _Edge:
    source: int
    target: int
    label: str
    by_system: bool


def render_svg(definition: WorkflowDef) -> Markup:
    """The diagram as an inline SVG element (no scripts, no style attributes)."""
    names = list(definition.states)
    index = {name: i for i, name in enumerate(names)}
    edges: list[_Edge] = []
    from_any: dict[str, list[str]] = {}
    for transition in definition.transitions:
        if ANY_STATE in transition.from_states:
            from_any.setdefault(transition.to, []).append(_(transition.label))
            continue
        for source in transition.from_states:
            edges.append(
                _Edge(
                    index[source], index[transition.to], _(transition.label), transition.by_system
                )
            )

    right_lanes: list[list[tuple[int, int]]] = []
    left_lanes: list[list[tuple[int, int]]] = []
    parts: list[str] = []
    max_right = max_left = 0
    labelled: set[tuple[str, int]] = set()
    for edge in edges:
        y1 = edge.source * ROW + BOX_HEIGHT / 2 + 20
        y2 = edge.target * ROW + BOX_HEIGHT / 2 + 20
        dash = ' stroke-dasharray="5 4"' if edge.by_system else ""
        if edge.target == edge.source + 1:
            x = LEFT + BOX_WIDTH / 2
            parts.append(
                f'<line x1="{x}" y1="{y1 + BOX_HEIGHT / 2}" x2="{x}" y2="{y2 - BOX_HEIGHT / 2 - 2}" '
                f'stroke="#495057" stroke-width="1.5" marker-end="url(#arrow)"{dash}/>'
                f'<text x="{x + 6}" y="{(y1 + y2) / 2 + 4}" font-size="11" fill="#495057">{escape(edge.label)}</text>'
            )
            continue
        forward = edge.target > edge.source
        lanes = right_lanes if forward else left_lanes
        span = (min(edge.source, edge.target), max(edge.source, edge.target))
        lane = _free_lane(lanes, span)
        offset = (lane + 1) * LANE + (FORWARD_GAP if forward else 0)
        label = "" if (edge.label, edge.target) in labelled else edge.label
        labelled.add((edge.label, edge.target))
        if forward:
            x0 = LEFT + BOX_WIDTH
            xc = x0 + offset
            max_right = max(max_right, offset)
            anchor, text_x = "start", xc + 4
        else:
            x0 = LEFT
            xc = x0 - offset
            max_left = max(max_left, offset)
            anchor, text_x = "end", xc - 4
        parts.append(
            f'<path d="M{x0},{y1} C{xc},{y1} {xc},{y2} {x0 + (2 if forward else -2)},{y2}" fill="none" '
            f'stroke="{"#0d6efd" if forward else "#6c757d"}" stroke-width="1.3" marker-end="url(#arrow)"{dash}/>'
            f'<text x="{text_x}" y="{(y1 + y2) / 2 + 4}" font-size="10" fill="#495057" '
            f'text-anchor="{anchor}">{escape(label)}</text>'
        )
    for i, name in enumerate(names):
        state = definition.states[name]
        y = i * ROW + 20
        fill = WAITING_COLOURS.get(state.waiting_on, "#e9ecef")
        stroke = (
            "#198754"
            if name == definition.initial
            else ("#212529" if state.terminal else "#6c757d")
        )
        parts.append(
            f'<g id="state-{escape(name)}"><rect x="{LEFT}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{2 if name == definition.initial else 1.2}"/>'
            f'<text x="{LEFT + BOX_WIDTH / 2}" y="{y + 19}" font-size="14" font-weight="600" '
            f'text-anchor="middle" fill="#212529">{escape(_(state.label))}</text>'
            f'<text x="{LEFT + BOX_WIDTH / 2}" y="{y + 35}" font-size="10" text-anchor="middle" fill="#495057">'
            f"{escape(_state_note(definition, name))}</text></g>"
        )
        if name in from_any:
            note = _("from any stage: %(labels)s", labels=", ".join(from_any[name]))
            parts.append(
                f'<text x="{LEFT + BOX_WIDTH / 2}" y="{y - 4}" font-size="10" text-anchor="middle" fill="#842029">'
                f"{escape(note)}</text>"
            )
    width = LEFT + BOX_WIDTH + max(max_right, 0) + 200
    height = len(names) * ROW + 20
    view_x = min(0, LEFT - max_left - 170)
    label = _("Diagram of the workflow %(name)s", name=_(definition.label))
    # Every interpolated text above went through escape(); the rest is our own markup.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
        f'aria-label="{escape(label)}" '
        f'viewBox="{view_x} 0 {width - view_x} {height}" preserveAspectRatio="xMidYMin meet">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#495057"/>'
        "</marker></defs>" + "".join(parts) + "</svg>"
    )


def _free_lane(lanes: list[list[tuple[int, int]]], span: tuple[int, int]) -> int:
    for number, used in enumerate(lanes):
        if all(span[1] <= a or span[0] >= b for a, b in used):
            used.append(span)
            return number
    lanes.append([span])
    return len(lanes) - 1


def _state_note(definition: WorkflowDef, name: str) -> str:
    state = definition.states[name]
    waiting = {
        "us": _("our move"),
        "employer": _("employer's move"),
        "learner": _("learner's move"),
    }
    note = waiting.get(state.waiting_on, "")
    if state.sla_days:
        note += " · " + ngettext("SLA %(num)d day", "SLA %(num)d days", state.sla_days)
    if state.terminal:
        note += " · " + _("final")
    return note
