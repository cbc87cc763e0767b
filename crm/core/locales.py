"""Country and language names from Babel's CLDR data, in the user's language."""

from __future__ import annotations

from babel import Locale
from flask import current_app
from flask_babel import get_locale

# EU and EEA members and candidate countries first; any ISO code is accepted.
EUROPEAN_COUNTRIES = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
    "IS",
    "LI",
    "NO",
    "CH",
    "GB",
    "AL",
    "BA",
    "ME",
    "MK",
    "RS",
    "TR",
    "UA",
    "MD",
]

# Languages a contact may prefer for e-mails and link pages.
CONTACT_LANGUAGES = [
    "en",
    "de",
    "fr",
    "nl",
    "pt",
    "es",
    "it",
    "el",
    "pl",
    "ro",
    "cs",
    "sk",
    "sl",
    "hr",
    "hu",
    "bg",
    "da",
    "sv",
    "fi",
    "et",
    "lv",
    "lt",
    "mt",
    "ga",
    "tr",
    "sq",
    "sr",
    "uk",
]


# The language a contact in a country most likely prefers, as a default for new contacts.
COUNTRY_LANGUAGES = {
    "AT": "de",
    "DE": "de",
    "LI": "de",
    "CH": "de",
    "LU": "fr",
    "BE": "nl",
    "NL": "nl",
    "FR": "fr",
    "PT": "pt",
    "ES": "es",
    "IT": "it",
    "MT": "mt",
    "GR": "el",
    "CY": "el",
    "PL": "pl",
    "CZ": "cs",
    "SK": "sk",
    "SI": "sl",
    "HR": "hr",
    "HU": "hu",
    "RO": "ro",
    "BG": "bg",
    "DK": "da",
    "SE": "sv",
    "FI": "fi",
    "EE": "et",
    "LV": "lv",
    "LT": "lt",
    "IE": "en",
    "GB": "en",
    "TR": "tr",
    "AL": "sq",
    "RS": "sr",
    "UA": "uk",
}


def language_for_country(country: str) -> str:
    """The likely language of contacts in a country (English when unknown)."""
    language = COUNTRY_LANGUAGES.get(country.upper(), "en")
    return language if language in CONTACT_LANGUAGES else "en"


def _ui_locale() -> Locale:
    return get_locale() or Locale.parse("en")


def country_name(code: str) -> str:
    """The country's name in the user's language, or the code if unknown."""
    return str(_ui_locale().territories.get(code.upper(), code))


def country_choices() -> list[tuple[str, str]]:
    """European countries, sorted by their translated names."""
    names = _ui_locale().territories
    return sorted(((c, str(names.get(c, c))) for c in EUROPEAN_COUNTRIES), key=lambda p: p[1])


def language_name(code: str) -> str:
    """A language's name in the user's language."""
    return str(_ui_locale().languages.get(code, code))


def contact_language_choices() -> list[tuple[str, str]]:
    """Languages a contact may prefer, sorted by translated name."""
    names = _ui_locale().languages
    return sorted(
        ((c, str(names.get(c) or c).capitalize()) for c in CONTACT_LANGUAGES), key=lambda p: p[1]
    )


def ui_language_choices() -> list[tuple[str, str]]:
    """The interface languages configured, each named in its own language."""
    return [
        (code, (Locale.parse(code).get_display_name(code) or code).capitalize())
        for code in current_app.config["CRM_LANGUAGES"]
    ]
