"""A recorded stack trace made readable: the team's frames marked, library frames (installed
packages, the standard library, tracekit itself) folded into "14 library frames", paths
relative to the project (``BASE_DIR``) or to ``site-packages``.

The stack is the text :func:`django_tracekit.core.errors.format_stack` wrote (Python's traceback
format, no source lines); other formats (source or locals lines under a frame, anything
else) pass through as text. Nothing is lost: every line is still on the page (a folded run
opens with a click, without JavaScript too), and the copy button copies the original text.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from django.conf import settings
from django.utils.translation import ngettext

import django_tracekit

_FRAME = re.compile(r'^(\s*)File "(.*)", line (\S+), in (.*)$')
_PACKAGES = re.compile(r"/(?:site|dist)-packages/")
_STDLIB = re.compile(r"/lib/python\d+(?:\.\d+)?t?/")
_TRACEKIT = os.path.dirname(django_tracekit.__file__) + os.sep
_NOT_EXCEPTION = (" ", "Traceback (", "[truncated]", "During handling of", "The above exception")
MIN_FOLD = 2  # a lone library frame costs the same line as its fold's summary


@dataclass
class Frame:
    path: str  # as recorded
    shown: str  # relative to the project or site-packages
    line: str
    function: str
    team: bool
    indent: str
    extra: list[str] = field(default_factory=list)  # source or locals lines below it


@dataclass
class Fold:
    frames: list[Frame]


Item = str | Frame | Fold


def _base_dir() -> str:
    base = getattr(settings, "BASE_DIR", None)
    if not base:
        return ""
    try:
        return str(Path(base).resolve()) + os.sep
    except (OSError, TypeError, ValueError):
        return ""


def is_library(path: str) -> bool:
    return (path.startswith("<") or bool(_PACKAGES.search(path)) or bool(_STDLIB.search(path))
            or path.startswith(_TRACEKIT))


def shown_path(path: str, base: str) -> str:
    packages = list(_PACKAGES.finditer(path))
    if packages:
        return path[packages[-1].end():]
    if path.startswith(_TRACEKIT):  # an editable install: the package's own name
        return "django_tracekit/" + path[len(_TRACEKIT):]
    if base and path.startswith(base):
        return path[len(base):]
    stdlib = list(_STDLIB.finditer(path))
    if stdlib:
        return path[stdlib[-1].start() + len("/lib/"):]
    return path


def parse(text: str, base: str | None = None) -> list[Item]:
    """Lines and frames, library runs folded (the raise point — the last frame before an
    exception line — is never folded)."""
    base = _base_dir() if base is None else base
    items: list[str | Frame] = []
    for line in text.split("\n"):
        match = _FRAME.match(line)
        if match:
            indent, path, number, function = match.groups()
            items.append(Frame(path, shown_path(path, base), number, function,
                               not is_library(path), indent))
        elif items and isinstance(items[-1], Frame) and line.startswith("    "):
            items[-1].extra.append(line)
        else:
            items.append(line)
    folded: list[Item] = []
    run: list[Frame] = []

    def flush(keep_last: bool) -> None:
        kept = run[-1:] if keep_last and run else []
        body = run[:-1] if kept else run[:]
        if len(body) >= MIN_FOLD:
            folded.append(Fold(body))
        else:
            folded.extend(body)
        folded.extend(kept)
        run.clear()

    for item in items:
        if isinstance(item, Frame) and not item.team:
            run.append(item)
            continue
        # A text line after frames is the exception (or a note): keep its raise point.
        flush(keep_last=isinstance(item, str) and not item.startswith("  ..."))
        folded.append(item)
    flush(keep_last=True)
    return folded


def library_count(items: list[Item]) -> int:
    return sum(len(i.frames) for i in items if isinstance(i, Fold))


def _frame_html(frame: Frame) -> str:
    css = "tk-frame tk-frame-team" if frame.team else "tk-frame tk-frame-lib"
    text = escape(f'{frame.indent}File "{frame.shown}", line {frame.line}, in {frame.function}')
    extra = "".join(f'<span class="tk-line">{escape(x)}</span>' for x in frame.extra)
    title = f' title="{escape(frame.path)}"' if frame.shown != frame.path else ""
    return f'<span class="{css}"{title}>{text}</span>{extra}'


def to_html(text: str, base: str | None = None) -> str:
    """The stack's markup (every value escaped): one line per element, folds as
    ``<details>`` (open with a click, no script needed)."""
    out = []
    for item in parse(text, base):
        if isinstance(item, Frame):
            out.append(_frame_html(item))
        elif isinstance(item, Fold):
            label = escape(ngettext("%(n)d library frame", "%(n)d library frames",
                                    len(item.frames)) % {"n": len(item.frames)})
            out.append(f'<details class="tk-lib"><summary>{label}</summary>'
                       + "".join(_frame_html(f) for f in item.frames) + "</details>")
        else:
            css = "tk-line tk-exc" if item and not item.startswith(_NOT_EXCEPTION) \
                else "tk-line"
            out.append(f'<span class="{css}">{escape(item)}</span>')
    return "".join(out)
