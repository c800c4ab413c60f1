"""The settings modules of a project: ``DJANGO_SETTINGS_MODULE`` and the modules it
star-imports for its values (``from misago.settings import *`` in ``devproject/settings.py``,
``from .base import *`` in ``settings/prod.py``), followed through further star-imports.

They load before any hook and hold values, not code a team wants traced: auto-tracing
exempts them, so W030 does not warn about them.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path

_MAX_MODULES = 32


@functools.lru_cache(maxsize=4)
def settings_modules(settings_module: str) -> frozenset[str]:
    """``settings_module`` and what it star-imports, transitively (parsed, never run)."""
    if not settings_module:
        return frozenset()
    found: set[str] = set()
    pending = [settings_module]
    while pending and len(found) < _MAX_MODULES:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        pending.extend(_star_imports(name))
    return frozenset(found)


def _star_imports(name: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return []
    origin = getattr(spec, "origin", None)
    if not isinstance(origin, str) or not origin.endswith(".py"):
        return []
    try:
        tree = ast.parse(Path(origin).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return []
    is_package = origin.endswith("__init__.py")
    package = name.split(".") if is_package else name.split(".")[:-1]
    found = []
    for node in tree.body:  # module level: what runs when the settings load
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            parts = package[:len(package) - node.level + 1] if node.level else []
            target = ".".join([*parts, *([node.module] if node.module else [])])
            if target:
                found.append(target)
    return found
