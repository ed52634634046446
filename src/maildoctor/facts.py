"""What a report's checks learnt, typed: each kind of report has its dataclass of facts (an audit's,
a message's, a feedback summary's), rendered as JSON field by field, and described by the JSON
Schema published in docs/ (facts_schema keeps the two in step)."""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from dataclasses import dataclass
from typing import Any


def json_name(field: dataclasses.Field[Any]) -> str:
    """A field's key in JSON (`from_` is "from")."""
    return str(field.metadata.get("json", field.name))


_PLAIN = frozenset((str, int, float, bool))


def jsonable(value: Any) -> Any:
    """A fact as JSON: objects that render themselves (to_json) do; other dataclasses field by field."""
    if value is None or type(value) in _PLAIN:  # most leaves: nothing to look up
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {key: jsonable(getattr(value, name)) for key, name in _keys(type(value))}
    return value


_KEYS: dict[Any, tuple[tuple[str, str], ...]] = {}


def _keys(kind: Any) -> tuple[tuple[str, str], ...]:
    """A dataclass's (JSON key, attribute) pairs: read once per class, not once per object (a
    bulk audit renders some fifty facts a domain)."""
    keys = _KEYS.get(kind)
    if keys is None:
        keys = _KEYS[kind] = tuple((json_name(f), f.name) for f in dataclasses.fields(kind))
    return keys


@dataclass
class Facts:
    """The facts of a report with nothing analysed (a message that could not be read): none."""

    def to_json(self) -> dict[str, Any]:
        # a fact left at None was not learnt (its check did not run): left out, as it was never known
        return {key: jsonable(value) for key, name in _keys(type(self)) if (value := getattr(self, name)) is not None}

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) is not None for f in dataclasses.fields(self))


_SCALARS: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean"}


def facts_schema(kind: Any) -> dict[str, Any]:
    """The JSON Schema of a facts dataclass (or of any type a fact field holds), from its type hints."""
    return _schema(kind)


def _schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if hint is Any:
        return {}
    if hint in _SCALARS:
        return {"type": _SCALARS[hint]}
    if hint is type(None):
        return {"type": "null"}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(arg) for arg in typing.get_args(hint)]}
    if origin in (list, tuple):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return {"type": "array", "items": _schema(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(hint)[1])}
    facts = isinstance(hint, type) and issubclass(hint, Facts)
    if facts or (dataclasses.is_dataclass(hint) and not callable(getattr(hint, "to_json", None))):
        hints = typing.get_type_hints(hint)
        properties = {json_name(f): _schema(hints[f.name]) for f in dataclasses.fields(hint)}
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if not facts:  # every field of a fact is written; a report's facts leave out what was not learnt
            schema["required"] = list(properties)
        return schema
    return {"type": "object"}  # an object that renders itself (an SPF tree, an evaluation): its own shape
