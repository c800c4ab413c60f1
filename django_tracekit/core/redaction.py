"""Secrets: one rule for header names, local variables, Sentry data and OTLP attributes.

- :func:`is_secret_name` decides which names hold secrets (``Authorization``, ``db_password``,
  ``X-Access-Key``, ``pw_from_form``, ``pin``...).
- :func:`redact_text` hides the values of secret-named ``key=value`` pairs (query strings,
  form bodies, URLs inside reprs) and ``"key": "value"`` pairs (JSON) in any text;
  :func:`redact_query` / :func:`redact_url` do it for a query string / URL, URL-encoded.
- :func:`redact_data` redacts JSON-like data (what Sentry serialised) by key, at any depth.
- :func:`safe_repr` renders a live value (a local variable) bounded in size, with secrets
  redacted inside containers (dict, QueryDict/MultiValueDict, lists of pairs, nested) and
  requests shown as method + path only: never their query string or body.
"""

from __future__ import annotations

import functools
import re
import reprlib
from collections.abc import Mapping
from itertools import islice
from typing import Any
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.http import HttpRequest

from django_tracekit.core import guard

REDACTED = "[redacted]"
_REDACTED_QUERY = "%5Bredacted%5D"

# Substrings of the normalised name (lower case, words joined by "_"): long and distinctive
# enough not to appear inside ordinary words.
_SECRET_PARTS = re.compile(
    r"passw|passphrase|pwd|secret|token|cookie|session|csrf|xsrf|credential|signature"
    r"|authoriz|authenticat|apikey|(?:api|access|private|auth|signing|encryption|client"
    r"|license)_?key|card_?number|credit_?card"
)
# Whole words only: as substrings these would redact "spinner", "opinion", "author", "bypass".
_SECRET_WORDS = frozenset({
    "pw", "pass", "passwd", "pin", "pincode", "otp", "totp", "hotp", "ssn", "cvv", "cvc",
    "auth", "oauth", "private", "dsn", "jwt", "iban",
})
# ``<anything>_key`` is a secret (``stripe_key``, ``ssh_key``, ``webhook_key``) unless its first
# words say it is an identifier or a structure: these are kept visible.
_ORDINARY_KEYS = frozenset({
    "cache", "primary", "sort", "foreign", "partition", "lookup", "natural", "group", "order",
    "row", "column", "field", "dict", "map", "hash", "range", "index", "unique", "public",
    "object", "idempotency", "composite", "surrogate", "shard", "routing", "translation",
    "i18n", "message", "event", "template", "state", "setting", "settings", "config", "url",
    "route", "name", "type", "kind", "tab", "menu", "item", "node", "parent", "child", "dedup",
    "dedupe", "bucket", "storage", "s3", "file", "path", "date", "time", "version", "db",
    "redis", "memcache", "memcached", "lock", "queue", "sentinel", "api_key_id",
})
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """True for names like ``Authorization``, ``Set-Cookie``, ``db_password``, ``X-Api-Key``,
    ``HTTP_X_ACCESS_KEY``, ``pw_from_form``, ``pinCode``; false for ``spinner``, ``opinion``,
    ``keyboard``, ``author``."""
    normal = _SEPARATORS.sub("_", _CAMEL.sub("_", name).lower()).strip("_")
    if _SECRET_PARTS.search(normal):
        return True
    words = normal.split("_")
    if len(words) > 1 and words[-1] == "key":
        # stripe_key, ssh_key, hmac_key... but cache_key, primary_key, sort_key are not.
        return "_".join(words[:-1]) not in _ORDINARY_KEYS and words[-2] not in _ORDINARY_KEYS
    return any(word in _SECRET_WORDS for word in words)


# Values that are credentials whatever the name they are held under (a vendor's documented
# prefixes): Stripe secret/restricted keys and webhook secrets, GitHub tokens, AWS access
# key ids, Slack tokens, JWTs, PEM private keys. Replaced in any text (``redact_text``).
_CREDENTIAL = re.compile(
    r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{8,}"
    r"|\bwhsec_[0-9A-Za-z]{16,}"
    r"|\bgh[pousr]_[0-9A-Za-z]{20,}"
    r"|\bgithub_pat_[0-9A-Za-z_]{20,}"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bxox[bpasr]-[0-9A-Za-z-]{10,}"
    r"|\beyJ[0-9A-Za-z_-]{8,}\.eyJ[0-9A-Za-z_-]{4,}\.[0-9A-Za-z_-]*"
    r"|-----BEGIN[A-Z ]{0,30}PRIVATE KEY-----(?:.|\n){0,16384}?"
    r"(?:-----END[A-Z ]{0,30}PRIVATE KEY-----|$)")
# Cheap first look: most text holds none of these, and a search for the literals is much
# faster than the regular expression (and than a substring test per literal).
_CREDENTIAL_HINTS = ("_live_", "_test_", "whsec_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_",
                     "github_pat_", "AKIA", "ASIA", "xox", "eyJ", "PRIVATE KEY")
_HINT = re.compile("|".join(map(re.escape, _CREDENTIAL_HINTS)))


def redact_credentials(text: str) -> str:
    """``text`` with values that look like credentials (see :data:`_CREDENTIAL`) replaced."""
    if _HINT.search(text) is not None:
        return _CREDENTIAL.sub(REDACTED, text)
    return text


def looks_like_credential(value: str) -> bool:
    return redact_credentials(value) != value


# key=value as in query strings, form bodies and URLs (the key may be percent-encoded).
# A key starts after a delimiter (never mid-word: keeps the scan linear on long text).
_KEY = r"(?<![^\s&?#;'\"<>(){},/])(?P<key>[^\s&=?#;'\"<>(){},/]{1,128})="
# First pass: a quote ends a value (the closing quote of a repr, the "b'" of bytes).
_PAIR = re.compile(_KEY + r"(?P<value>(?:\\.|[^\s&#;'\"<>\\])*)")
# Second pass: a quote inside a secret value (one not followed by what follows a repr's
# closing quote) does not end it: "token=ab'cd" hides all of "ab'cd".
_PAIR_THROUGH_QUOTES = re.compile(
    _KEY + r"(?P<value>(?:\\.|[^\s&#;'\"<>\\]|['\"](?![\s>,)\]}:]|$))*)")
# "key": "value" / 'key': 'value' as in JSON or a dict's repr.
_QUOTED_PAIR = re.compile(
    r"""(?P<q>["'])(?P<key>[^"'\\]{1,100})(?P=q)(?P<sep>\s*:\s*)"""
    r"""(?P<vq>["'])(?P<value>(?:\\.|(?!(?P=vq))[^\\])*)(?P=vq)""")


# In a raw query string only "&" ends a value ("'" or ";" are part of it).
_QUERY_PAIR = re.compile(r"(?:^|(?<=&))(?P<key>[^&=#]+)=(?P<value>[^&#]*)")


def _redact_pairs(text: str, replacement: str, pattern: re.Pattern[str] = _PAIR) -> str:
    def pair(match: re.Match[str]) -> str:
        if is_secret_name(unquote_plus(match.group("key"))):
            return f"{match.group('key')}={replacement}"
        return match.group(0)

    return pattern.sub(pair, text)


def redact_text(text: str) -> str:
    """``text`` with the values of secret-named pairs replaced (``token=[redacted]``), and
    values that look like credentials (``sk_live_…``, ``ghp_…``, JWTs, PEM keys)."""
    text = redact_credentials(text)
    if "=" in text:
        text = _redact_pairs(text, REDACTED)
        if "'" in text or '"' in text:
            text = _redact_pairs(text, REDACTED, _PAIR_THROUGH_QUOTES)
    if ":" in text and ('"' in text or "'" in text):
        def quoted(match: re.Match[str]) -> str:
            if is_secret_name(match.group("key")):
                q, vq = match.group("q"), match.group("vq")
                return f"{q}{match.group('key')}{q}{match.group('sep')}{vq}{REDACTED}{vq}"
            return match.group(0)

        text = _QUOTED_PAIR.sub(quoted, text)
    return text


def redact_query(query: str) -> str:
    """A query string with secret-named values replaced, everything else byte for byte."""
    return _redact_pairs(query, _REDACTED_QUERY, _QUERY_PAIR) if "=" in query else query


def redact_url(url: str) -> str:
    """A URL with secret-named query values replaced (and any ``user:password@``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    if parts.password:
        netloc = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}:{_REDACTED_QUERY}@{netloc}")
    return urlunsplit(parts._replace(query=redact_query(parts.query)))


_MAX_DEPTH = 10
_MAX_TEXT = 4096  # of a local's text redacted and shown (reprlib keeps far less)


def redact_data(value: Any, depth: int = 0) -> Any:
    """JSON-like data with secrets hidden: values of secret-named keys (dicts, and lists of
    ``[key, value]`` pairs), secret pairs inside strings; nested up to a bounded depth."""
    if isinstance(value, str):
        return redact_text(value)
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and is_secret_name(k)
                    else redact_data(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if _is_secret_pair(value):
            return type(value)((value[0], REDACTED))
        return type(value)(redact_data(v, depth + 1) for v in value)
    return value


def _is_secret_pair(value: list[Any] | tuple[Any, ...]) -> bool:
    return len(value) == 2 and isinstance(value[0], str) and is_secret_name(value[0])


def describe_request(request: Any) -> str | None:
    """``<WSGIRequest: POST '/path/'>`` for a Django request (or a wrapper of one, as DRF's
    ``Request``), never the query string or body its own repr may show; else None."""
    inner = request if isinstance(request, HttpRequest) else getattr(request, "_request", None)
    if not isinstance(inner, HttpRequest):
        return None
    path = inner.path
    return f"<{type(request).__name__}: {inner.method} {path!r}>"


class _SafeRepr(reprlib.Repr):
    """reprlib's bounded repr, with secrets redacted inside containers and text."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = 120
        self.maxother = 120
        self.maxlevel = 4
        self.maxdict = 20
        self.maxlist = 20
        self.maxtuple = 20

    def repr1(self, x: Any, level: int) -> str:
        shown = describe_request(x)
        if shown is not None:
            return shown
        if isinstance(x, (tuple, list)) and _is_secret_pair(x):
            pair = f"{x[0]!r}, {REDACTED!r}"
            return f"({pair})" if isinstance(x, tuple) else f"[{pair}]"
        # Redact before reprlib shortens: its "head...tail" could show a secret's tail alone.
        if isinstance(x, str):
            return super().repr1(redact_text(x[:_MAX_TEXT]), level)
        if isinstance(x, (bytes, bytearray)):
            text = redact_text(bytes(x[:_MAX_TEXT]).decode("latin-1"))
            return super().repr1(type(x)(text.encode("latin-1")), level)
        if isinstance(x, Mapping):
            return self._repr_mapping(x, level)
        return redact_text(super().repr1(x, level))

    def _repr_mapping(self, x: Mapping[Any, Any], level: int) -> str:
        lists = getattr(x, "lists", None)  # MultiValueDict/QueryDict: every value of a key
        items = list(islice(lists() if callable(lists) else x.items(), self.maxdict + 1))
        if level <= 0:
            body = "..." if items else ""
        else:
            shown = []
            for key, value in items[:self.maxdict]:
                rendered = (repr(REDACTED) if isinstance(key, str) and is_secret_name(key)
                            else self.repr1(value, level - 1))
                shown.append(f"{self.repr1(key, level - 1)}: {rendered}")
            if len(items) > self.maxdict:
                shown.append("...")
            body = ", ".join(shown)
        if type(x) is dict:
            return f"{{{body}}}"
        return f"<{type(x).__name__}: {{{body}}}>"


_safe = _SafeRepr()


def safe_repr(value: Any) -> str:
    """A bounded repr of ``value`` with secrets redacted (see the module docstring)."""
    try:
        with guard.formatting():  # the value's own __repr__ runs untraced (no recursion)
            return _safe.repr(value)
    except Exception:  # a broken __repr__/__len__ must not break recording
        return f"<{type(value).__name__} (repr failed)>"


__all__ = ["REDACTED", "describe_request", "is_secret_name", "looks_like_credential",
           "redact_credentials", "redact_data", "redact_query", "redact_text", "redact_url",
           "safe_repr"]
