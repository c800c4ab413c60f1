"""A throwaway package on sys.path for import-hook tests, forgotten afterwards."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def importable(base: Path, name: str) -> Iterator[Path]:
    """Create package ``name`` under ``base`` (an empty ``__init__``), make it importable,
    and afterwards remove it from ``sys.path`` and every module of it from ``sys.modules``."""
    root = base / name
    root.mkdir()
    (root / "__init__.py").write_text("")
    sys.path.insert(0, str(base))
    try:
        yield root
    finally:
        sys.path.remove(str(base))
        for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
            del sys.modules[key]
