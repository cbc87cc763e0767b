"""A Babel extractor for workflow files: labels, guidance, checklists and subjects.

Referenced from babel.cfg as `[crm.workflow.babel_extract:extract_workflow: workflows/**.yaml]`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml

TEXT_KEYS = frozenset({"label", "guidance", "description", "comment_label", "subject"})


def extract_workflow(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Yield (line, function, message, comments) for every translatable text in the file."""
    node = yaml.compose(fileobj.read().decode("utf-8"), Loader=yaml.SafeLoader)
    if node is not None:
        yield from _walk(node)


def _walk(node: yaml.Node) -> Iterator[tuple[int, str, str, list[str]]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if (
                isinstance(value_node, yaml.ScalarNode)
                and key_node.value in TEXT_KEYS
                and value_node.value.strip()
            ):
                # The composed value is the string the loader builds, so the msgid matches
                # what the app passes to gettext at run time.
                yield value_node.start_mark.line + 1, "gettext", value_node.value, []
            else:
                yield from _walk(value_node)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item)
