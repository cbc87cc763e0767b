"""Registries of named guards and effects, and of the record types workflows run on.

Guards and effects are registered in code and referenced by name from the YAML files, with
parameters validated by a pydantic model per guard or effect. Later areas (placements,
agreements, links, e-mail) add their own with the same decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    """For guards and effects that take no parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class GuardSpec:
    """A named condition: `check(params, facts, context)` returns None or a sentence."""

    name: str
    params: type[BaseModel]
    check: Callable[..., str | None]
    records: frozenset[str]
    description: str = ""


@dataclass(frozen=True)
class EffectSpec:
    """A named action run after a transition, writing rows in the same transaction."""

    name: str
    params: type[BaseModel]
    apply: Callable[..., None]
    records: frozenset[str]
    description: str = ""


@dataclass(frozen=True)
class RecordType:
    """A kind of record that runs on a workflow: its guard-visible fields and relations."""

    name: str
    fields: dict[str, Any] = field(default_factory=dict)  # field name -> translatable label
    relations: dict[str, str] = field(default_factory=dict)  # relation -> record type


GUARDS: dict[str, GuardSpec] = {}
EFFECTS: dict[str, EffectSpec] = {}
RECORD_TYPES: dict[str, RecordType] = {}
ALL_RECORDS = frozenset({"partnership", "placement", "agreement"})


def register_record_type(record_type: RecordType) -> RecordType:
    """Declare a record type workflows may run on."""
    RECORD_TYPES[record_type.name] = record_type
    return record_type


def guard(
    name: str,
    params: type[BaseModel] = NoParams,
    records: frozenset[str] = ALL_RECORDS,
    description: str = "",
) -> Callable[[Callable[..., str | None]], Callable[..., str | None]]:
    """Register a guard under `name`."""

    def decorator(check: Callable[..., str | None]) -> Callable[..., str | None]:
        GUARDS[name] = GuardSpec(name, params, check, records, description or (check.__doc__ or ""))
        return check

    return decorator


def effect(
    name: str,
    params: type[BaseModel] = NoParams,
    records: frozenset[str] = ALL_RECORDS,
    description: str = "",
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register an effect under `name`."""

    def decorator(apply: Callable[..., None]) -> Callable[..., None]:
        EFFECTS[name] = EffectSpec(
            name, params, apply, records, description or (apply.__doc__ or "")
        )
        return apply

    return decorator


def load_builtin() -> None:
    """Import the modules that register the built-in record types, guards and effects."""
    from crm.workflow import effects, guards, records  # noqa: F401


def params_of(spec: GuardSpec | EffectSpec, raw: dict[str, Any]) -> BaseModel:
    """Validate raw YAML parameters against a guard's or effect's model."""
    return spec.params.model_validate(raw)
