"""Limits on MCP tool arguments: every tool's input schema hardened, and calls checked against it before a tool runs.

Part of the MCP adapter (:mod:`gridsage.mcp_server`): unknown argument names refused, strings and numbers bounded,
non-finite numbers, over-long strings and deep nesting refused, each failure an :class:`~gridsage.errors.InputError`
naming the field and the fix and quoting at most a few dozen characters of the value.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

from gridsage import config
from gridsage.errors import InputError


#: parameters holding ids, bounded by :data:`~gridsage.config.MCP_MAX_ID_CHARS`
ID_PARAMETERS = frozenset({"grid_id", "new_grid_id", "evidence_id", "entry_id"})


def hardened_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A tool's input schema with the server's limits written into it (a copy; ``schema`` is left as it is).

    Parameters
    ----------
    schema : dict
        The JSON Schema the SDK derived from the tool's signature.

    Returns
    -------
    dict
        ``schema`` where every object with ``properties`` and no ``additionalProperties`` gets
        ``additionalProperties: false`` (unknown names are refused); every free string (no ``enum``/``const``) without
        ``maxLength`` gets :data:`~gridsage.config.MCP_MAX_STRING_CHARS` (:data:`~gridsage.config.MCP_MAX_ID_CHARS`
        for the :data:`ID_PARAMETERS`); every number without an upper or lower bound gets ±
        :data:`~gridsage.config.MCP_MAX_NUMBER`.  Bounds the tool states are kept.
    """
    schema = copy.deepcopy(dict(schema))

    def visit(node: Any, name: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item, name)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if "string" in kinds and "enum" not in node and "const" not in node:
            node.setdefault("maxLength", config.MCP_MAX_ID_CHARS if name in ID_PARAMETERS else config.MCP_MAX_STRING_CHARS)
        if kinds & {"number", "integer"}:
            if "maximum" not in node and "exclusiveMaximum" not in node:
                node["maximum"] = config.MCP_MAX_NUMBER
            if "minimum" not in node and "exclusiveMinimum" not in node:
                node["minimum"] = -config.MCP_MAX_NUMBER
        if "properties" in node and "additionalProperties" not in node and kind in ("object", None):
            node["additionalProperties"] = False
        for key, sub in node.items():
            if key == "properties" and isinstance(sub, dict):
                for prop, prop_schema in sub.items():
                    visit(prop_schema, prop)
            elif key in ("$defs", "definitions") and isinstance(sub, dict):
                for definition in sub.values():
                    visit(definition, None)
            elif key in ("items", "prefixItems", "anyOf", "oneOf", "allOf", "additionalProperties"):
                visit(sub, name)

    visit(schema, None)
    return schema


def show(value: Any, limit: int = 60) -> str:
    """``value`` for an error message: its JSON, cut to about ``limit`` characters (and the length of a long string)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return f"{value[:limit]!r}... ({len(value):,} characters)"
    try:
        text = json.dumps(value, allow_nan=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


def shorten(text: str, limit: int = config.MCP_MAX_ERROR_CHARS) -> str:
    """``text`` cut in the middle to at most ``limit`` characters, keeping its start and its end (the fix)."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head - 25
    return f"{text[:head]} [... {len(text) - head - tail:,} characters cut] {text[-tail:]}"


def _dotted(parts: Iterable[Any]) -> str:
    """``('events', 0, 'line')`` as ``'events[0].line'`` (the field names GridSage errors use)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def check_argument_shape(value: Any, path: tuple = (), depth: int = 0) -> None:
    """Refuse what no tool takes anywhere in its arguments, whatever the schema: non-finite or huge numbers, huge
    strings or keys, deep nesting.

    Raises
    ------
    InputError
        Naming the first such value's field.
    """
    field = _dotted(path) or "arguments"
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise InputError(f"{value!r} is not a finite number", field=field,
                             fix="give a finite number (NaN and Infinity are not numbers a tool can use).")
        if abs(value) > config.MCP_MAX_NUMBER:
            raise InputError(f"{show(value, 30)} is out of range: numbers must lie within ±2**53 "
                             f"({config.MCP_MAX_NUMBER:.4g})", field=field,
                             fix="give a value within the range the tool's input schema states.")
        return
    if isinstance(value, str):
        if len(value) > config.MCP_MAX_TEXT_CHARS:
            raise InputError(f"is {len(value):,} characters long; no argument may exceed {config.MCP_MAX_TEXT_CHARS:,}",
                             field=field, fix="give a short value: ids and names are short, data goes in a file path.")
        return
    if depth >= config.MCP_MAX_DEPTH:
        raise InputError(f"is nested more than {config.MCP_MAX_DEPTH} levels deep", field=field,
                         fix="give the structure the tool's input schema describes.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > config.MCP_MAX_KEY_CHARS:
                raise InputError(f"has a key of {len(str(key)):,} characters ({show(str(key), 40)})", field=field,
                                 fix="use the argument names the tool's input schema lists.")
            check_argument_shape(item, (*path, key), depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_argument_shape(item, (*path, i), depth + 1)


def _fitting_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError:
    """Inside ``anyOf``/``oneOf``, the error of the branch the value was meant for (the one whose type and ``const``
    tags it matches, then the one with fewest errors)."""
    while error.context:
        branches: dict[Any, list[jsonschema.ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)

        def misfit(errors: list[jsonschema.ValidationError]) -> tuple[bool, int]:
            wrong_kind = any((e.validator == "type" and not e.relative_path)
                             or (e.validator == "const" and len(e.relative_path) <= 1) for e in errors)
            return wrong_kind, len(errors)

        tags = [e for errors in branches.values() for e in errors if e.validator == "const" and len(e.relative_path) == 1]
        if len(tags) == len(branches) and len({tuple(e.relative_path) for e in tags}) == 1:
            # no branch's tag (e.g. an event's 'type') matches: name them all
            return jsonschema.ValidationError("", validator="enum", validator_value=[e.validator_value for e in tags],
                                              instance=tags[0].instance, path=tags[0].absolute_path)
        errors = min(branches.values(), key=misfit)
        error = min(errors, key=lambda e: len(e.relative_path))
    return error


_JSON_TYPES = {str: "a string", bool: "a boolean", int: "an integer", float: "a number", list: "an array",
               dict: "an object", type(None): "null"}
_BOUNDS = {"maximum": "<=", "minimum": ">=", "exclusiveMaximum": "<", "exclusiveMinimum": ">"}


def schema_error(error: jsonschema.ValidationError) -> InputError:
    """A jsonschema failure as GridSage's typed error: the field, what is wrong (at most ~60 characters of the value)
    and the fix."""
    error = _fitting_error(error)
    path = list(error.absolute_path)
    field = _dotted(path) or "arguments"
    rule, bound, value = error.validator, error.validator_value, error.instance
    schema_fix = "correct it to the type and range the tool's input schema documents."
    if rule == "additionalProperties" and isinstance(value, dict):
        known = list(error.schema.get("properties", {}))
        extra = [k for k in value if k not in known]
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        where = "this tool takes" if not path else "allowed here"
        return InputError(f"unknown argument {show(extra[0], 40)}{more}; {where}: {', '.join(known) or 'none'}",
                          field=_dotted([*path, extra[0]]),
                          fix="remove it, or correct its name to one the tool's input schema lists.")
    if rule == "required" and isinstance(value, dict):
        missing = next((k for k in bound if k not in value), "?")
        return InputError("is required", field=_dotted([*path, missing]), fix="give it (see the tool's input schema).")
    if rule == "maxLength":
        return InputError(f"is {len(value):,} characters long; at most {bound:,} are allowed", field=field,
                          fix="give a shorter value (ids are the short strings tools return; paths at most "
                              f"{config.MCP_MAX_STRING_CHARS:,} characters).")
    if rule == "minLength":
        return InputError(f"is {len(value):,} characters long; at least {bound:,} are needed", field=field, fix=schema_fix)
    if rule in _BOUNDS:
        return InputError(f"{show(value, 30)} is out of range: it must be {_BOUNDS[rule]} {bound:g}", field=field,
                          fix="give a finite value within the range the tool's input schema states.")
    if rule == "type":
        wanted = bound if isinstance(bound, list) else [bound]
        if isinstance(value, str) and {"number", "integer"} & set(wanted):
            try:
                parsed = float(value)
            except ValueError:
                parsed = 0.0
            if not math.isfinite(parsed):
                return InputError(f"{show(value, 30)} is not a finite number", field=field,
                                  fix="give a finite number (NaN and Infinity are not numbers a tool can use).")
        got = "null" if value is None else f"{_JSON_TYPES.get(type(value), 'a value')} {show(value, 40)}"
        return InputError(f"expected {' or '.join(wanted)}, got {got}", field=field, fix=schema_fix)
    if rule in ("enum", "const"):
        allowed = bound if rule == "enum" else [bound]
        return InputError(f"{show(value, 40)} is not one of: {show(', '.join(map(str, allowed)), 200)[1:-1]}",
                          field=field, fix="use one of the values listed.")
    if rule == "pattern":
        return InputError(f"{show(value, 40)} does not match the pattern {bound}", field=field, fix=schema_fix)
    if rule in ("maxItems", "minItems"):
        return InputError(f"has {len(value):,} items; {'at most' if rule == 'maxItems' else 'at least'} {bound:,} "
                          "are allowed", field=field, fix=schema_fix)
    return InputError(f"{show(value, 40)} does not fit the tool's input schema ({rule})", field=field, fix=schema_fix)


class ArgumentChecker:
    """Checks a tool's arguments against its hardened input schema (:func:`hardened_schema`), before it runs.

    Parameters
    ----------
    schema : dict
        The hardened schema (the one published as the tool's ``inputSchema``).
    """

    def __init__(self, schema: Mapping[str, Any]):
        self.schema = schema
        self._validator = jsonschema.Draft202012Validator(schema)

    def check(self, arguments: Any) -> None:
        """Refuse ``arguments`` unless they fit the schema and :func:`check_argument_shape`.

        Raises
        ------
        InputError
            Naming the first field at fault (unknown names, then wrong values, shallowest first, then missing
            ones) and the fix.
        """
        if not isinstance(arguments, dict):
            raise InputError(f"expected an object of named arguments, got {show(arguments, 40)}", field="arguments",
                             fix="pass the arguments as a JSON object, e.g. {\"grid_id\": \"case14\"}.")
        check_argument_shape(arguments)
        errors = list(self._validator.iter_errors(arguments))
        if errors:
            first = min(errors, key=lambda e: (e.validator != "additionalProperties", e.validator == "required",
                                               len(e.absolute_path)))
            raise schema_error(first)
