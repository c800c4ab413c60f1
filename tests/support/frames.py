"""How tracekit's stack lines name a function, on every supported Python."""

from __future__ import annotations

import sys


def frame_name(qualname: str) -> str:
    """``Command.handle`` from Python 3.11 (``co_qualname``), ``handle`` before."""
    return qualname if sys.version_info >= (3, 11) else qualname.rsplit(".", 1)[-1]
