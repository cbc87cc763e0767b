"""Text folding for search and duplicate keys: case-, accent- and punctuation-insensitive."""

from __future__ import annotations

import re
import unicodedata

# Anything that is not a letter or digit of any script separates words.
_NON_WORD = re.compile(r"[\W_]+")
# Latin letters that Unicode does not decompose into a base letter and an accent.
_TRANSLITERATE = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ı": "i", "ħ": "h"}
)


def fold(text: str) -> str:
    """Lower-case, strip accents and turn punctuation into single spaces.

    "Łódź" and "lodz" fold alike; letters of other scripts (Greek, Cyrillic) are kept
    without their accents, so "Αθήνα" is found by "αθηνα".
    """
    lowered = text.casefold().translate(_TRANSLITERATE)
    decomposed = unicodedata.normalize("NFKD", lowered)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped).strip()


def search_terms(query: str) -> list[str]:
    """The folded words of a search box entry (at most eight, each at least one character)."""
    return fold(query).split()[:8]


def like_pattern(term: str) -> str:
    """A LIKE pattern that finds `term` anywhere; folded terms hold no LIKE wildcards."""
    return f"%{term}%"
