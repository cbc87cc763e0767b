"""An issued version never changes: its PDF, hash and what it rendered are written once.

The sealed copy is written once too (when every party has signed) and never changed
afterwards. Refused both when an ORM object is flushed and when an UPDATE statement run
through the session (`sa.update(AgreementVersion)...`) sets one of these columns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from crm.agreements.models import AgreementVersion
from crm.extensions import CRMSession

# Written when the version is issued; never again.
ISSUED = ("agreement_id", "number", "language", "values", "pdf", "sha256", "pages", "issued_at")
# Written once when the version is sealed; never again.
SEALED = ("sealed_pdf", "sealed_sha256", "sealed_at")


class ImmutableVersion(Exception):
    """Someone tried to change what an issued (or sealed) version holds."""


@sa.event.listens_for(AgreementVersion, "before_update")
def _refuse_changes(mapper: Any, connection: sa.Connection, target: AgreementVersion) -> None:
    state: sa.orm.InstanceState[AgreementVersion] = sa.inspect(target)
    changed = [name for name in ISSUED if state.attrs[name].history.has_changes()]
    if changed:
        raise ImmutableVersion(
            f"agreement version {target.id} is issued: {', '.join(changed)} cannot change"
        )
    if not any(state.attrs[name].history.has_changes() for name in SEALED):
        return
    # Read what the database holds: the object's own old value may not have been loaded.
    stored = connection.execute(
        sa.select(AgreementVersion.sealed_sha256, AgreementVersion.sealed_at).where(
            AgreementVersion.id == target.id
        )
    ).one()
    if stored.sealed_sha256 or stored.sealed_at is not None:
        raise ImmutableVersion(f"agreement version {target.id} is sealed: its copy cannot change")


@sa.event.listens_for(CRMSession, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state: sa.orm.ORMExecuteState) -> None:
    if not orm_execute_state.is_update:
        return
    statement = orm_execute_state.statement
    # An ORM-enabled UPDATE names an annotated copy of the table: compare by name.
    if getattr(getattr(statement, "table", None), "name", None) != AgreementVersion.__tablename__:
        return
    columns = {str(getattr(key, "key", key)) for key in _set_columns(statement)}
    refused = sorted(columns & {*ISSUED, *SEALED})
    if refused:
        raise ImmutableVersion(f"agreement versions cannot be updated in bulk: {refused}")


def _set_columns(statement: Any) -> list[Any]:
    """The columns an UPDATE statement sets."""
    values = getattr(statement, "_values", None) or {}
    multi = getattr(statement, "_multi_values", None) or ()
    ordered = getattr(statement, "_ordered_values", None) or ()
    keys = list(values)
    for rows in multi:
        for row in rows:
            keys += list(row) if isinstance(row, dict) else []
    keys += [key for key, _value in ordered]
    return keys
