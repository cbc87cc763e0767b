"""Pagination of list pages: one COUNT and one page query, whatever the table size."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from crm.extensions import db

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of results with what the pager needs."""

    items: Sequence[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)


def paginate(
    query: sa.Select[Any],
    page: int,
    per_page: int,
    count_query: sa.Select[Any] | None = None,
) -> Page[Any]:
    """Run `query` for one page, and a COUNT of all its rows.

    `count_query`, when given, is a lean `SELECT count(*) …` with the same filters but without
    the joins only the page needs (eager loads, display columns); otherwise the count wraps
    `query` without its order.
    """
    page = max(1, page)
    if count_query is None:
        count_query = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = db.session.scalar(count_query) or 0
    last_page = max(1, math.ceil(total / per_page))
    page = min(page, last_page)
    items = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return Page(items=items, page=page, per_page=per_page, total=total)


def page_number(raw: str | None) -> int:
    """A page number from the query string; nonsense means the first page."""
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1
