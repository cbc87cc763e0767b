"""Agreements: prepared from a placement or a partnership, issued as immutable versions,
signed by every party. (Stubs by the lead; the "agreements" helper writes them.)"""

from __future__ import annotations

import datetime as dt

from crm.agreements.models import Agreement
from crm.auth.models import User


def issue_version(
    agreement: Agreement, *, acting: User | None, now: dt.datetime | None = None
) -> None:
    """Render version N+1, supersede N, create the signers and send their links."""
    raise NotImplementedError


def advance_subject(agreement: Agreement, *, now: dt.datetime | None = None) -> None:
    """Move the placement or partnership on now that the agreement is signed."""
    raise NotImplementedError


def issue_for_placement(placement: object, *, acting: User | None, now: dt.datetime) -> None:
    """Prepare the placement's agreement from its data and issue it."""
    raise NotImplementedError
