"""Reading the annotated corpus shared by the lint tests and ``semgrep --test``."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

CORPUS_DIR = Path(__file__).with_name("corpus")
CORPUS_FILES = sorted(CORPUS_DIR.glob("*.py"))
# Files whose syntax the running Python cannot parse (ast only; Semgrep parses them all).
NEEDS_311 = {"unrecorded_exception_star.py"}

_ANNOTATION_RE = re.compile(r"^\s*#\s*(ruleid|ok):\s*(.+?)\s*$")


def annotations(path: Path) -> tuple[set[tuple[int, str]], set[tuple[int, str]]]:
    """Semgrep test annotations of a corpus file as ``(line, rule)`` sets: (expected, ok).

    An annotation applies to the line after the comment, exactly as ``semgrep --test`` reads it.
    """
    expected: set[tuple[int, str]] = set()
    ok: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _ANNOTATION_RE.match(line)
        if match:
            target = expected if match.group(1) == "ruleid" else ok
            target.update((number + 1, rule.strip()) for rule in match.group(2).split(","))
    return expected, ok


def corpus_params() -> list[object]:
    return [
        pytest.param(
            path,
            id=path.stem,
            marks=pytest.mark.skipif(
                path.name in NEEDS_311 and sys.version_info < (3, 11),
                reason="except* is Python 3.11+ syntax",
            ),
        )
        for path in CORPUS_FILES
    ]
