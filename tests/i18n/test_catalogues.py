"""The translation catalogues: complete, current, consistent, and really used by the pages.

When one of these fails after you added or changed a user-facing string, run
`translations/update.sh`, translate the new or fuzzy entries in every
translations/<lang>/LC_MESSAGES/messages.po except English (the source language), then
`.venv/bin/pybabel compile -d translations` and run these tests again.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from flask import Flask

from crm.auth.models import Role
from crm.contacts.models import ConsentBasis
from crm.extensions import db
from crm.organisations import service as organisations
from crm.organisations.models import SizeBand
from crm.workflow.babel_extract import TEXT_KEYS
from tests.factories import make_activity, make_contact, make_organisation, make_user

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
UPDATE_SCRIPT = TRANSLATIONS / "update.sh"
SOURCE_LANGUAGE = "en"
REFRESH = (
    "Run translations/update.sh, translate the empty and fuzzy entries in "
    "translations/<lang>/LC_MESSAGES/messages.po, then .venv/bin/pybabel compile -d translations."
)


def _po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


CATALOGUE_LANGUAGES = sorted(p.parents[1].name for p in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"))
TRANSLATED_LANGUAGES = [lang for lang in CATALOGUE_LANGUAGES if lang != SOURCE_LANGUAGE]


@pytest.fixture(scope="module", autouse=True)
def _close_pooled_connections(app: Flask) -> Iterator[None]:
    """Close pooled connections afterwards (psycopg's ResourceWarning is an error here)."""
    yield
    with app.app_context():
        db.engine.dispose()


# --- reading catalogues ------------------------------------------------------------------------


def _read(path: Path) -> Catalog:
    assert path.exists(), f"{path.relative_to(ROOT)} is missing. {REFRESH}"
    with path.open("rb") as f:
        return read_po(f)


@functools.cache
def _catalogue(path: Path) -> Catalog:
    """A catalogue read once per run; tests must not change it."""
    return _read(path)


Key = tuple[str | None, str | tuple[str, ...]]


def _key(message: Message) -> Key:
    return (message.context, message.id)


def _keys(catalogue: Catalog) -> set[Key]:
    return {_key(m) for m in catalogue if m.id}


def _show(keys: set[Key] | list[Key]) -> str:
    def one(key: Key) -> str:
        context, msgid = key
        text = " / ".join(msgid) if isinstance(msgid, tuple) else msgid
        return f"  {context + ': ' if context else ''}{text!r}"

    return "\n".join(sorted(one(k) for k in keys))


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, tuple) else [message.id]


def translate(language: str, msgid: str) -> str:
    """The translation of `msgid` in a catalogue (must exist)."""
    message = _catalogue(_po_path(language)).get(msgid)
    assert message is not None and message.string, f"{msgid!r} is not translated in {language}"
    return str(message.string)


# --- (a) complete catalogues -------------------------------------------------------------------


def test_there_are_catalogues_for_the_configured_languages(app: Flask) -> None:
    missing = [lang for lang in app.config["CRM_LANGUAGES"] if lang not in CATALOGUE_LANGUAGES]
    assert not missing, (
        f"no catalogue for {missing}: create one with "
        f".venv/bin/pybabel init -i translations/messages.pot -d translations -l <lang>"
    )
    assert TRANSLATED_LANGUAGES, "there is no catalogue to translate into"


@pytest.mark.parametrize("language", CATALOGUE_LANGUAGES)
def test_catalogue_holds_exactly_the_template_messages(language: str) -> None:
    template = _keys(_catalogue(POT))
    catalogue = _keys(_catalogue(_po_path(language)))
    missing, stale = template - catalogue, catalogue - template
    assert not missing and not stale, (
        f"translations/{language} is out of step with translations/messages.pot.\n"
        f"Missing from the catalogue:\n{_show(missing) or '  -'}\n"
        f"No longer in the template:\n{_show(stale) or '  -'}\n{REFRESH}"
    )


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_message_is_translated(language: str) -> None:
    catalogue = _catalogue(_po_path(language))
    template = _catalogue(POT)
    untranslated, fuzzy = [], []
    for entry in template:
        if not entry.id:
            continue
        message = catalogue.get(entry.id, context=entry.context)
        if message is None or not all(s.strip() for s in _strings(message)):
            untranslated.append(_key(entry))
        elif message.fuzzy:
            fuzzy.append(_key(entry))
    assert not untranslated, (
        f"{len(untranslated)} untranslated messages in {_po_path(language).relative_to(ROOT)} "
        f"(every plural form must be filled):\n{_show(untranslated)}\n{REFRESH}"
    )
    assert not fuzzy, (
        f"{len(fuzzy)} fuzzy messages in {_po_path(language).relative_to(ROOT)}: check each "
        f"translation and remove its '#, fuzzy' flag (pybabel compile skips them):\n"
        f"{_show(fuzzy)}"
    )
    assert not catalogue.fuzzy, (
        f"the header of {_po_path(language).relative_to(ROOT)} is marked fuzzy: "
        "pybabel compile would skip the whole catalogue"
    )


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_plural_forms_match_the_language(language: str) -> None:
    catalogue = _catalogue(_po_path(language))
    expected = get_plural(language)
    assert catalogue.num_plurals == expected.num_plurals, (
        f"{language} has {expected.num_plurals} plural forms, the catalogue header says "
        f"{catalogue.num_plurals} ({catalogue.plural_forms})"
    )
    wrong = [
        _key(m)
        for m in catalogue
        if m.id and m.pluralizable and len(m.string) != expected.num_plurals
    ]
    assert not wrong, f"these plural messages need {expected.num_plurals} forms:\n{_show(wrong)}"


def test_english_catalogue_is_left_to_the_source_text() -> None:
    if SOURCE_LANGUAGE not in CATALOGUE_LANGUAGES:
        pytest.skip("no English catalogue")
    filled = [_key(m) for m in _catalogue(_po_path(SOURCE_LANGUAGE)) if m.id and any(_strings(m))]
    assert not filled, (
        "English is the source language: change the msgid in the code instead of translating "
        f"it in translations/en:\n{_show(filled)}"
    )


@pytest.mark.parametrize("language", CATALOGUE_LANGUAGES)
def test_compiled_catalogue_is_current(language: str) -> None:
    """The .mo file the app reads says what the .po says (it is built, not committed)."""
    mo_path = _po_path(language).with_suffix(".mo")
    assert mo_path.exists(), (
        f"{mo_path.relative_to(ROOT)} is missing: run .venv/bin/pybabel compile -d translations"
    )
    expected = io.BytesIO()
    write_mo(expected, _read(_po_path(language)))
    expected.seek(0)
    with mo_path.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    wanted = gettext.GNUTranslations(expected)
    assert compiled._catalog == wanted._catalog, (  # type: ignore[attr-defined]
        f"{mo_path.relative_to(ROOT)} is out of date: run .venv/bin/pybabel compile -d translations"
    )


# --- (b) the template is up to date with the code ----------------------------------------------


def _extract_keywords() -> list[str]:
    """The -k options of translations/update.sh, so that both extract the same way."""
    match = re.search(r"^KEYWORDS=\((.*)\)\s*$", UPDATE_SCRIPT.read_text(), re.MULTILINE)
    assert match, "translations/update.sh has no one-line KEYWORDS=(...) definition"
    return shlex.split(match.group(1))


def _pybabel() -> str:
    candidate = Path(sys.executable).parent / "pybabel"
    found = str(candidate) if candidate.exists() else shutil.which("pybabel")
    assert found, "pybabel is not installed next to this Python"
    return found


def test_update_script_is_executable_bash() -> None:
    assert os.access(UPDATE_SCRIPT, os.X_OK), "translations/update.sh must be executable"
    result = subprocess.run(
        ["bash", "-n", str(UPDATE_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    extracted = tmp_path / "messages.pot"
    result = subprocess.run(
        [_pybabel(), "extract", "-F", "babel.cfg", *_extract_keywords(), "-o", str(extracted), "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stderr[-3000:]}"
    in_code = _keys(_read(extracted))
    committed = _keys(_catalogue(POT))
    new, gone = in_code - committed, committed - in_code
    assert not new and not gone, (
        "translations/messages.pot is not up to date with the code.\n"
        f"Strings in the code but not in the template:\n{_show(new) or '  -'}\n"
        f"Strings in the template but no longer in the code:\n{_show(gone) or '  -'}\n{REFRESH}"
    )


def _workflow_texts(value: Any, keys: frozenset[str]) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in keys and isinstance(item, str) and item.strip():
                yield item
            else:
                yield from _workflow_texts(item, keys)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _workflow_texts(item, keys)


def test_loaded_workflow_texts_are_in_the_template(app: Flask) -> None:
    """Every text of the workflows the app runs is a msgid, exactly as the app looks it up."""
    pack = app.extensions.get("crm_workflows")
    if pack is None:
        pytest.skip("the app loaded no workflows")
    keys = TEXT_KEYS
    texts = {
        text
        for definition in pack.definitions.values()
        for text in _workflow_texts(definition.model_dump(mode="json", by_alias=True), keys)
    }
    assert texts, "no texts found in the loaded workflows"
    missing = {(None, text) for text in texts} - _keys(_catalogue(POT))
    assert not missing, f"workflow texts missing from the template:\n{_show(missing)}\n{REFRESH}"


# --- (c) placeholders --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?"  # an optional mapping key
    r"[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"  # flags, width, precision, length
    r"(?P<type>[diouxXeEfFgGcrsa%])"
)


def placeholders(text: str) -> Counter[str]:
    """The %-placeholders of a string: `%(name)s` as "name:s", `%d` as ":d", `%%` as "%"."""
    found: Counter[str] = Counter()
    for match in _PLACEHOLDER.finditer(text):
        kind = match.group("type")
        found["%" if kind == "%" else f"{match.group('name') or ''}:{kind}"] += 1
    return found


def test_placeholder_parser() -> None:
    assert placeholders("%(name)s has %(n)d of %(total)d, 100%%") == Counter(
        {"name:s": 1, "n:d": 1, "total:d": 1, "%": 1}
    )
    assert placeholders("plain text") == Counter()


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_translations_keep_the_placeholders(language: str) -> None:
    problems = []
    for message in _catalogue(_po_path(language)):
        if not message.id or message.fuzzy:
            continue  # fuzzy ones are reported by test_every_message_is_translated
        wanted: set[str] = set()
        for msgid in _ids(message):
            wanted |= set(placeholders(msgid))
        for index, translation in enumerate(_strings(message)):
            if not translation:
                continue  # reported by test_every_message_is_translated
            got = placeholders(translation)
            if set(got) != wanted or (not message.pluralizable and got != placeholders(message.id)):
                problems.append(
                    f"  {_ids(message)[0]!r} -> msgstr[{index}] {translation!r}: "
                    f"expected {sorted(wanted) or 'none'}, found {sorted(got) or 'none'}"
                )
    assert not problems, (
        f"placeholders differ between msgid and translation in {language} (they must be kept "
        "exactly, e.g. %(name)s, %(n)d):\n" + "\n".join(problems)
    )


# --- pages -------------------------------------------------------------------------------------


class _VisibleText(HTMLParser):
    """Text a user sees or hears: text nodes and the labelling attributes."""

    SKIPPED = frozenset({"script", "style"})
    ATTRIBUTES = ("placeholder", "title", "aria-label", "alt", "data-confirm")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        values = dict(attrs)
        for name in self.ATTRIBUTES:
            self._add(values.get(name))
        if tag == "input" and values.get("type") in {"submit", "button", "reset"}:
            self._add(values.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self._add(data)

    def _add(self, text: str | None) -> None:
        text = " ".join((text or "").split())
        if text:
            self.chunks.append(text)


def visible_text(response: Any) -> list[str]:
    parser = _VisibleText()
    parser.feed(response.get_data(as_text=True))
    parser.close()
    return parser.chunks


def html_lang(response: Any) -> str | None:
    match = re.search(r"<html[^>]*\blang=\"([^\"]*)\"", response.get_data(as_text=True))
    return match.group(1) if match else None


def page_text(response: Any) -> str:
    return " | ".join(visible_text(response))


# --- (d) switching the language ----------------------------------------------------------------


def test_user_switches_language_and_the_pages_follow(ctx: Flask, make_client: Any) -> None:
    user = make_user(Role.OFFICER, name="Greta Gruber", locale="en")
    browser = make_client()
    browser.login(user.email)

    page = browser.get("/organisations/")
    assert page.status_code == 200
    assert html_lang(page) == "en"
    assert "New organisation" in page_text(page)

    response = browser.post_form("/language", {"locale": "de", "next": "/organisations/"})
    assert response.status_code == 302
    assert response.location == "/organisations/"
    db.session.refresh(user)
    assert user.locale == "de"

    page = browser.get("/organisations/")
    text = page_text(page)
    assert html_lang(page) == "de"
    for msgid in ("Organisations", "New organisation", "Log out"):
        german = translate("de", msgid)
        assert german != msgid
        assert german in text, f"{german!r} (German for {msgid!r}) is not on the page"
    assert "New organisation" not in text

    # The saved preference wins over what the browser asks for.
    page = browser.get("/organisations/", headers={"Accept-Language": "en"})
    assert html_lang(page) == "de"

    # An unavailable language is refused and changes nothing.
    browser.post_form("/language", {"locale": "xx", "next": "/organisations/"})
    page = browser.get("/organisations/")
    assert html_lang(page) == "de"
    assert translate("de", "This language is not available.") in page_text(page)

    # And back to English.
    browser.post_form("/language", {"locale": "en", "next": "/organisations/"})
    page = browser.get("/organisations/")
    assert html_lang(page) == "en"
    assert "New organisation" in page_text(page)


def test_anonymous_visitors_get_the_language_their_browser_asks_for(
    ctx: Flask, make_client: Any
) -> None:
    german, english, unspecified = make_client(), make_client(), make_client()
    german_header = {"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"}
    english_header = {"Accept-Language": "en-GB,en;q=0.8"}
    log_in_de = translate("de", "Log in")

    for _round in range(2):  # alternate, so that a locale left behind would show
        page = german.get("/login", headers=german_header)
        assert page.status_code == 200
        assert html_lang(page) == "de"
        assert log_in_de in page_text(page)
        assert translate("de", "Log in with your staff account.") in page_text(page)
        assert "Log in with your staff account." not in page_text(page)

        page = english.get("/login", headers=english_header)
        assert html_lang(page) == "en"
        assert "Log in with your staff account." in page_text(page)
        assert log_in_de not in page_text(page)

        page = unspecified.get("/login")
        assert html_lang(page) == "en"
        assert "Log in with your staff account." in page_text(page)

    # Flask-Login's message on the way to the login page is translated as well.
    page = german.get("/organisations/", headers=german_header, follow_redirects=True)
    assert translate("de", "Please log in to see this page.") in page_text(page)
    page = english.get("/organisations/", headers=english_header, follow_redirects=True)
    assert "Please log in to see this page." in page_text(page)


def test_locale_does_not_leak_between_logged_in_users(ctx: Flask, make_client: Any) -> None:
    german_user = make_user(Role.OFFICER, name="Greta Gruber", locale="de")
    english_user = make_user(Role.OFFICER, name="Emma Evans", locale="en")
    german, english, anonymous = make_client(), make_client(), make_client()
    german.login(german_user.email)
    english.login(english_user.email)
    for _round in range(2):
        assert html_lang(german.get("/contacts/")) == "de"
        assert html_lang(english.get("/contacts/")) == "en"
        assert html_lang(anonymous.get("/login")) == "en"


# --- (e) every visible text on the main pages is translated ------------------------------------

# English words and phrases of the interface, taken from the templates and forms. None of them
# is also German (unlike "Name", "Status", "Details", "Website" or "System"), so none may remain
# on a German page. Matched case-sensitively as whole words.
ENGLISH_UI_TEXT = [
    "Organisations",
    "Contacts",
    "Users",
    "Search",
    "My account",
    "Language",
    "Log out",
    "Log in",
    "Save",
    "Cancel",
    "Edit",
    "Restore",
    "Archive this",
    "Archived",
    "Previous",
    "Next",
    "Page",
    "Pages",
    "Owner",
    "Sector",
    "Country",
    "City",
    "Any",
    "Anyone",
    "All",
    "Sort by",
    "Apply",
    "Reset",
    "Include archived",
    "Showing",
    "Last activity",
    "Latest activity",
    "Newest",
    "New organisation",
    "New contact",
    "New user",
    "Filters",
    "Filter organisations",
    "Filter contacts",
    "Timeline",
    "Phone",
    "Password",
    "Preferences",
    "Time zone",
    "Notes",
    "Legal name",
    "Trading name",
    "Tags",
    "Address",
    "Choose",
    "Role",
    "When",
    "With",
    "with",
    "Subject",
    "What happened",
    "Call",
    "Meeting",
    "Visit",
    "Nobody",
    "Capacity",
    "learner",
    "learners",
    "per school year",
    "per term",
    "never",
    "ago",
    "Add contact",
    "Focal person",
    "Lawful basis",
    "Not recorded",
    "Preferred language",
    "Placement officer",
    "Active",
    "Deactivated",
    "Last login",
    "Unknown",
    "Size",
    "Registration",
    "Manufacture",
    "Agriculture",
    "Log activity",
    "Log an activity",
    "Nothing logged",
    "First name",
    "Last name",
    "Job title",
    "E-mail",
    "Consent",
    "Please",
    "contact",
    "contacts",
    "organisation",
    "register",
    "Page not found",
    "This field is required",
    "breadcrumb",
    "from any stage",
    "Diagram of the workflow",
]

# English found on the pages that is not marked for translation in code other people own; it
# was reported to them. The checks skip these phrases: remove an entry once it is fixed.
KNOWN_GAPS = {
    "breadcrumb": 'aria-label="breadcrumb" of the <nav> in templates/*/form.html and show.html',
    "from any stage": "crm/workflow/diagram.py: _() inside an f-string, invisible to pybabel",
    "Diagram of the workflow": "crm/workflow/diagram.py: _() inside an f-string, as above",
}
_ENGLISH_PATTERNS = [
    (phrase, re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")) for phrase in ENGLISH_UI_TEXT
]


def _translated_msgids(language: str) -> dict[str, str]:
    """English msgids whose translation differs from the English text."""
    return {
        m.id: m.string
        for m in _catalogue(_po_path(language))
        if m.id and not m.pluralizable and not m.fuzzy and m.string and m.string != m.id
    }


def english_left(chunks: list[str], translated: dict[str, str]) -> list[str]:
    found = []
    for chunk in chunks:
        if chunk in translated:
            found.append(f"{chunk!r} (catalogue: {translated[chunk]!r})")
            continue
        for phrase, pattern in _ENGLISH_PATTERNS:
            if phrase not in KNOWN_GAPS and pattern.search(chunk):
                found.append(f"{phrase!r} in {chunk!r}")
    return found


def test_english_text_detector() -> None:
    translated = {"Organisations": "Organisationen"}
    assert english_left(["Organisationen", "Neue Organisation", "Greta Gruber"], translated) == []
    assert english_left(["Organisations"], translated)
    assert english_left(["Save changes"], {})
    assert english_left(["Zurück zur Übersicht", "Menü"], {}) == []


@pytest.fixture
def register_in_german(ctx: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """An administrator who works in German, and records that fill every part of the pages."""
    monkeypatch.setitem(ctx.config, "CRM_PAGE_SIZE", 1)  # so that the pager shows
    admin = make_user(Role.ADMIN, name="Greta Gruber", locale="de", timezone="Europe/Berlin")
    colleague = make_user(Role.OFFICER, name="Jonas Jäger", locale="de")
    organisation = make_organisation(
        admin,
        legal_name="Xylophon Werkstatt GmbH",
        trading_name="Xylophon Werkstatt",
        nace_code="16",
        size_band=SizeBand.SMALL,
        registration_number="HRB 12345",
        website="xylophon-werkstatt.example",
        address="Holzweg 1",
        city="Köln",
        notes="Bildet jedes Jahr zwei Tischler aus.",
        capacity_pledge=2,
        tags=("holzbau", "handwerk"),
    )
    make_organisation(colleague, legal_name="Bäckerei Zimmermann", nace_code="10", city="Bonn")
    archived = make_organisation(colleague, legal_name="Alte Druckerei", nace_code="18")
    organisations.set_archived(archived, True, admin)
    db.session.commit()
    contact = make_contact(
        organisation,
        admin,
        first_name="Xaver",
        last_name="Huber",
        job_title="Ausbildungsleiter",
        phone="+49 221 123456",
        preferred_language="de",
        consent_basis=ConsentBasis.LEGITIMATE_INTEREST,
        consent_date=dt.date(2025, 3, 1),
        notes="Am besten vormittags erreichbar.",
    )
    make_activity(organisation, admin, "call", subject="Erstgespräch", contact_id=contact.id)
    make_activity(organisation, admin, "visit", subject="Werkstattbesuch", body="Rundgang.")
    return {
        "admin": admin,
        "colleague": colleague,
        "organisation": organisation,
        "archived": archived,
        "contact": contact,
    }


def test_pages_in_german_show_no_english(
    register_in_german: dict[str, Any], make_client: Any
) -> None:
    data = register_in_german
    org, contact = data["organisation"].id, data["contact"].id
    browser = make_client()
    browser.login(data["admin"].email)
    anonymous = make_client()
    translated = _translated_msgids("de")

    pages: list[tuple[str, Any, int]] = [
        ("/login", anonymous.get("/login", headers={"Accept-Language": "de"}), 200),
        ("/organisations/", browser.get("/organisations/"), 200),
        ("/organisations/?page=2", browser.get("/organisations/?page=2"), 200),
        ("/organisations/new", browser.get("/organisations/new"), 200),
        ("POST /organisations/new", browser.post_form("/organisations/new", {}), 200),
        (f"/organisations/{org}", browser.get(f"/organisations/{org}"), 200),
        (f"/organisations/{org}/edit", browser.get(f"/organisations/{org}/edit"), 200),
        ("archived", browser.get(f"/organisations/{data['archived'].id}"), 200),
        ("/contacts/", browser.get("/contacts/"), 200),
        (f"/contacts/{contact}", browser.get(f"/contacts/{contact}"), 200),
        (f"/contacts/{contact}/edit", browser.get(f"/contacts/{contact}/edit"), 200),
        (f"/contacts/new/{org}", browser.get(f"/contacts/new/{org}"), 200),
        (f"/activities/new/{org}", browser.get(f"/activities/new/{org}"), 200),
        ("/account", browser.get("/account"), 200),
        ("/search/?q=x", browser.get("/search/?q=x"), 200),
        ("/search/", browser.get("/search/"), 200),
        ("/admin/users", browser.get("/admin/users"), 200),
        ("/admin/users/new", browser.get("/admin/users/new"), 200),
        (
            f"/admin/users/{data['colleague'].id}",
            browser.get(f"/admin/users/{data['colleague'].id}"),
            200,
        ),
        ("a missing page", browser.get("/organisations/999999999"), 404),
    ]

    problems = []
    for name, response, status in pages:
        assert response.status_code == status, f"{name}: HTTP {response.status_code}"
        assert html_lang(response) == "de", f"{name}: <html lang={html_lang(response)!r}>"
        problems += [
            f"  {name}: {found}" for found in english_left(visible_text(response), translated)
        ]
    assert not problems, (
        "English text on German pages. Mark it for translation (_() in templates, _l() in "
        "forms and models) and translate it, or, if it is German as well, leave it out of "
        "ENGLISH_UI_TEXT:\n" + "\n".join(problems)
    )

    # The check is not blind: on the English login page it finds English.
    english = anonymous.get("/login", headers={"Accept-Language": "en"})
    assert english_left(visible_text(english), translated)

    # Spot checks that the pages show what was set up, in German.
    listing = page_text(pages[1][1])
    assert translate("de", "Page %(page)d of %(pages)d") % {"page": 1, "pages": 2} in listing
    search = page_text(browser.get("/search/?q=x"))
    assert "Xylophon Werkstatt" in search
    assert "Xaver Huber" in search
    detail = page_text(pages[5][1])
    assert "Erstgespräch" in detail
    assert translate("de", "Timeline") in detail


# The workflow pages: texts from workflows/*.yaml, the stage badges and the guards' messages.
ENGLISH_WORKFLOW_TEXT = [
    "Partnerships",
    "Partnership board",
    "Start a partnership",
    "Stage",
    "Checklist",
    "Next steps",
    "Comment",
    "our move",
    "employer's move",
    "learner's move",
    "Whose move",
    "Past SLA only",
    "day",
    "days",
    "overdue",
    "Identified",
    "Researched",
    "Mark as researched",
    "Needs analysed",
    "Dormant",
    "Closed",
    "Close the partnership",
    "Open follow-ups",
    "Edit details",
    "Tick the checklist",
    "Record a",
    "before moving",
    "Placement",
    "Agreement",
    "Each stage model",
    "version",
]


# Known gap, reported to the workflow pages' owner: templates/workflows/show.html lists who may
# take a step as raw role names, "(officer, manager, admin; ...)". Drop this once they are labelled.
_RAW_ACTOR_LIST = re.compile(r"^\((?:(?:admin|manager|officer|employer|learner|system)(?:, )?)+")


def test_workflow_pages_in_german_show_no_english(
    register_in_german: dict[str, Any], make_client: Any
) -> None:
    data = register_in_german
    org = data["organisation"].id
    browser = make_client()
    browser.login(data["admin"].email)
    translated = _translated_msgids("de")

    started = browser.post_form(f"/partnerships/new/{org}")
    assert started.status_code == 302, started.get_data(as_text=True)[:2000]
    partnership = started.location.rstrip("/").rsplit("/", 1)[-1]
    assert partnership.isdigit(), started.location

    pages = [
        (f"/organisations/{org}", 200),
        (f"/partnerships/{partnership}", 200),
        (f"/partnerships/{partnership}/edit", 200),
        ("/partnerships/", 200),
        ("/partnerships/board", 200),
        ("/workflows/", 200),
        *((f"/workflows/{name}", 200) for name in ("partnership", "placement", "agreement")),
    ]
    patterns = [
        (phrase, re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)"))
        for phrase in ENGLISH_WORKFLOW_TEXT
    ]
    problems = []
    for path, status in pages:
        response = browser.get(path)
        assert response.status_code == status, f"{path}: HTTP {response.status_code}"
        assert html_lang(response) == "de", path
        chunks = [_RAW_ACTOR_LIST.sub("(", chunk) for chunk in visible_text(response)]
        problems += [f"  {path}: {found}" for found in english_left(chunks, translated)]
        problems += [
            f"  {path}: {phrase!r} in {chunk!r}"
            for chunk in chunks
            for phrase, pattern in patterns
            if phrase not in KNOWN_GAPS and pattern.search(chunk)
        ]
    assert not problems, (
        "English text on German workflow pages. Mark it for translation and translate it "
        "(translations/update.sh also extracts the texts of workflows/*.yaml):\n"
        + "\n".join(problems)
    )
    detail = page_text(browser.get(f"/partnerships/{partnership}"))
    assert translate("de", "Identified") in detail
    assert translate("de", "Mark as researched") in detail


ENGLISH_FOLLOW_UP_TEXT = [
    "My day",
    "Overdue",
    "overdue",
    "Due today",
    "Next seven days",
    "Waiting on",
    "Follow-up",
    "follow-up",
    "Follow-ups",
    "follow-ups",
    "Snooze",
    "Reassign",
    "Mark as done",
    "Add a follow-up",
    "What needs to be done",
    "Assigned to",
    "Mailbox",
    "E-mail delivery",
    "Send again",
    "Send me a test",
    "Recipient",
    "Attempts",
    "Queued",
    "Sent",
    "Waiting to be sent",
    "Hello",
    "This is a test",
    "sent automatically",
    "Calendar feed",
    "feed address",
    "Show the day of",
    "Links in this e-mail",
]


def test_follow_up_and_mailbox_pages_in_german_show_no_english(
    register_in_german: dict[str, Any], make_client: Any
) -> None:
    from crm.db import utcnow
    from crm.followups import service as followups

    data = register_in_german
    admin, organisation = data["admin"], data["organisation"]
    record = followups.record_of(organisation)
    for hours, subject in ((-2, "Angebot nachfassen"), (30, "Besuch vorbereiten")):
        values = followups.FollowUpValues(
            subject=subject, due_at=utcnow() + dt.timedelta(hours=hours), assignee_id=admin.id
        )
        followups.add_follow_up(record, values, admin)
    db.session.commit()

    browser = make_client()
    browser.login(data["admin"].email)
    assert browser.post_form("/outbox/test").status_code == 302  # an e-mail in German
    mailbox = browser.get("/outbox/").get_data(as_text=True)
    message = re.search(r'href="/outbox/(\d+)"', mailbox)
    assert message, "the test e-mail is not in the mailbox"

    pages = [
        "/my-day",
        f"/organisations/{organisation.id}",
        f"/follow-ups/new/organisation/{organisation.id}",
        "/account",
        "/outbox/",
        f"/outbox/{message.group(1)}",
    ]
    translated = _translated_msgids("de")
    patterns = [
        (phrase, re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)"))
        for phrase in ENGLISH_FOLLOW_UP_TEXT
    ]
    problems = []
    for path in pages:
        response = browser.get(path)
        assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
        assert html_lang(response) == "de", path
        chunks = visible_text(response)
        problems += [f"  {path}: {found}" for found in english_left(chunks, translated)]
        problems += [
            f"  {path}: {phrase!r} in {chunk!r}"
            for chunk in chunks
            for phrase, pattern in patterns
            if phrase not in KNOWN_GAPS and pattern.search(chunk)
        ]
    assert not problems, (
        "English text on German follow-up and mailbox pages. Mark it for translation and "
        "translate it:\n" + "\n".join(problems)
    )
    day = page_text(browser.get("/my-day"))
    assert "Angebot nachfassen" in day
    assert translate("de", "Overdue") in day
    email = page_text(browser.get(f"/outbox/{message.group(1)}"))
    assert translate("de", "Test e-mail from the Partnership CRM") in email
