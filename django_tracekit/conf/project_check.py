"""W041: the team's apps live beside ``BASE_DIR``, not under it, and ``BASE_DIR`` is itself a
Python package (Misago: ``BASE_DIR`` is the settings package ``devproject/``; the team's
package ``misago/`` sits beside it). ``PROJECT_NAME``'s default (DESIGN's fixed rule) is then
the settings package, and every line of the team's code is "outside code": the default
usage page shows none of its features. The fix is one setting: ``TRACEKIT['PROJECT_NAME']``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.core.checks import CheckMessage
from django.core.checks import Warning as CheckWarning

from django_tracekit.core import project


def check_project_name(settings: Any) -> list[CheckMessage]:
    explicit = getattr(settings, "TRACEKIT", None)
    if isinstance(explicit, dict) and explicit.get("PROJECT_NAME"):
        return []  # the team named it
    raw_base = getattr(settings, "BASE_DIR", None)
    if not raw_base:
        return []
    base = Path(os.path.realpath(str(raw_base)))
    if not (base / "__init__.py").is_file():
        return []  # a checkout's root, not a package: the default rule fits
    name = project.default_project_name()
    beside = [top for top in _app_tops(settings)
              if top != name and _lives_beside(top, base)]
    if not beside:
        return []
    packages = ", ".join(repr(top) for top in beside)
    return [CheckWarning(
        f"INSTALLED_APPS has apps whose code lives beside BASE_DIR ({base}), not under it: "
        f"{packages}. BASE_DIR is a Python package, so PROJECT_NAME defaults to {name!r} and "
        "their views, tasks and functions are shown as outside code (hidden on the default "
        "usage pages).",
        hint=f"Set TRACEKIT['PROJECT_NAME'] = {beside[0]!r} (the top package of the team's "
             "code).",
        id="django_tracekit.W041")]


def _app_tops(settings: Any) -> list[str]:
    tops: dict[str, None] = {}
    for entry in getattr(settings, "INSTALLED_APPS", None) or ():
        if isinstance(entry, str):
            top = entry.partition(".")[0]
            if top and top != "django_tracekit":
                tops.setdefault(top, None)
    return list(tops)


def _lives_beside(top: str, base: Path) -> bool:
    """``top``'s package folder is a sibling of BASE_DIR (same parent, not under it), and
    it is project code (not the standard library or an installed package)."""
    if not project.lives_in_project(top, os.sep):  # installed or standard library
        return False
    locations = project.locations(top) or []
    for location in locations:
        real = Path(os.path.realpath(location))
        folder = real.parent if real.name == "__init__.py" or real.is_file() else real
        if base in folder.parents or folder == base:
            continue
        if folder.parent == base.parent:
            return True
    return False
