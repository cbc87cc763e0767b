"""The health score's configuration: `health.yaml` beside the workflows, validated like them.

The file says what each component of the score weighs (the most points it can lose) and
the steps at which it loses them. Validation runs in two passes, as for workflows: pydantic
checks the shape (types, unknown and missing keys), then `_check_rules` checks what pydantic
cannot see (steps in order, points within the weight, weights adding up to 100, bands in
order, states the partnership workflow knows). Each problem names the file, the line and what
is wrong; the application refuses to start on a broken file.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crm.workflow.definitions import Path_, Problem, _Positions, _where

FILE_NAME = "health.yaml"
TOTAL_POINTS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- steps: from which value a component loses how many points -------------------------------


class DaysStep(_Strict):
    """Lose `points` once the number of days counted is more than `after_days`."""

    after_days: int = Field(ge=0, le=3650)
    points: int


class ExpiryStep(_Strict):
    """Lose `points` once the memorandum expires within `within_days` days."""

    within_days: int = Field(ge=0, le=3650)
    points: int


class PercentStep(_Strict):
    """Lose `points` when fewer than `below_percent` % of the pledged placements were hosted."""

    below_percent: int = Field(ge=1, le=1000)
    points: int


class RatingStep(_Strict):
    """Lose `points` when the average satisfaction (1 to 5) is below `below`."""

    below: float = Field(gt=1, le=5)
    points: int


class CountStep(_Strict):
    """Lose `points` from `at_least` overdue follow-ups on."""

    at_least: int = Field(ge=1, le=10_000)
    points: int


Order = Literal["increasing", "decreasing"]


class _Component(_Strict):
    """A part of the score: its weight (the most it can lose) and where it counts."""

    weight: int
    # The partnership stages in which the component counts; elsewhere it loses nothing.
    # None: every stage that is not final.
    states: tuple[str, ...] | None = None

    # The step key and the order its values must follow, from mild to severe.
    STEP_KEY: ClassVar[str] = ""
    STEP_ORDER: ClassVar[Order] = "increasing"

    def step_list(self) -> Sequence[Any]:
        """The steps, mildest first."""
        steps: Sequence[Any] = getattr(self, "steps", ())
        return steps


class ContactComponent(_Component):
    """Days since the last two-way contact (call, meeting, visit) with the organisation."""

    steps: tuple[DaysStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "after_days"


class StageComponent(_Component):
    """Days past the SLA of the stage the partnership is in."""

    steps: tuple[DaysStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "after_days"


class AgreementComponent(_Component):
    """The signed memorandum: missing or expired loses the whole weight, expiring some."""

    steps: tuple[ExpiryStep, ...] = ()
    STEP_KEY: ClassVar[str] = "within_days"
    STEP_ORDER: ClassVar[Order] = "decreasing"


class PlacementsComponent(_Component):
    """Placements hosted in the last months against the organisation's capacity pledge."""

    months: int = Field(default=12, ge=1, le=60)
    terms_per_year: int = Field(default=3, ge=1, le=6)
    steps: tuple[PercentStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "below_percent"
    STEP_ORDER: ClassVar[Order] = "decreasing"


class SatisfactionComponent(_Component):
    """The average satisfaction of the employer's evaluations in the last months."""

    months: int = Field(default=24, ge=1, le=120)
    steps: tuple[RatingStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "below"
    STEP_ORDER: ClassVar[Order] = "decreasing"


class ResponsivenessComponent(_Component):
    """How many days the employer takes to answer links, and links left to expire."""

    months: int = Field(default=12, ge=1, le=60)
    points_per_expired_link: int = 0
    steps: tuple[DaysStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "after_days"


class FollowUpsComponent(_Component):
    """Open follow-ups past their due time, on the partnership or its organisation."""

    steps: tuple[CountStep, ...] = Field(min_length=1)
    STEP_KEY: ClassVar[str] = "at_least"


class Components(_Strict):
    """The seven components, each required (a weight of 0 switches one off)."""

    contact: ContactComponent
    stage: StageComponent
    agreement: AgreementComponent
    placements: PlacementsComponent
    satisfaction: SatisfactionComponent
    responsiveness: ResponsivenessComponent
    follow_ups: FollowUpsComponent

    def items(self) -> list[tuple[str, _Component]]:
        """(name, component) in the order the breakdown shows them."""
        return [(name, getattr(self, name)) for name in COMPONENT_NAMES]


COMPONENT_NAMES = (
    "contact",
    "stage",
    "agreement",
    "placements",
    "satisfaction",
    "responsiveness",
    "follow_ups",
)


class Bands(_Strict):
    """The lowest score of each band; below `at_risk` a partnership is stalling."""

    thriving: int = Field(ge=1, le=100)
    steady: int = Field(ge=1, le=100)
    at_risk: int = Field(ge=1, le=100)


class HealthConfig(_Strict):
    """The whole file."""

    version: int = Field(ge=1)
    bands: Bands
    components: Components

    def band_of(self, score: int | None) -> str | None:
        """thriving, steady, at_risk or stalling; None without a score."""
        if score is None:
            return None
        if score >= self.bands.thriving:
            return "thriving"
        if score >= self.bands.steady:
            return "steady"
        if score >= self.bands.at_risk:
            return "at_risk"
        return "stalling"

    def band_range(self, band: str) -> tuple[int, int]:
        """The scores of a band, lowest and highest included."""
        bands = self.bands
        return {
            "thriving": (bands.thriving, TOTAL_POINTS),
            "steady": (bands.steady, bands.thriving - 1),
            "at_risk": (bands.at_risk, bands.steady - 1),
            "stalling": (0, bands.at_risk - 1),
        }[band]


BAND_NAMES = ("thriving", "steady", "at_risk", "stalling")


class HealthConfigError(Exception):
    """The health configuration has problems; the app refuses to start on it."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__(
            "invalid health score configuration:\n" + "\n".join(f"  {p}" for p in self.problems)
        )


# --- loading --------------------------------------------------------------------------------


def parse_text(
    text: str, file: str, states: Collection[str] | None = None
) -> tuple[HealthConfig | None, list[Problem]]:
    """Validate the YAML text of a health configuration.

    `states` are the partnership workflow's non-final states, for the components' `states`
    lists (not checked when None).
    """
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
            Problem(file, positions.line(()), "", "the health configuration must be a mapping"),
        ]
    try:
        config = HealthConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            path: Path_ = tuple(error["loc"])
            problems.append(
                Problem(file, positions.line(path), _where(path), _message(error, path))
            )
        return None, problems
    problems.extend(_check_rules(config, file, positions, states))
    return (None if problems else config), problems


def _message(error: Any, path: Path_) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        if len(path) == 2 and path[0] == "components":
            return f"unknown component {path[-1]!r}; components are {', '.join(COMPONENT_NAMES)}"
        return f"unknown key {path[-1]!r}"
    if error["type"] == "missing":
        if len(path) == 2 and path[0] == "components":
            return f"missing component {path[-1]!r}"
        return f"missing required key {path[-1]!r}"
    return message


def _check_rules(
    config: HealthConfig, file: str, positions: _Positions, states: Collection[str] | None
) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: Path_, message: str) -> None:
        problems.append(Problem(file, positions.line(path), _where(path), message))

    bands = config.bands
    if not bands.thriving > bands.steady > bands.at_risk:
        add(
            ("bands",),
            "bands must be in order: thriving above steady above at_risk "
            f"(found {bands.thriving}, {bands.steady}, {bands.at_risk})",
        )

    total = 0
    for name, component in config.components.items():
        base: Path_ = ("components", name)
        if component.weight < 0:
            add((*base, "weight"), f"a weight cannot be negative (found {component.weight})")
        elif component.weight > TOTAL_POINTS:
            add((*base, "weight"), f"a weight cannot be more than {TOTAL_POINTS}")
        total += component.weight
        if component.states is not None:
            for index, state in enumerate(component.states):
                if states is not None and state not in states:
                    known = ", ".join(states)
                    add(
                        (*base, "states", index),
                        f"unknown or final state {state!r}; the open states are {known}",
                    )
        if isinstance(component, ResponsivenessComponent):
            per_link = component.points_per_expired_link
            if per_link < 0 or per_link > max(component.weight, 0):
                add(
                    (*base, "points_per_expired_link"),
                    f"must be from 0 to the weight ({component.weight})",
                )
        problems.extend(_check_steps(component, base, file, positions))
    if total != TOTAL_POINTS:
        add(
            ("components",),
            f"the weights add up to {total}; they must add up to {TOTAL_POINTS} "
            "so that a partnership losing nothing scores 100",
        )
    return problems


def _check_steps(
    component: _Component, base: Path_, file: str, positions: _Positions
) -> list[Problem]:
    problems: list[Problem] = []
    key = component.STEP_KEY
    increasing = component.STEP_ORDER == "increasing"
    previous: Any = None
    for index, step in enumerate(component.step_list()):
        path: Path_ = (*base, "steps", index)

        def add(where: Path_, message: str) -> None:
            problems.append(Problem(file, positions.line(where), _where(where), message))

        if step.points < 0:
            add((*path, "points"), f"points lost cannot be negative (found {step.points})")
        elif step.points > component.weight >= 0:
            add(
                (*path, "points"),
                f"a step cannot lose more than the component's weight ({component.weight})",
            )
        value = getattr(step, key)
        if previous is not None:
            previous_value = getattr(previous, key)
            in_order = value > previous_value if increasing else value < previous_value
            if not in_order:
                direction = "greater" if increasing else "smaller"
                add(
                    (*path, key),
                    f"steps out of order: {key} {value} must be {direction} than the "
                    f"step before ({previous_value})",
                )
            elif step.points < previous.points:
                add(
                    (*path, "points"),
                    f"a later step cannot lose fewer points than the step before "
                    f"({step.points} < {previous.points})",
                )
        previous = step
    return problems


@dataclass(frozen=True)
class LoadedConfig:
    """The configuration in use and the file it came from."""

    config: HealthConfig
    source: str


def config_path(directory: Path) -> Path:
    """Where the health configuration lives: beside the workflow files."""
    return directory / FILE_NAME


def load_config(directory: Path, states: Collection[str] | None = None) -> LoadedConfig:
    """Load `health.yaml` from the workflows folder (the shipped one when it has none).

    Raises HealthConfigError with every problem of a broken file.
    """
    path = config_path(directory)
    if not path.exists():
        path = default_config_path()
    shown = _display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise HealthConfigError(
            [Problem(shown, None, "", f"cannot read the file: {exc.strerror}")]
        ) from exc
    config, problems = parse_text(text, shown, states)
    if config is None:
        raise HealthConfigError(problems)
    return LoadedConfig(config, shown)


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def default_config_path() -> Path:
    """The configuration shipped with the application (workflows/health.yaml)."""
    from crm.config import PROJECT_ROOT

    return PROJECT_ROOT / "workflows" / FILE_NAME
