"""The usage pages' query parameters, validated: a bad value is dropped and named, never a 500.

A value with control characters (a NUL byte: PostgreSQL refuses it in any query) is ignored
with a message on the page; unknown choices (``kind``, ``sort``, ``range``) fall back to
the default; an unknown ``format`` is the one error that gets a 400 (a client asked for a
representation the page does not have).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from django_tracekit.pages.shared.feature_filter import (
    DEFAULT_SORT,
    KIND_CHOICES,
    SCOPE_CHOICES,
    SORTS,
)

MAX_LENGTH = 200
FORMATS = ("html", "csv")
# The parameters the pages accept, with the name a message uses for each.
NAMES = {
    "range": gettext_lazy("range"), "from": gettext_lazy("start"), "to": gettext_lazy("end"),
    "q": gettext_lazy("search"), "kind": gettext_lazy("kind"),
    "service": gettext_lazy("service"), "sort": gettext_lazy("sort order"),
    "scope": gettext_lazy("scope"),
}


@dataclass
class UsageParams:
    values: dict[str, str]  # the accepted raw values (for links that keep them)
    q: str = ""
    kind: str = ""
    service: str = ""
    sort: str = DEFAULT_SORT
    scope: str = ""  # "": the team's features; "all": code outside the project too
    page: str = ""
    format: str = "html"
    errors: list[str] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        """Narrowed beyond the default listing (entry points, every service)."""
        return bool(self.q or self.kind or self.service)


class UnknownFormat(ValueError):
    pass


def clean(value: str) -> str | None:
    """``value`` stripped and capped, or ``None`` when it holds control characters."""
    value = value.strip()[:MAX_LENGTH]
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        return None
    return value


def clean_values(query: Mapping[str, str],
                 names: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The cleaned non-empty values of ``names``' keys, and a message for each one refused
    (named by its label in ``names``)."""
    values: dict[str, str] = {}
    errors: list[str] = []
    for key, name in names.items():
        raw = query.get(key)
        if not raw:
            continue
        cleaned = clean(raw)
        if cleaned is None:
            errors.append(_("The %(name)s contains characters that are not allowed; it was "
                            "ignored.") % {"name": name})
        elif cleaned:
            values[key] = cleaned
    return values, errors


def parse(query: Mapping[str, str]) -> UsageParams:
    """The parameters of a ``request.GET`` (the last value of a repeated one wins).

    Raises :class:`UnknownFormat` for a ``format`` other than ``html``/``csv``.
    """
    fmt = (query.get("format") or "html").strip().lower()
    if fmt not in FORMATS:
        raise UnknownFormat(_("Unknown format; choose one of: %(formats)s.")
                            % {"formats": ", ".join(FORMATS)})
    values, errors = clean_values(query, NAMES)
    kind = values.get("kind", "")
    sort = values.get("sort", DEFAULT_SORT)
    scope = values.get("scope", "")
    return UsageParams(
        values=values, q=values.get("q", ""),
        kind=kind if kind in KIND_CHOICES else "", service=values.get("service", ""),
        sort=sort if sort.removeprefix("-") in SORTS else DEFAULT_SORT,
        scope=scope if scope in SCOPE_CHOICES else "",
        page=clean(query.get("page") or "") or "", format=fmt, errors=errors)
