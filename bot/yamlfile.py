"""YAML files that people edit, read so that every mistake can be reported with its line.

A safe YAML loader that remembers the line of each mapping and of each of its keys, and the
translation of pydantic's validation errors into problems a content editor can act on: the line,
the field (`examples.hi[3]`) and a plain sentence. The FAQ loader (`bot.knowledge`) and the reminder
campaigns (`bot.reminders.campaigns`) both read their files through here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[str | int, ...]


class YamlFileError(ValueError):
    """The file cannot be read as YAML at all; says which file and, where known, which line."""

    def __init__(self, path: Path, problem: str, line: int | None = None):
        self.path, self.problem, self.line = path, problem, line
        super().__init__(f"{path}:{line}: {problem}" if line else f"{path}: {problem}")


class Lined(dict[Any, Any]):
    """A mapping read from YAML, with the line of the mapping itself (key "") and of each key."""

    def __init__(self, mapping: dict[Any, Any], lines: dict[str, int]):
        super().__init__(mapping)
        self.lines = lines


class LinedList(list[Any]):
    """A list read from YAML, with the line of each item."""

    def __init__(self, items: list[Any], lines: list[int]):
        super().__init__(items)
        self.lines = lines


class _LineLoader(yaml.SafeLoader):
    """Safe YAML that remembers the line of every mapping and its keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> Lined:
    mapping = loader.construct_mapping(node, deep=True)
    lines = {"": node.start_mark.line + 1}
    for key_node, _ in node.value:
        lines[str(key_node.value)] = key_node.start_mark.line + 1
    return Lined(mapping, lines)


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LinedList:
    items = loader.construct_sequence(node, deep=True)
    return LinedList(items, [item.start_mark.line + 1 for item in node.value])


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
# Dates stay text for pydantic to read: YAML's own timestamps raise a bare ValueError, with no line,
# on an impossible date such as 2026-13-01.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_yaml(path: Path) -> Any:
    """The document in the file, its mappings `Lined`; YamlFileError for a file that is not YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise YamlFileError(path, f"not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise YamlFileError(path, f"cannot read: {error.strerror}") from None
    try:
        return yaml.load(text, Loader=_LineLoader)  # a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark else None
        raise YamlFileError(path, f"not valid YAML: {getattr(error, 'problem', error)}", line) from None


def line_of(document: Any, location: Location) -> int | None:
    """The line of the deepest key on the path that the YAML has (a missing key: its mapping's line)."""
    node, line = document, None
    for part in location:
        if isinstance(node, Lined):
            line = node.lines.get(str(part), node.lines.get("", line))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            line = node.lines[part] if isinstance(node, LinedList) else line
            node = node[part]
            if isinstance(node, Lined):
                line = node.lines.get("", line)
        else:
            break
    return line


def field_name(location: Sequence[str | int]) -> str:
    """`("examples", "hi", 2)` as `examples.hi[3]`: list positions counted from 1, as editors count."""
    name = ""
    for part in location:
        name += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


@dataclass(frozen=True)
class Problem:
    """One mistake in a file: where (line and field path) and what, in words."""

    line: int | None
    location: Location
    message: str


def problems(
    error: ValidationError, document: Any, prefix: Location = (), model: type[BaseModel] | None = None
) -> list[Problem]:
    """Every mistake pydantic found in the item at `prefix` of `document`, with lines and plain words;
    given the `model` validated, an unknown field is answered with the fields known there."""
    found = []
    for detail in error.errors():
        location = tuple(detail["loc"])
        found.append(Problem(line_of(document, (*prefix, *location)), location, plain(detail, model)))
    return found


def plain(detail: Any, model: type[BaseModel] | None = None) -> str:
    """pydantic's message for a field, said the way an editor of the file thinks about it."""
    kind, context = detail["type"], detail.get("ctx") or {}
    if kind == "value_error":
        return str(context.get("error", detail["msg"]))
    if kind == "literal_error":
        return "must be one of " + ", ".join(re.findall(r"'([^']*)'", str(context.get("expected", ""))))
    if kind == "extra_forbidden":
        return _unknown_field(tuple(detail["loc"]), model)
    if kind in ("greater_than_equal", "less_than_equal", "string_too_long", "too_long"):
        limit = context.get("ge", context.get("le", context.get("max_length")))
        return _PLAIN[kind].format(limit=limit)
    return _PLAIN.get(kind, str(detail["msg"]))


def _unknown_field(location: Location, model: type[BaseModel] | None) -> str:
    known = known_fields(model, location[:-1]) if model else None
    if not known:
        return "is not a known field (a typo?)"
    close = get_close_matches(str(location[-1]), known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    return f"is not a known field ({hint}the fields here are {', '.join(known)})"


def known_fields(model: type[BaseModel], location: Location) -> list[str] | None:
    """The field names of the mapping at `location` inside `model` (None where it is not a model)."""
    current: type[BaseModel] | None = model
    for part in location:
        if isinstance(part, int):
            continue  # a position in a list: the list's items are the same model
        field = current.model_fields.get(part) if current else None
        current = _model_in(field.annotation) if field else None
    return list(current.model_fields) if current else None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in get_args(annotation):
        if found := _model_in(argument):
            return found
    return None


_PLAIN = {
    "missing": "is missing or empty",
    "string_too_short": "is missing or empty",
    "too_short": "is missing or empty",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "date_type": "must be a date written YYYY-MM-DD, e.g. 2026-12-31",
    "date_parsing": "must be a date written YYYY-MM-DD, e.g. 2026-12-31",
    "date_from_datetime_parsing": "must be a date written YYYY-MM-DD, e.g. 2026-12-31",
    "date_from_datetime_inexact": "must be a date written YYYY-MM-DD, without a time",
    "greater_than_equal": "must be at least {limit}",
    "less_than_equal": "must be at most {limit}",
    "string_too_long": "is too long (at most {limit} characters)",
    "too_long": "has too many items (at most {limit})",
}
