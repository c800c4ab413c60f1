"""Identical sibling SQL statements folded into one waterfall row: twelve ``SELECT
videos_channel …`` under one parent (an N+1) read as "x12 SELECT videos_channel …", a row
that opens to the twelve.

Siblings fold when they are leaf client spans of the same service and name running the
same ``db.query.text`` (literals are already replaced by placeholders when the span is
recorded, so one statement for twelve ids is one text); interleaved statements (a channel,
a thumbnail, a channel…) make one group each, placed where its first member ran.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

QUERY_KEY = "db.query.text"
MIN_MEMBERS = 2


@dataclass
class Group:
    members: list[Any]  # waterfall.Span, by start time
    query: str

    @property
    def first(self) -> Any:
        return self.members[0]


@dataclass(frozen=True)
class GroupSpan:
    """The group's row, read like a span by the renderer (a fold has no id of its own: it
    is named after its first member)."""

    span_id: str
    parent_span_id: str
    name: str
    kind: str
    service: str
    start_us: int
    duration_us: int
    is_error: bool
    status_message: str = ""
    attributes: str = ""
    events: str = ""


def query_of(span: Any) -> str:
    """The statement of a SQL client span ("" for any other span)."""
    if span.kind != "client" or QUERY_KEY not in (span.attributes or ""):
        return ""
    try:
        parsed = json.loads(span.attributes)
    except ValueError:
        return ""
    value = parsed.get(QUERY_KEY) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else ""


def fold(siblings: Sequence[Any], has_children: set[str]) -> list[Any]:
    """``siblings`` (by start time) with identical leaf statements replaced by a
    :class:`Group` at the place of the first one."""
    groups: dict[tuple[str, str, str], Group] = {}
    keyed: list[tuple[Any, tuple[str, str, str] | None]] = []
    for span in siblings:
        query = "" if span.span_id in has_children else query_of(span)
        if not query:
            keyed.append((span, None))
            continue
        key = (span.service, span.name, query)
        group = groups.get(key)
        if group is None:
            groups[key] = Group([span], query)
        else:
            group.members.append(span)
        keyed.append((span, key))
    if not any(len(g.members) >= MIN_MEMBERS for g in groups.values()):
        return list(siblings)
    out: list[Any] = []
    for span, found in keyed:
        group = groups[found] if found is not None else None
        if group is None or len(group.members) < MIN_MEMBERS:
            out.append(span)
        elif group.first is span:
            out.append(group)
    return out


def group_span(group: Group) -> GroupSpan:
    first = group.first
    end = max(m.start_us + max(m.duration_us, 0) for m in group.members)
    return GroupSpan(span_id=f"{first.span_id}-x{len(group.members)}",
                     parent_span_id=first.parent_span_id, name=first.name, kind=first.kind,
                     service=first.service, start_us=first.start_us,
                     duration_us=end - first.start_us,
                     is_error=any(m.is_error for m in group.members))
