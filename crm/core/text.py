"""Text folding for search and duplicate keys: case-, accent- and punctuation-insensitive."""

from __future__ import annotations

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Lower-case, strip accents and turn punctuation into single spaces."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_ALNUM.sub(" ", stripped).strip()


def search_terms(query: str) -> list[str]:
    """The folded words of a search box entry (at most eight, each at least one character)."""
    return fold(query).split()[:8]


def like_pattern(term: str) -> str:
    """A LIKE pattern that finds `term` anywhere; folded terms hold no LIKE wildcards."""
    return f"%{term}%"
