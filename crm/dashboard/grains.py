"""Which dimensions each dashboard metric is counted by, and at which grains it is stored.

A grain is named by the letters of the dimensions it keeps, in the order "psco": programme,
sector, country, officer ("" keeps none: totals per month and key). A metric is counted from
the records at its base grains (the finest that answers any mix of filters, one row per few
records), then summed into coarser grains: totals, one filter, and sector with country. The
page reads the smallest stored grain that keeps every dimension filtered: a few hundred rows
without filters or with one, the finest grain's rows of one officer or one programme (through
their indexes) with more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# The dimensions a filter chooses, with their letter in a grain's name and their column.
DIMENSIONS = {"programme": "p", "sector": "s", "country": "c", "officer": "o"}
DIMENSION_COLUMNS = {
    "programme": "programme_id",
    "sector": "sector",
    "country": "country",
    "officer": "officer_id",
}
LETTER_COLUMNS = {DIMENSIONS[name]: column for name, column in DIMENSION_COLUMNS.items()}
# Among grains of one size, sum from the one with the fewest values first (sectors: 21).
PREFERENCE = "scpo"


def grain_of(dimensions: Iterable[str]) -> str:
    """The name of the grain keeping these dimensions (names or letters), in "psco" order."""
    kept = {DIMENSIONS.get(name, name) for name in dimensions}
    return "".join(letter for letter in DIMENSIONS.values() if letter in kept)


@dataclass(frozen=True)
class Metric:
    """A metric: the filters it honours, the dimensions the page always groups it by
    (skills and inclusion per programme, workload per officer), the grains it is counted
    at from the records (`base`) and the coarser ones summed from those (`derived`)."""

    dimensions: tuple[str, ...]
    base: tuple[str, ...]
    derived: tuple[str, ...] = ()
    always: tuple[str, ...] = ()

    @property
    def grains(self) -> tuple[str, ...]:
        return (*self.base, *self.derived)

    def grain_for(self, filtered: Iterable[str]) -> str | None:
        """The smallest stored grain keeping every filtered dimension the metric honours
        (None: no stored grain can answer them)."""
        wanted = set(grain_of({*self.always, *(d for d in filtered if d in self.dimensions)}))
        fitting = [grain for grain in self.grains if wanted <= set(grain)]
        return min(fitting, key=_size, default=None)

    def sources(self) -> list[tuple[str, str]]:
        """(derived grain, the grain it is summed from), each source before its uses."""
        plan = []
        for grain in sorted(self.derived, key=_size, reverse=True):
            larger = [g for g in self.grains if set(grain) < set(g)]
            plan.append((grain, min(larger, key=_size)))
        return plan


def _size(grain: str) -> tuple[int, list[int]]:
    return len(grain), sorted(PREFERENCE.index(letter) for letter in grain)


PARTNERSHIP_DIMENSIONS = ("sector", "country", "officer")
PLACEMENT_DIMENSIONS = ("programme", "sector", "country", "officer")
LEARNER_DIMENSIONS = ("programme", "officer")
METRICS: dict[str, Metric] = {
    "p": Metric(PARTNERSHIP_DIMENSIONS, ("sco",), ("sc", "o", "s", "c", "")),
    "pl": Metric(PLACEMENT_DIMENSIONS, ("psco",), ("sc", "p", "o", "s", "c", "")),
    "satisfaction": Metric(PLACEMENT_DIMENSIONS, ("psco",), ("sc", "p", "o", "s", "c", "")),
    "skills": Metric(
        PLACEMENT_DIMENSIONS, ("psco",), ("psc", "po", "ps", "pc", "p"), ("programme",)
    ),
    "learners": Metric(LEARNER_DIMENSIONS, ("po",), ("p",), ("programme",)),
    "placed": Metric(LEARNER_DIMENSIONS, ("po",), ("p",), ("programme",)),
    "workload": Metric(("officer",), ("o",), (), ("officer",)),
}


def chosen_dimensions(
    programme_id: int | None, sector: str | None, country: str | None, officer_id: int | None
) -> dict[str, Any]:
    """The dimensions a set of filters chooses, with their values."""
    values = {
        "programme": programme_id,
        "sector": sector,
        "country": country,
        "officer": officer_id,
    }
    return {name: value for name, value in values.items() if value not in (None, "")}
