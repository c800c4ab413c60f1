"""Convention lint for django-tracekit, on Python's ``ast`` (no Django, no extra dependency).

The same rules ship as Semgrep rules in ``django_tracekit/lint/semgrep/tracekit.yml``;
``manage.py tracekit_lint`` and ``python -m django_tracekit.lint`` are the front-ends.
"""

from __future__ import annotations

from .api import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    LintResult,
    ParseError,
    lint_file,
    lint_paths,
)
from .engine import Finding, lint_source
from .files import PathNotFound
from .rules import RULES, RULES_BY_ID, SEMGREP_RULES_PATH, Rule

__all__ = [
    "EXIT_CLEAN",
    "EXIT_ERROR",
    "EXIT_FINDINGS",
    "RULES",
    "RULES_BY_ID",
    "SEMGREP_RULES_PATH",
    "Finding",
    "LintResult",
    "ParseError",
    "PathNotFound",
    "Rule",
    "lint_file",
    "lint_paths",
    "lint_source",
]
