"""Workflow definitions: load YAML, validate it, and report every problem with its line.

A definition is validated in two passes: pydantic checks the shape of the file (types,
required keys, unknown keys), then `_check_references` checks what pydantic cannot see
(unknown states, guards and effects, guard parameters, duplicate names, unreachable states).
Each problem names the file, the line and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from crm.workflow.registry import EFFECTS, GUARDS, RECORD_TYPES, load_builtin

ACTOR_ROLES = ("admin", "manager", "officer")
ACTOR_PARTIES = ("employer", "learner", "system")
ANY_STATE = "*"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"

Path_ = tuple[str | int, ...]


# --- the format -----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChecklistItem(_Strict):
    """One thing to do in a state, ticked by the officer."""

    key: str = Field(pattern=NAME_PATTERN)
    label: str = Field(min_length=1)


class StateDef(_Strict):
    """A stage: its label, guidance for the officer, checklist, SLA and whose move it is."""

    label: str = Field(min_length=1)
    guidance: str = ""
    checklist: tuple[ChecklistItem, ...] = ()
    sla_days: int | None = Field(default=None, ge=1, le=3650)
    waiting_on: Literal["us", "employer", "learner"] = "us"
    terminal: bool = False


class Call(_Strict):
    """A guard or effect by name with its parameters, written as `name` or `{name: {..}}`."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return {"name": raw, "params": {}}
        if isinstance(raw, dict) and "name" in raw and set(raw) <= {"name", "params"}:
            return raw  # the stored form, as model_dump() writes it into snapshots
        if isinstance(raw, dict) and len(raw) == 1 and "name" not in raw:
            ((name, params),) = raw.items()
            if params is None:
                params = {}
            if not isinstance(params, dict):
                raise ValueError(f"the parameters of {name!r} must be a mapping")
            return {"name": name, "params": params}
        raise ValueError("write a guard or effect as its name, or as {name: {parameter: value}}")


class TimerDef(_Strict):
    """Fire automatically after the record has spent this many days in the from-state."""

    after_days: int = Field(ge=1, le=3650)


class TransitionDef(_Strict):
    """A move from some states to one state, who may make it, and what must hold and follow."""

    name: str = Field(pattern=NAME_PATTERN)
    label: str = Field(min_length=1)
    from_states: tuple[str, ...] = Field(alias="from", min_length=1)
    to: str
    by: tuple[str, ...] = Field(min_length=1)
    guards: tuple[Call, ...] = ()
    effects: tuple[Call, ...] = ()
    comment: Literal["none", "optional", "required"] = "optional"
    comment_label: str = ""
    timer: TimerDef | None = None
    event: str | None = Field(default=None, pattern=NAME_PATTERN)
    style: Literal["primary", "secondary", "success", "danger", "warning"] = "primary"

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("from_states", mode="before")
    @classmethod
    def _one_or_many(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw

    @field_validator("by", mode="before")
    @classmethod
    def _by_one_or_many(cls, raw: Any) -> Any:
        return [raw] if isinstance(raw, str) else raw

    @field_validator("by")
    @classmethod
    def _known_actors(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        known = ACTOR_ROLES + ACTOR_PARTIES
        for actor in value:
            if actor not in known:
                raise ValueError(f"unknown actor {actor!r}; use {', '.join(known)}")
        return value

    @property
    def by_system(self) -> bool:
        return "system" in self.by


class WorkflowDef(_Strict):
    """A whole workflow: its states, the initial one, and its transitions."""

    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(ge=1)
    record: str
    label: str = Field(min_length=1)
    description: str = ""
    initial: str
    states: dict[str, StateDef] = Field(min_length=1)
    transitions: tuple[TransitionDef, ...] = Field(min_length=1)

    def state(self, name: str) -> StateDef:
        """The state called `name` (KeyError if unknown)."""
        return self.states[name]

    def transition(self, name: str) -> TransitionDef:
        """The transition called `name` (KeyError if unknown)."""
        for transition in self.transitions:
            if transition.name == name:
                return transition
        raise KeyError(name)

    def from_states_of(self, transition: TransitionDef) -> list[str]:
        """The states a transition leaves from, with `*` expanded to every non-terminal state."""
        if ANY_STATE in transition.from_states:
            return [s for s, d in self.states.items() if not d.terminal and s != transition.to]
        return list(transition.from_states)

    def transitions_from(self, state: str) -> list[TransitionDef]:
        """Transitions that may leave `state`, in file order."""
        return [t for t in self.transitions if state in self.from_states_of(t)]

    @property
    def fingerprint(self) -> str:
        """A SHA-256 over the definition's content, to notice edits without a version bump."""
        payload = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


# --- problems -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a workflow file."""

    file: str
    line: int | None
    where: str
    message: str

    def __str__(self) -> str:
        place = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{place}: {self.where}: {self.message}" if self.where else f"{place}: {self.message}"
        )


class WorkflowPackError(Exception):
    """A workflow pack has problems; the app refuses to start on it."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(
            "invalid workflow definitions:\n" + "\n".join(f"  {p}" for p in self.problems)
        )


# --- YAML with positions ----------------------------------------------------------------------


class _Positions:
    """Line numbers of every key and list item, by path, and duplicate keys found."""

    def __init__(self) -> None:
        self.lines: dict[Path_, int] = {}
        self.duplicates: list[tuple[Path_, int]] = []

    def walk(self, node: yaml.Node, path: Path_ = ()) -> None:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, value_node in node.value:
                key = key_node.value
                child = (*path, key)
                if key in seen:
                    self.duplicates.append((child, key_node.start_mark.line + 1))
                seen.add(key)
                self.lines[child] = key_node.start_mark.line + 1
                self.walk(value_node, child)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.lines[(*path, index)] = item.start_mark.line + 1
                self.walk(item, (*path, index))

    def line(self, path: Path_) -> int | None:
        """The line of the deepest known part of `path`."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def _where(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _yaml_path(path: Sequence[str | int]) -> Path_:
    """Map a pydantic error location to the YAML path (aliases and helper keys removed)."""
    mapped: list[str | int] = []
    for part in path:
        if part == "from_states":
            mapped.append("from")
        elif part in ("function-before[_from_yaml(), Call]",):
            continue
        else:
            mapped.append(part)
    return tuple(mapped)


# --- loading --------------------------------------------------------------------------------


def parse_file(
    path: Path, display_name: str | None = None
) -> tuple[WorkflowDef | None, list[Problem]]:
    """Read and validate one workflow file; return the definition or the problems."""
    load_builtin()
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [Problem(name, None, "", f"cannot read the file: {exc.strerror}")]
    return parse_text(text, name, expected_name=path.stem)


def parse_text(
    text: str, file: str, expected_name: str | None = None
) -> tuple[WorkflowDef | None, list[Problem]]:
    """Validate the YAML text of one workflow definition."""
    load_builtin()
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(file, None, "", "the file is empty")]
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, [Problem(file, line, "", f"YAML syntax error: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, None, "", f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()

    positions = _Positions()
    positions.walk(node)
    problems = [
        Problem(file, line, _where(path), f"duplicate key {path[-1]!r}")
        for path, line in positions.duplicates
    ]
    if not isinstance(data, dict):
        return None, [
            *problems,
            Problem(file, positions.line(()), "", "a workflow file must be a mapping"),
        ]

    try:
        definition = WorkflowDef.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        paths = [_yaml_path(e["loc"]) for e in errors]
        for error, path in zip(errors, paths, strict=True):
            if error["type"] == "too_short" and any(
                len(other) > len(path) and other[: len(path)] == path for other in paths
            ):
                continue  # an item failed; "too few items" would only confuse
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown key {path[-1]!r}"
            elif error["type"] == "missing":
                message = f"missing required key {path[-1]!r}"
            problems.append(Problem(file, positions.line(path), _where(path), message))
        return None, problems

    problems.extend(_check_references(definition, file, positions, expected_name))
    return (None if problems else definition), problems


def _check_references(
    definition: WorkflowDef, file: str, positions: _Positions, expected_name: str | None
) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: Path_, message: str) -> None:
        problems.append(Problem(file, positions.line(path), _where(path), message))

    states = definition.states
    known = ", ".join(states)
    if expected_name and definition.name != expected_name:
        add(("name",), f"the workflow in {expected_name}.yaml must be named {expected_name!r}")
    record = RECORD_TYPES.get(definition.record)
    if record is None:
        add(
            ("record",), f"unknown record type {definition.record!r}; use {', '.join(RECORD_TYPES)}"
        )
    if definition.initial not in states:
        add(("initial",), f"unknown initial state {definition.initial!r}; states are {known}")
    for state_name, state in states.items():
        if not _valid_name(state_name):
            add(("states", state_name), "state names use lower-case letters, digits and _")
        keys = [item.key for item in state.checklist]
        for index, key in enumerate(keys):
            if key in keys[:index]:
                add(("states", state_name, "checklist", index), f"duplicate checklist key {key!r}")

    seen_names: dict[str, int] = {}
    for index, transition in enumerate(definition.transitions):
        base: Path_ = ("transitions", index)
        if transition.name in seen_names:
            add((*base, "name"), f"duplicate transition name {transition.name!r}")
        seen_names.setdefault(transition.name, index)
        for f_index, source in enumerate(transition.from_states):
            if source != ANY_STATE and source not in states:
                add((*base, "from", f_index), f"unknown state {source!r}; states are {known}")
        if transition.to not in states:
            add((*base, "to"), f"unknown state {transition.to!r}; states are {known}")
        if (transition.timer or transition.event) and not transition.by_system:
            add((*base, "by"), "a transition with a timer or event must include 'system' in 'by'")
        if transition.comment_label and transition.comment == "none":
            add((*base, "comment_label"), "comment_label needs comment: optional or required")
        for kind, calls, registry in (
            ("guards", transition.guards, GUARDS),
            ("effects", transition.effects, EFFECTS),
        ):
            for c_index, call in enumerate(calls):
                path = (*base, kind, c_index)
                spec = registry.get(call.name)
                if spec is None:
                    noun = "guard" if kind == "guards" else "effect"
                    add(path, f"unknown {noun} {call.name!r}; known: {', '.join(sorted(registry))}")
                    continue
                if record is not None and record.name not in spec.records:
                    add(path, f"{call.name!r} cannot be used on {record.name} records")
                try:
                    params = spec.params.model_validate(call.params)
                except ValidationError as exc:
                    for error in exc.errors():
                        where = (*path, call.name, *error["loc"])
                        message = error["msg"].removeprefix("Value error, ")
                        if error["type"] == "extra_forbidden":
                            message = f"unknown parameter {error['loc'][-1]!r}"
                        elif error["type"] == "missing":
                            message = f"missing parameter {error['loc'][-1]!r}"
                        add(where, f"{call.name}: {message}")
                    continue
                if record is not None:
                    problems.extend(
                        Problem(file, positions.line(path), _where(path), f"{call.name}: {text}")
                        for text in _check_params_against_record(params, record.name)
                    )
                state_param = getattr(params, "state", None)  # e.g. checklist_done's
                if isinstance(state_param, str) and state_param not in states:
                    add(path, f"{call.name}: unknown state {state_param!r}; states are {known}")

    problems.extend(
        Problem(
            file,
            positions.line(("states", state)),
            _where(("states", state)),
            f"state {state!r} cannot be reached from the initial state",
        )
        for state in _unreachable(definition)
    )
    return problems


def _valid_name(name: str) -> bool:
    import re

    return bool(re.match(NAME_PATTERN, name))


def _check_params_against_record(params: BaseModel, record: str) -> list[str]:
    """Field and relation names used in parameters must exist on the record type."""
    record_type = RECORD_TYPES[record]
    problems = []
    field_name = getattr(params, "field", None)
    if isinstance(field_name, str) and field_name not in record_type.fields:
        problems.append(
            f"unknown field {field_name!r} on {record}; known: {', '.join(record_type.fields)}"
        )
    relation = getattr(params, "relation", None)
    if isinstance(relation, str) and relation not in record_type.relations:
        known = ", ".join(record_type.relations) or "none"
        problems.append(f"unknown relation {relation!r} on {record}; known: {known}")
    return problems


def _unreachable(definition: WorkflowDef) -> list[str]:
    if definition.initial not in definition.states:
        return []
    reached = {definition.initial}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for transition in definition.transitions_from(state):
            if transition.to in definition.states and transition.to not in reached:
                reached.add(transition.to)
                queue.append(transition.to)
    return [s for s in definition.states if s not in reached]


# --- the pack -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkflowPack:
    """The current definitions by workflow name."""

    definitions: dict[str, WorkflowDef]

    def get(self, name: str) -> WorkflowDef:
        return self.definitions[name]

    def for_record(self, record: str) -> WorkflowDef:
        """The workflow a new record of this type runs on."""
        for definition in self.definitions.values():
            if definition.record == record:
                return definition
        raise KeyError(record)


# Files beside the workflows that are not workflows (each checked by its own loader):
# the health score's configuration (crm.health.config).
NOT_WORKFLOWS = frozenset({"health.yaml"})


def workflow_files(directory: Path) -> list[Path]:
    """The workflow files in `directory`: every `*.yaml` but the configuration files."""
    return sorted(p for p in directory.glob("*.yaml") if p.name not in NOT_WORKFLOWS)


def load_pack(directory: Path, files: Iterable[Path] | None = None) -> WorkflowPack:
    """Load every workflow file in `directory`; raise `WorkflowPackError` with all problems."""
    paths = sorted(files) if files is not None else workflow_files(directory)
    definitions: dict[str, WorkflowDef] = {}
    shown: dict[str, str] = {}
    problems: list[Problem] = []
    for path in paths:
        display = _display_path(path)
        definition, found = parse_file(path, display)
        problems.extend(found)
        if definition is not None:
            definitions[definition.name] = definition
            shown[definition.name] = display
    if not paths:
        problems.append(Problem(str(directory), None, "", "no workflow files (*.yaml) found"))
    records = [d.record for d in definitions.values()]
    for record in sorted(set(records)):
        if records.count(record) > 1:
            names = ", ".join(shown[d.name] for d in definitions.values() if d.record == record)
            message = f"more than one workflow for {record} records: {names}"
            problems.append(Problem(str(directory), None, "", message))
    if problems:
        raise WorkflowPackError(problems)
    return WorkflowPack(definitions)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow file format, as published in docs/."""
    schema = WorkflowDef.model_json_schema(by_alias=True)
    # The models hold the normalised form; a file may also write `from` and `by` as a single
    # string, and a guard or effect as its name or as {name: {parameter: value}} (see Call).
    transition = schema["$defs"]["TransitionDef"]["properties"]
    for key in ("from", "by"):
        many = transition[key]
        title = many.pop("title")
        transition[key] = {"title": title, "anyOf": [many["items"], many]}
    call = schema["$defs"]["Call"]
    schema["$defs"]["Call"] = {
        "title": call["title"],
        "description": call["description"],
        "anyOf": [
            {"type": "string"},
            {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": {"anyOf": [{"type": "object"}, {"type": "null"}]},
            },
        ],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Partnership CRM workflow definition"
    return schema
