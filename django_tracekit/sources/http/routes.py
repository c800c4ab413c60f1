"""Regex routes read as routes: ``^api/v2/routine/(?P<pk>[^/.]+)/stats/$`` ->
``api/v2/routine/<pk>/stats/``.

``re_path`` patterns (and DRF's routers, which generate them) reach ``ResolverMatch.route``
as regexes; a feature named ``GET /api/v2/routine/(?P<pk>[^/.]+)/stats/`` is hard to read.
Rewritten like a ``path()`` route: a named group is ``<name>``, an unnamed one ``<argN>``
(Django passes it positionally), anchors go, escaped literals (``\\.``) are literals, an
optional literal (DRF's ``/?``) is left out, an optional parameter is shown. A pattern this
cannot say as one route (a class or wildcard outside a group, an alternation, an optional
part of the text, ``\\d``) keeps its regex, without the anchors.
Each distinct route is rewritten once (cached).
"""

from __future__ import annotations

import functools

_ANCHORS = frozenset("AZbBzG")
_UNSAYABLE = frozenset("[*+|{")  # outside a group: not one route


def _closing(pattern: str, start: int) -> int | None:
    """The index of the ``)`` that closes the group opened at ``start``."""
    depth = 0
    i, n = start, len(pattern)
    in_class = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            if c == "]":
                in_class = False
        elif c == "[":
            in_class = True
            if i + 1 < n and pattern[i + 1] == "]":  # "[]...]": a literal "]" first
                i += 1
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _skip_quantifier(pattern: str, i: int) -> int | None:
    """Past an optional-or-repeat quantifier at ``i``; None if it repeats (``*``, ``+``)."""
    if i < len(pattern) and pattern[i] == "?":
        return i + 1
    if i < len(pattern) and pattern[i] in "*+{":
        return None
    return i


def _convert(pattern: str, counter: list[int]) -> str | None:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            escaped = pattern[i + 1]
            if escaped in _ANCHORS:
                i += 2
                continue
            if escaped.isalnum():  # \d, \w, \s, \1: a class or a back-reference
                return None
            out.append(escaped)
            i += 2
        elif c in "^$":
            i += 1
        elif c == "(":
            end = _closing(pattern, i)
            if end is None:
                return None
            inner = pattern[i + 1:end]
            if inner.startswith("?P<") and ">" in inner:
                out.append(f"<{inner[3:inner.index('>')]}>")
            elif inner.startswith("?:"):
                sub = _convert(inner[2:], counter)
                if sub is None or pattern[end + 1:end + 2] == "?":
                    return None  # an optional part of the text: two routes in one
                out.append(sub)
            elif inner.startswith(("?=", "?!", "?<=", "?<!")):
                pass  # lookarounds match no text
            elif inner.startswith("?"):
                return None  # flags, conditionals, ...
            else:
                counter[0] += 1
                out.append(f"<arg{counter[0]}>")
            after = _skip_quantifier(pattern, end + 1)
            if after is None:
                return None
            i = after
        elif c in _UNSAYABLE:
            return None
        elif c == "?":  # the previous literal is optional: the shortest route leaves it out
            if out:
                out.pop()
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=2048)
def readable_route(route: str) -> str:
    """``route`` (``ResolverMatch.route``) without regex syntax where it can be said as a
    ``path()`` route; otherwise only its anchors stripped (as before)."""
    if not any(marker in route for marker in ("(", "\\", "^", "$", "?")):
        return route  # a path() route: nothing to rewrite
    converted = _convert(route, [0])
    if converted is None:
        return route.lstrip("^").removesuffix("$")
    return converted
