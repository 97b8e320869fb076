"""A tool call's arguments as an HTML form built from the tool's argument schema, and back.

Each argument is an input of the kind its JSON-schema type calls for (number, text, a choice,
yes/no, JSON for nested values), labelled with its description. What comes back is parsed by
the same schema and validated by the tool's pydantic model, so a bad edit is refused with a
message naming the field; the ledger still re-checks whatever is submitted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from pydantic import BaseModel, ValidationError

from proctor.approvals.ledger import InvalidEdit

PREFIX = "arg."  # form field names: arg.<argument>


def form_fields(schema: type[BaseModel], values: Mapping[str, Any], *, disabled: bool = False) -> str:
    """One labelled input per argument of ``schema``, filled with ``values``."""
    spec = schema.model_json_schema()
    required = set(spec.get("required", []))
    rows = []
    for name, prop in spec.get("properties", {}).items():
        kind, choices = _kind(prop, spec.get("$defs", {}))
        value = values.get(name, prop.get("default"))
        label = escape(prop.get("title") or name)
        hint = f'<small>{escape(prop["description"])}</small>' if prop.get("description") else ""
        mark = ' <abbr title="required">*</abbr>' if name in required else ""
        rows.append(
            f'<label class="arg"><span>{label}{mark}</span>{_input(name, kind, choices, value, prop, disabled)}'
            f"{hint}</label>"
        )
    return '<div class="args">' + "".join(rows) + "</div>"


def parse_fields(schema: type[BaseModel], form: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments a submitted form holds, validated by ``schema``; ``InvalidEdit`` names each bad field."""
    spec = schema.model_json_schema()
    args, problems = {}, []
    for name, prop in spec.get("properties", {}).items():
        raw = form.get(PREFIX + name)
        if raw is None:
            continue
        text = str(raw).strip()
        if text == "":
            continue  # left empty: the schema's default, or a "required" error below
        kind, _ = _kind(prop, spec.get("$defs", {}))
        try:
            args[name] = _coerce(kind, text)
        except ValueError:
            problems.append(f"{name}: {text!r} is not {_KIND_NAMES[kind]}")
    if not problems:
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            problems.extend(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
    if problems:
        raise InvalidEdit("; ".join(problems))
    return args


def same_call(schema: type[BaseModel], a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two argument sets are the same call once validated (``"50"`` and ``50.0`` alike)."""
    try:
        return schema.model_validate(dict(a)).model_dump() == schema.model_validate(dict(b)).model_dump()
    except ValidationError:
        return False


_KIND_NAMES = {"integer": "a whole number", "number": "a number", "boolean": "yes or no", "json": "valid JSON",
               "string": "text", "choice": "one of the choices"}  # fmt: skip


def _kind(prop: dict[str, Any], defs: dict[str, Any]) -> tuple[str, list[Any]]:
    if "$ref" in prop:
        prop = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    if len(options) == 1:  # Optional[X]
        return _kind(options[0], defs)
    if "enum" in prop:
        return "choice", list(prop["enum"])
    kind = prop.get("type")
    if kind in ("integer", "number", "boolean", "string"):
        return kind, []
    return "json", []


def _coerce(kind: str, text: str) -> Any:
    if kind == "integer":
        return int(text)
    if kind == "number":
        return float(text)
    if kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if kind == "json":
        return json.loads(text)
    return text


def _input(name: str, kind: str, choices: list[Any], value: Any, prop: dict[str, Any], disabled: bool) -> str:
    field = f'name="{PREFIX}{escape(name)}"' + (" disabled" if disabled else "")
    shown = "" if value is None else value
    if kind == "choice" or kind == "boolean":
        options = choices if kind == "choice" else [True, False]
        items = "".join(
            f'<option value="{escape(_text(o))}"{" selected" if o == value else ""}>{escape(_text(o))}</option>'
            for o in options
        )
        return f"<select {field}>{items}</select>"
    if kind in ("integer", "number"):
        step = "1" if kind == "integer" else "any"
        bounds = "".join(f' {k}="{prop[k]}"' for k in ("minimum", "maximum") if k in prop)
        return f'<input type="number" step="{step}"{bounds} {field} value="{escape(_text(shown))}">'
    if kind == "json" or len(_text(shown)) > 60:
        text = _text(shown) if kind != "json" else json.dumps(value, ensure_ascii=False)
        return f"<textarea {field} rows=\"3\">{escape(text)}</textarea>"
    return f'<input type="text" {field} value="{escape(_text(shown))}">'


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
