"""Linting files and directories: reading, parsing, collecting findings and parse errors."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.util import decode_source
from pathlib import Path

from .engine import Finding, lint_source
from .files import iter_python_files

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2  # usage error, or a file could not be read or parsed (the lint is incomplete)


@dataclass(frozen=True, order=True)
class ParseError:
    path: str
    line: int
    col: int
    message: str


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[ParseError] = field(default_factory=list)
    files: int = 0

    @property
    def exit_code(self) -> int:
        if self.errors:
            return EXIT_ERROR
        return EXIT_FINDINGS if self.findings else EXIT_CLEAN


def lint_file(path: str | os.PathLike[str]) -> tuple[list[Finding], ParseError | None]:
    name = os.fspath(path)
    try:
        # decode_source honours PEP 263 coding cookies and universal newlines.
        source = decode_source(Path(path).read_bytes())
        return lint_source(source, name), None
    except SyntaxError as exc:
        return [], ParseError(name, exc.lineno or 1, exc.offset or 1, exc.msg)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [], ParseError(name, 1, 1, str(exc))


def lint_paths(paths: Iterable[str | os.PathLike[str]]) -> LintResult:
    """Lint every Python file under ``paths``. Raises ``files.PathNotFound`` for a bad path."""
    result = LintResult()
    for path in iter_python_files(paths):
        findings, error = lint_file(path)
        result.files += 1
        result.findings.extend(findings)
        if error is not None:
            result.errors.append(error)
    return result
