"""Command-line front-end shared by ``manage.py tracekit_lint`` and
``python -m django_tracekit.lint``."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Protocol

from .api import EXIT_ERROR, lint_paths
from .files import PathNotFound
from .output import format_errors, format_json, format_text


class Writer(Protocol):
    """A text stream: ``sys.stdout`` or a Django command's ``OutputWrapper``."""

    def write(self, msg: str, /) -> object: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories to lint")
    parser.add_argument(
        "--format", choices=("text", "json"), default="text", help="output format (default: text)"
    )


def run(paths: Sequence[str | os.PathLike[str]], fmt: str, stdout: Writer, stderr: Writer) -> int:
    """Lint ``paths``, write the report, return the exit code (0 clean, 1 findings, 2 error).

    Raises ``PathNotFound`` before writing anything if a path does not exist.
    """
    result = lint_paths(paths)
    report = format_json(result) if fmt == "json" else format_text(result)
    # Never write "": Django's OutputWrapper would turn it into a blank line.
    if report:
        stdout.write(report)
    errors = format_errors(result)
    if errors:
        stderr.write(errors)
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m django_tracekit.lint",
        description="Check django-tracekit conventions (no Django settings needed).",
    )
    add_arguments(parser)
    options = parser.parse_args(argv)
    try:
        return run(options.paths or ["."], options.format, sys.stdout, sys.stderr)
    except PathNotFound as exc:
        parser.exit(EXIT_ERROR, f"{parser.prog}: error: no such file or directory: {exc}\n")
