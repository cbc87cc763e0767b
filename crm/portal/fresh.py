"""'Send me a fresh link' (to be written)."""

from __future__ import annotations

from crm.links.models import ActionLink


def request_fresh_link(link: ActionLink) -> None:
    """Placeholder."""
