"""Lazy package exports (PEP 562): a package names what it exports, each imported on first use."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, modules: dict[str, str], namespace: MutableMapping[str, Any]) -> Callable[[str], Any]:
    """The package's ``__getattr__``: ``name`` comes from ``package.<modules[name]>``, imported on
    first use and kept in the package's ``namespace`` so the next lookup is a plain attribute."""

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f"{package}.{modules[name]}"), name)
        namespace[name] = value
        return value

    return __getattr__
