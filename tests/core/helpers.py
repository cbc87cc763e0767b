"""Small readers for the HTML the pages send, so that tests assert what a user sees."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import sqlalchemy as sa

from crm.extensions import db

_FIELD = re.compile(r"<(?:input|select|textarea)\b([^>]*)>", re.S)
_ATTR = re.compile(r'([\w:-]+)(?:="([^"]*)")?')
_FLASH = re.compile(r'<div class="alert alert-(\w+)" role="status">(.*?)</div>', re.S)
_ORGANISATION_LINK = re.compile(r'<a href="/organisations/\d+" class="fw-medium">(.*?)</a>', re.S)
_CONTACT_LINK = re.compile(r'<a href="/contacts/\d+" class="fw-medium">(.*?)</a>', re.S)


def text(response: Any) -> str:
    """The body of a response as text."""
    return str(response.get_data(as_text=True))


def form_field(html: str, name: str) -> dict[str, str]:
    """The attributes of the form control named `name`."""
    for match in _FIELD.finditer(html):
        attrs = {key: unescape(value or "") for key, value in _ATTR.findall(match.group(1))}
        if attrs.get("name") == name:
            return attrs
    raise AssertionError(f"no form field named {name!r} on the page")


def is_invalid(html: str, name: str) -> bool:
    """Whether the control is marked invalid (red border)."""
    return "is-invalid" in form_field(html, name).get("class", "").split()


def field_error(html: str, name: str) -> str | None:
    """The error message shown under the control, if any."""
    field_id = form_field(html, name)["id"]
    match = re.search(
        rf'<div class="invalid-feedback" id="{re.escape(field_id)}-error">(.*?)</div>', html, re.S
    )
    return unescape(match.group(1)).strip() if match else None


def flashes(html: str) -> list[str]:
    """The flash messages at the top of the page."""
    return [unescape(message).strip() for _category, message in _FLASH.findall(html)]


def listed_organisations(html: str) -> list[str]:
    """Organisation names in the order the list (or search) page shows them."""
    return [unescape(name) for name in _ORGANISATION_LINK.findall(html)]


def listed_contacts(html: str) -> list[str]:
    """Contact names in the order the list (or search) page shows them."""
    return [unescape(name) for name in _CONTACT_LINK.findall(html)]


def section(html: str, element_id: str, tag: str) -> str:
    """The HTML of the `<tag id="element_id">` element (which must not nest another `tag`)."""
    start = html.find(f'id="{element_id}"')
    assert start != -1, f"no element with id {element_id!r} on the page"
    end = html.find(f"</{tag}>", start)
    assert end != -1, f"element {element_id!r} is not closed"
    return html[html.rfind("<", 0, start) : end + len(tag) + 3]


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of `model` the database holds (optionally filtered)."""
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0)


def fresh(obj: Any) -> Any:
    """Reload an object from the database after a request changed it."""
    db.session.refresh(obj)
    return obj


def database_state() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request changed nothing."""
    db.session.expire_all()
    return {
        table.name: sorted((tuple(row) for row in db.session.execute(sa.select(table))), key=repr)
        for table in db.metadata.sorted_tables
    }
