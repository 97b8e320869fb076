"""Who could have written each field of a tool's result: declared in its result model, checked at load time.

A tool declares what it returns as a pydantic model. A field holding text an outsider could have
written (a ticket body, a help article) is plain ``str``: free text, untrusted by default. Text the
record's own customer wrote (their shipping address, display name, workspace name) is
:data:`CustomerText`: untrusted unless that customer is the one asking (the result's
:data:`OwnerId` field, e.g. ``customer_id``, is the requester), because then it is the requester's own words. Values nobody
can hide an instruction in are trusted by
their type: numbers, booleans, dates, ``Literal`` enums, and strings declared :data:`Id` (ids,
codes, tracking numbers) or :data:`DeskText` (sentences the tool composes only from trusted values
and from the caller's own arguments). A field typed ``Any``, ``dict`` or left without a model is
unclassified: the tool is refused when it is declared, so nothing reaches the model unclassified.

    class OrderResult(BaseModel):
        order_id: Id
        shipping_address: CustomerText   # the order's customer typed it
        note: str                        # anyone could have: untrusted
        total: float

At run time :func:`untrusted_parts` lists the untrusted texts of one result by path; a key the
model does not declare counts as untrusted (fail closed).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


@dataclass(frozen=True)
class Trusted:
    """Marks a ``str`` field as written by the company, never by a customer or an outsider."""

    why: str


@dataclass(frozen=True)
class OwnersText:
    """Marks a ``str`` field as written by the customer the result belongs to (its ``OwnerId`` field)."""


@dataclass(frozen=True)
class OwnsRecord:
    """Marks the top-level id field naming whose record the result is (a customer, an employee)."""


Id = Annotated[str, Trusted("an identifier or code the desk issues")]
OwnerId = Annotated[str, Trusted("the id of the record's owner, which the desk issues"), OwnsRecord()]
DeskText = Annotated[str, Trusted("composed by the tool from trusted values and the caller's own arguments")]
CustomerText = Annotated[str, OwnersText()]

OWNER = "owner"
Shape = bool | str | dict[str, "Shape"]
"""Per field: True = untrusted text, OWNER = the record's customer's text, False = trusted, a dict = a
nested record (lists are transparent)."""

_TRUSTED_TYPES = int | float | bool | date | datetime | None


class UnclassifiedResult(TypeError):
    """A tool's result carries text whose writer it has not declared."""


def result_shape(tool: str, model: type[BaseModel] | None) -> dict[str, Shape]:
    """The untrusted/trusted map of a result model; raises UnclassifiedResult naming the field to fix."""
    if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise UnclassifiedResult(
            f"tool {tool!r} declares no result model: declare result=<a pydantic model> so that every field says "
            "whether a customer or an outsider could have written it (plain str = untrusted free text; Id, "
            "DeskText, numbers, dates and Literal enums = trusted)"
        )
    return _model_shape(tool, model)


def owner_key(model: type[BaseModel] | None) -> str | None:
    """The result's top-level field typed ``OwnerId``: whose ``CustomerText`` the result holds."""
    for name, field in (model.model_fields.items() if model is not None else ()):
        if any(isinstance(m, OwnsRecord) for m in field.metadata):
            return field.alias or name
    return None


def _model_shape(tool: str, model: type[BaseModel]) -> dict[str, Shape]:
    return {
        field.alias or name: _shape(f"{tool}.{field.alias or name}", field.annotation, field.metadata)
        for name, field in model.model_fields.items()
    }


def _shape(where: str, annotation: Any, metadata: list[Any] = ()) -> Shape:  # type: ignore[assignment]
    if any(isinstance(m, Trusted) for m in metadata):
        return False
    if any(isinstance(m, OwnersText) for m in metadata):
        return OWNER
    origin = get_origin(annotation)
    if origin is Annotated:
        inner, *extra = get_args(annotation)
        return _shape(where, inner, [*metadata, *extra])
    if origin in (Union, types.UnionType):
        parts = [_shape(where, a, metadata) for a in get_args(annotation) if a is not type(None)]
        return _merge(parts)
    if origin in (list, tuple, frozenset, set):
        args = [a for a in get_args(annotation) if a is not Ellipsis]
        if not args:
            raise _unclassified(where, annotation)
        return _merge([_shape(where, a, metadata) for a in args])
    if origin is Literal:
        return False
    if annotation is str:
        return True
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return _model_shape(where, annotation)
        if issubclass(annotation, Enum | _TRUSTED_TYPES):  # a fixed set of values, or no text at all
            return False
    raise _unclassified(where, annotation)


def _merge(parts: list[Shape]) -> Shape:
    if len(set(map(repr, parts))) == 1:
        return parts[0]
    if any(isinstance(p, dict) for p in parts) or True in parts:
        return True  # a union of a record and a scalar: no single map fits, so treat it all as untrusted
    return OWNER if OWNER in parts else False


def _unclassified(where: str, annotation: Any) -> UnclassifiedResult:
    return UnclassifiedResult(
        f"{where} is typed {annotation!r}, which may carry free text nobody classified: type it str (untrusted: a "
        "customer or outsider could write it), Id or DeskText (trusted text), a number, date, Literal, or a "
        "nested result model"
    )


def untrusted_parts(
    value: Any, shape: Shape, path: str = "", *, requester: str | None = None, owner: str | None = None
) -> list[tuple[str, str]]:
    """(path, text) of every non-empty untrusted string in a result; undeclared keys count as untrusted.

    The owner's text is the requester's own when the result's top-level ``owner`` field (its
    ``OwnerId``, see :func:`owner_key`) is theirs; with no such field nobody's text is their own.
    """
    own = owned_by(value, requester, owner)
    return [(where, text) for where, text, owners in classified_parts(value, shape, path) if not (owners and own)]


def owned_by(value: Any, requester: str | None, owner: str | None) -> bool:
    """Whether a result is the requester's own record: its ``owner`` field names them."""
    return requester is not None and owner is not None and isinstance(value, dict) and value.get(owner) == requester


def classified_parts(value: Any, shape: Shape, path: str = "", owners: bool = False) -> list[tuple[str, str, bool]]:
    """(path, text, whether the record's owner wrote it) of every non-empty untrusted string, in one walk."""
    if shape is False:
        return []
    owners = owners or shape == OWNER
    if isinstance(value, list | tuple):
        return [part for i, item in enumerate(value) for part in classified_parts(item, shape, f"{path}[{i}]", owners)]
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            inner = shape.get(key, True) if isinstance(shape, dict) else shape
            parts += classified_parts(item, inner, f"{path}.{key}" if path else str(key), owners)
        return parts
    if isinstance(value, str) and value.strip():
        return [(path or "result", value, owners)]
    return []
