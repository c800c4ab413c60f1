"""SQL text -> what a query's span shows: sanitized text, operation, collection, N+1 key.

Only the first 16 KB of a statement are ever read (a megabyte statement costs what a
16 KB one does); ``db.query.text`` is at most :data:`MAX_QUERY_TEXT` characters, ending
in ``…`` when cut. Literals are replaced by ``?``: quoted
strings (an unterminated one, cut by the cap, up to the end), dollar-quoted strings,
numbers; comments are dropped. Placeholders (``%s``, ``%(name)s``, ``?``, ``$1``, ``:1``)
and quoted identifiers (``"shop_order"``, MySQL's backticks) are kept. On MySQL/MariaDB a
double-quoted token is a string (Django quotes identifiers with backticks there), so it is
replaced too. Results are cached per statement text (the ORM repeats its SQL strings).
"""

from __future__ import annotations

import re
import threading
from typing import NamedTuple

#: db.query.text is cut to this many characters (after literals are replaced).
MAX_QUERY_TEXT = 4_096
#: Characters of a statement that are parsed at all.
_SCAN = 4 * MAX_QUERY_TEXT
_CACHE_SIZE = 2_048
_CACHEABLE = 16_384  # longer statements are not kept as cache keys

# Tables of tracekit's own models: queries on them are tracekit's own work, never spans.
_OWN_TABLES = "django_tracekit_"

_COMMON = r"""
    (?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<dollar>\$\$.*?(?:\$\$|\Z)|\$(?P<tag>[A-Za-z_]\w*)\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<number>(?<![\w$:.])(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)(?![\w.]))
"""
# Standard SQL (PostgreSQL, SQLite, Oracle): '' escapes a quote, "..." is an identifier.
_STANDARD = re.compile(r"""
    (?P<string>'(?:[^']|'')*(?:'|\Z))
  | (?P<ident>"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\])
  | """ + _COMMON, re.S | re.X)
# MySQL/MariaDB: backslash escapes, "..." is a string, `...` an identifier.
_MYSQL = re.compile(r"""
    (?P<string>'(?:[^'\\]|\\.|'')*(?:'|\Z)|"(?:[^"\\]|\\.|"")*(?:"|\Z))
  | (?P<ident>`(?:[^`]|``)*`)
  | """ + _COMMON, re.S | re.X)

_OPERATION = re.compile(r"\s*\(*\s*([A-Za-z]+)")
_IDENT = r'(?:"(?:[^"]|"")+"|`(?:[^`]|``)+`|\[[^\]]+\]|[A-Za-z_][\w$]*)'
_TARGET = re.compile(rf"\b(?:FROM|INTO|UPDATE|JOIN|TABLE)\s+({_IDENT}(?:\s*\.\s*{_IDENT})*)|[()]",
                     re.I)
_PLACEHOLDER = re.compile(r"%s|%\(\w+\)s|\$\d+|(?<![:\w]):\w+")
# `IN (%s, %s, %s)` and multi-row VALUES vary in length with the data: one form for N+1.
_LIST = re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)")
_ROWS = re.compile(r"\(\?\)(?:\s*,\s*\(\?\))+")
_SPACE = re.compile(r"\s+")


class Statement(NamedTuple):
    """What one SQL text shows on its span."""

    text: str  # db.query.text: literals replaced, capped
    key: str  # the N+1 key: the text with placeholder lists collapsed
    operation: str | None  # db.operation.name, upper case (SELECT, INSERT, ...)
    collection: str | None  # db.collection.name: the first table named at the top level
    name: str  # the span name: "{operation} {collection}", else the operation
    own: bool  # names a table of tracekit's own models


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "ident":
        return match.group(0)
    if kind == "comment":
        return " "
    return "?"


def sanitize(sql: str, mysql: bool = False) -> str:
    """``sql`` (its first 16 KB) with literals replaced by ``?``, capped."""
    head = sql[:_SCAN]
    text = (_MYSQL if mysql else _STANDARD).sub(_replace, head)
    if not text.isascii():  # lone surrogates cannot be exported (UTF-8): replaced
        text = text.encode("utf-8", "replace").decode("utf-8")
    if len(sql) > _SCAN or len(text) > MAX_QUERY_TEXT:
        text = text[:MAX_QUERY_TEXT - 1] + "…"
    return text


def _unquote(name: str) -> str:
    parts = [p.strip() for p in re.findall(_IDENT, name)]
    return ".".join(p[1:-1] if p[:1] in '"`[' else p for p in parts)


def _collection(text: str) -> str | None:
    depth = 0
    for match in _TARGET.finditer(text):
        token = match.group(0)
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif depth == 0:
            return _unquote(match.group(1))[:256] or None
    return None


def parse_text(sql: str, mysql: bool = False) -> Statement:
    """Parse one statement (uncached; see :func:`parse`)."""
    text = sanitize(sql, mysql)
    found = _OPERATION.match(text)
    operation = found.group(1).upper() if found else None
    collection = _collection(text) if operation is not None else None
    key = _SPACE.sub(" ", _PLACEHOLDER.sub("?", text)).strip()
    key = _ROWS.sub("(?)", _LIST.sub("(?)", key))
    name = f"{operation} {collection}" if operation and collection else operation or "SQL"
    own = _OWN_TABLES in text.lower()
    return Statement(text, key, operation, collection, name, own)


_caches: tuple[dict[str, Statement], dict[str, Statement]] = ({}, {})
_lock = threading.Lock()


def as_text(sql: object) -> str:
    """The SQL a driver was given as ``str`` (bytes decoded, composed objects rendered)."""
    if isinstance(sql, str):
        return sql
    if isinstance(sql, (bytes, bytearray, memoryview)):
        return bytes(sql[:_SCAN + 1]).decode("utf-8", "replace")
    render = getattr(sql, "as_string", None)  # psycopg's sql.Composed: the SQL, not a repr
    if callable(render):
        try:
            text = render(None)
            if isinstance(text, (bytes, str)):
                return as_text(text)
        except Exception:
            pass
    try:
        return str(sql)[:_SCAN + 1]
    except Exception:
        return f"<{type(sql).__name__}>"


def parse(sql: object, mysql: bool = False) -> Statement:
    """:func:`parse_text`, cached per statement text (never raises on odd input)."""
    text = as_text(sql)
    if len(text) > _CACHEABLE:
        return parse_text(text, mysql)
    cache = _caches[mysql]
    found = cache.get(text)
    if found is None:
        found = parse_text(text, mysql)
        with _lock:
            if len(cache) >= _CACHE_SIZE:
                cache.clear()  # statements from a loop of distinct raw SQL: start over
            cache[text] = found
    return found
