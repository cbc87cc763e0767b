"""Readers for the partnership pages, so that tests assert what a user sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

from tests.core.helpers import section

_TAG = re.compile(r"<[^>]+>")
_TRANSITION_FORM = re.compile(
    r'<form method="post" action="(?P<action>[^"]+)" class="mb-2 transition-form" '
    r'data-transition="(?P<name>\w+)">(?P<body>.*?)</form>',
    re.S,
)
_BUTTON = re.compile(
    r'<button type="submit" class="btn btn-(?P<style>[\w-]+)"\s*(?P<disabled>disabled)?>'
    r"(?P<label>.*?)</button>",
    re.S,
)
_REASONS = re.compile(r'<ul class="[^"]*blocked-reasons">(.*?)</ul>', re.S)
_ITEM = re.compile(r"<li>(.*?)</li>", re.S)
_COLUMN = re.compile(
    r'<section class="board-column card" id="column-(?P<state>\w+)"[^>]*>(?P<body>.*?)</section>',
    re.S,
)
_CARD = re.compile(
    r'<a class="board-card d-block [^"]*?(?P<late>board-card-late)?\s*" href="[^"]+">\s*'
    r'<span class="fw-medium d-block">(?P<name>.*?)</span>',
    re.S,
)


def plain(html: str) -> str:
    """Text without tags and with collapsed white space."""
    return " ".join(unescape(_TAG.sub(" ", html)).split())


@dataclass(frozen=True)
class Step:
    """One button under "Next steps"."""

    label: str
    style: str
    available: bool
    reasons: list[str]
    has_comment: bool


def next_steps(html: str) -> dict[str, Step]:
    """The transition buttons of a partnership page, by transition name."""
    steps = {}
    for form in _TRANSITION_FORM.finditer(html):
        body = form.group("body")
        button = _BUTTON.search(body)
        assert button, f"no button in the form for {form.group('name')}"
        reasons = _REASONS.search(body)
        steps[form.group("name")] = Step(
            label=plain(button.group("label")),
            style=button.group("style"),
            available=button.group("disabled") is None,
            reasons=[plain(r) for r in _ITEM.findall(reasons.group(1))] if reasons else [],
            has_comment='name="comment"' in body,
        )
    return steps


@dataclass(frozen=True)
class Column:
    """One stage on the board."""

    count: int
    overdue: int
    cards: list[str]
    late: list[str]


def board_columns(html: str) -> dict[str, Column]:
    """The board's columns, by state, in page order."""
    columns = {}
    for match in _COLUMN.finditer(html):
        body = match.group("body")
        count = re.search(r'<span class="badge text-bg-secondary column-count">(\d+)</span>', body)
        overdue = re.search(r'<span class="badge text-bg-danger" title="[^"]*">(\d+)</span>', body)
        cards = list(_CARD.finditer(body))
        assert count
        columns[match.group("state")] = Column(
            count=int(count.group(1)),
            overdue=int(overdue.group(1)) if overdue else 0,
            cards=[unescape(c.group("name")) for c in cards],
            late=[unescape(c.group("name")) for c in cards if c.group("late")],
        )
    return columns


def timeline(html: str) -> list[str]:
    """The timeline entries, top to bottom, as "kind: text"."""
    entries = re.findall(
        r'<li class="timeline-entry [^"]*kind-(\w+)">(.*?)</li>',
        section(html, "timeline", "ol"),
        re.S,
    )
    return [f"{kind}: {plain(body)}" for kind, body in entries]


_VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}


class _Children(HTMLParser):
    """Collects the text of each child element of the element with a given id."""

    def __init__(self, element_id: str) -> None:
        super().__init__()
        self.element_id = element_id
        self.depth = 0  # 0: outside; 1: inside the element; 2+: inside a child
        self.children: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            return
        if self.depth == 0:
            if dict(attrs).get("id") == self.element_id:
                self.depth = 1
            return
        self.depth += 1
        if self.depth == 2:
            self.children.append([])

    def handle_endtag(self, tag: str) -> None:
        if self.depth and tag not in _VOID:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth >= 2:
            self.children[-1].append(data)


def child_texts(html: str, element_id: str) -> list[str]:
    """The text of each child of the element with this id (e.g. the items of a list)."""
    parser = _Children(element_id)
    parser.feed(html)
    return [" ".join("".join(parts).split()) for parts in parser.children]
