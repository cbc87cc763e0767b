#!/usr/bin/env bash
# Refresh the translation catalogues after adding or changing user-facing strings.
#
#   translations/update.sh            extract, update every catalogue, compile
#
# What it does, from the project root whatever directory you call it from:
#   1. extract: scans crm/**.py, templates/**.html and templates/**.txt (e-mails) for _(),
#      gettext(), ngettext(), _l() and lazy_gettext(), and workflows/**.yaml for the workflow
#      texts (labels, guidance, checklist items, comment prompts, follow-up subjects; see
#      babel.cfg and crm/workflow/babel_extract.py), and rewrites translations/messages.pot;
#   2. update: merges the template into every catalogue translations/<lang>/LC_MESSAGES/
#      messages.po (en and de today). New strings arrive with an empty msgstr; changed
#      strings arrive marked "#, fuzzy" with the old translation as a suggestion (the old
#      msgid is kept in "#| msgid" comments); translations of strings that are gone stay at
#      the end of the file as obsolete "#~" entries, to copy from or delete;
#   3. compile: builds the .mo files the app reads (they are git-ignored) and prints how
#      much of each catalogue is translated.
#
# Then translate every empty or fuzzy entry in each non-English catalogue (remove the
# "fuzzy" flag once a translation is checked), keep placeholders such as %(name)s exactly,
# fill every plural form (msgstr[0], msgstr[1], ...), and run:
#
#   .venv/bin/pybabel compile -d translations && .venv/bin/pytest -q tests/i18n
#
# English is the source language: translations/en keeps empty msgstr entries.
# To add a language, e.g. French:
#   .venv/bin/pybabel init -i translations/messages.pot -d translations -l fr
# and add it to CRM_LANGUAGES.
#
# tests/i18n/test_catalogues.py reads the KEYWORDS line below to extract the same way: keep
# it on one line. Babel's defaults (_, gettext, ngettext, pgettext, ...) are always included.
set -euo pipefail

KEYWORDS=(-k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYBABEL="${PYBABEL:-$ROOT/.venv/bin/pybabel}"
if [ ! -x "$PYBABEL" ]; then
  echo "pybabel not found at $PYBABEL: run 'make install' first, or set PYBABEL" >&2
  exit 1
fi

"$PYBABEL" extract -F babel.cfg "${KEYWORDS[@]}" --add-comments=TRANSLATORS: \
  -o translations/messages.pot .
"$PYBABEL" update -i translations/messages.pot -d translations
"$PYBABEL" compile --statistics -d translations
