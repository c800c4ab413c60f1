"""Turning command-line paths into the Python files to lint."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

# Directories that never hold the project's own code. Hidden directories are skipped too.
SKIP_DIRS = frozenset(
    {"__pycache__", "node_modules", "site-packages", "venv", "env", "build", "dist"}
)


class PathNotFound(Exception):
    """A path given on the command line does not exist (a usage error, exit code 2)."""


def iter_python_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Yield each ``.py`` file under ``paths`` once, in a stable order.

    Files named explicitly are linted whatever their suffix; directories are searched for
    ``*.py``, skipping hidden directories and ``SKIP_DIRS``.
    """
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            candidates: Iterable[Path] = [path]
        elif path.is_dir():
            candidates = _walk(path)
        else:
            raise PathNotFound(str(raw))
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                yield candidate


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        for filename in sorted(filenames):
            if filename.endswith(".py"):
                yield Path(dirpath, filename)
