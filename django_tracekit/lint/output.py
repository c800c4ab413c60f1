"""Rendering lint results as text (``path:line:col: rule-id message``) or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import LintResult


def format_text(result: LintResult) -> str:
    lines = [f"{f.path}:{f.line}:{f.col}: {f.rule} {f.message}" for f in result.findings]
    return "".join(line + "\n" for line in lines)


def format_errors(result: LintResult) -> str:
    return "".join(
        f"{e.path}:{e.line}:{e.col}: error: could not parse: {e.message}\n" for e in result.errors
    )


def format_json(result: LintResult) -> str:
    payload: dict[str, Sequence[object]] = {
        "findings": [asdict(f) for f in result.findings],
        "errors": [asdict(e) for e in result.errors],
    }
    return json.dumps(payload, indent=2) + "\n"
