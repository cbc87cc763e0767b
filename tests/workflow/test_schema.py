"""The JSON Schema of the workflow format is published in docs/ and describes the real files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from crm.config import PROJECT_ROOT
from crm.workflow.definitions import json_schema, parse_text, workflow_files
from tests.workflow.support import PACK_DIR, edited, pack_text

PUBLISHED = PROJECT_ROOT / "docs" / "workflow.schema.json"
# The workflow files (health.yaml beside them is the health score's configuration).
PACK_FILES = workflow_files(PACK_DIR)


def test_the_published_schema_is_the_current_one(app):
    result = app.test_cli_runner().invoke(args=["crm", "workflows", "schema"])
    assert result.exit_code == 0, result.output
    assert PUBLISHED.read_text(encoding="utf-8") == result.stdout, (
        "docs/workflow.schema.json is out of date: run "
        "'flask --app wsgi crm workflows schema --output docs/workflow.schema.json'"
    )
    assert json.loads(result.stdout) == json_schema()


def test_the_schema_command_writes_the_file(app, tmp_path):
    output = tmp_path / "schema.json"
    result = app.test_cli_runner().invoke(
        args=["crm", "workflows", "schema", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"wrote {output}\n"
    assert output.read_text(encoding="utf-8") == PUBLISHED.read_text(encoding="utf-8")


# --- validating files against the schema ----------------------------------------------------

# A small validator for the keywords the schema uses, so that the check runs without the
# jsonschema package (not a dependency). It refuses keywords it does not know.
_ANNOTATIONS = {"title", "description", "default", "$schema", "$defs"}
_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _TYPES[kind])


def schema_errors(
    schema: dict[str, Any], value: Any, root: dict[str, Any], at: str = "$"
) -> list[str]:
    """Where `value` breaks `schema` (empty: it is valid)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(root["$defs"][name], value, root, at)
    if "type" in schema and not _is(value, schema["type"]):
        return [f"{at}: expected {schema['type']}, got {value!r}"]
    errors: list[str] = []
    for keyword, rule in schema.items():
        if keyword in _ANNOTATIONS or keyword == "type":
            continue
        if keyword == "anyOf":
            if all(schema_errors(option, value, root, at) for option in rule):
                errors.append(f"{at}: matches none of the allowed forms: {value!r}")
        elif keyword == "enum":
            if value not in rule:
                errors.append(f"{at}: {value!r} is not one of {rule}")
        elif keyword == "pattern":
            if isinstance(value, str) and not re.search(rule, value):
                errors.append(f"{at}: {value!r} does not match {rule}")
        elif keyword == "minLength":
            if isinstance(value, str) and len(value) < rule:
                errors.append(f"{at}: shorter than {rule}")
        elif keyword in ("minimum", "maximum"):
            if _is(value, "number") and (value < rule if keyword == "minimum" else value > rule):
                errors.append(f"{at}: {value} is out of range ({keyword} {rule})")
        elif keyword == "minItems":
            if isinstance(value, list) and len(value) < rule:
                errors.append(f"{at}: fewer than {rule} items")
        elif keyword == "items":
            if isinstance(value, list):
                for index, item in enumerate(value):
                    errors += schema_errors(rule, item, root, f"{at}[{index}]")
        elif keyword in ("minProperties", "maxProperties"):
            if isinstance(value, dict) and (
                len(value) < rule if keyword == "minProperties" else len(value) > rule
            ):
                errors.append(f"{at}: {keyword} {rule}")
        elif keyword == "required":
            if isinstance(value, dict):
                errors += [f"{at}: missing {key!r}" for key in rule if key not in value]
        elif keyword == "properties":
            if isinstance(value, dict):
                for key, sub in rule.items():
                    if key in value:
                        errors += schema_errors(sub, value[key], root, f"{at}.{key}")
        elif keyword == "additionalProperties":
            if isinstance(value, dict):
                extra = [k for k in value if k not in schema.get("properties", {})]
                for key in extra:
                    if rule is False:
                        errors.append(f"{at}: unknown key {key!r}")
                    elif isinstance(rule, dict):
                        errors += schema_errors(rule, value[key], root, f"{at}.{key}")
        else:
            raise AssertionError(f"the structural check does not know {keyword!r}")
    return errors


def validate(data: Any) -> list[str]:
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    return schema_errors(schema, data, schema)


@pytest.mark.pure
def test_the_default_pack_has_three_files():
    assert [p.name for p in PACK_FILES] == ["agreement.yaml", "partnership.yaml", "placement.yaml"]
    assert sorted(p.name for p in PACK_DIR.glob("*.yaml")) == [
        "agreement.yaml",
        "health.yaml",
        "partnership.yaml",
        "placement.yaml",
    ]


@pytest.mark.pure
@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_every_pack_file_validates_against_the_schema(path: Path):
    assert validate(yaml.safe_load(path.read_text(encoding="utf-8"))) == []


@pytest.mark.pure
@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.name)
def test_every_pack_file_validates_with_jsonschema(path: Path):
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = validator.iter_errors(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert [e.message for e in errors] == []


@pytest.mark.pure
@pytest.mark.parametrize(
    ("replacement", "error"),
    [
        (("label: Partnership\n", "label: Partnership\ncolour: blue\n"), "$: unknown key 'colour'"),
        (("version: 1", "version: one"), "$.version: expected integer, got 'one'"),
        (("version: 1", "version: 0"), "$.version: 0 is out of range (minimum 1)"),
        (("initial: identified\n", ""), "$: missing 'initial'"),
        (
            ("    label: Researched\n", "    label: Researched\n    owner: me\n"),
            "$.states.researched: unknown key 'owner'",
        ),
        (
            ("    waiting_on: us\n  researched:", "    waiting_on: nobody\n  researched:"),
            "$.states.identified.waiting_on: 'nobody' is not one of ['us', 'employer', 'learner']",
        ),
        (
            ("    from: identified\n", "    from: 5\n"),
            "$.transitions[0].from: matches none of the allowed forms: 5",
        ),
        (
            (
                "      - checklist_done\n      - contact",
                "      - [checklist_done]\n      - contact",
            ),
            "$.transitions[0].guards[0]: matches none of the allowed forms: ['checklist_done']",
        ),
        (
            ("    style: danger\n", "    style: loud\n"),
            "$.transitions[9].style: 'loud' is not one of "
            "['primary', 'secondary', 'success', 'danger', 'warning']",
        ),
    ],
)
def test_the_schema_rejects_broken_files(replacement, error):
    data = yaml.safe_load(edited(pack_text("partnership"), replacement))
    assert validate(data) == [error]


@pytest.mark.pure
@pytest.mark.parametrize(
    "transition",
    [
        "{name: a, label: A, from: '*', to: b, by: officer}",
        "{name: a, label: A, from: [x], to: b, by: [officer], guards: [checklist_done]}",
        "{name: a, label: A, from: x, to: b, by: [system], effects: [close_follow_ups: null]}",
        "{name: a, label: A, from: x, to: b, by: [officer], "
        "guards: [{field_filled: {field: needs_summary}}]}",
    ],
)
def test_every_form_the_loader_accepts_the_schema_accepts(transition):
    text = (
        "name: lab\nversion: 1\nrecord: partnership\nlabel: Lab\ninitial: x\n"
        "states: {x: {label: X}, b: {label: B}}\n"
        f"transitions:\n  - {transition}\n"
    )
    definition, problems = parse_text(text, "lab.yaml", expected_name="lab")
    assert problems == []
    assert definition is not None
    assert validate(yaml.safe_load(text)) == []
