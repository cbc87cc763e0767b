"""The sealed copy of a signed version. (Stub by the lead; the "signing" helper writes it.)"""

from __future__ import annotations

import datetime as dt

from crm.agreements.models import Agreement


def seal_current_version(agreement: Agreement, *, now: dt.datetime | None = None) -> None:
    """Append the evidence page to the signed version and store the copy and its hash."""
    raise NotImplementedError
