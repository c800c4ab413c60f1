"""Cache keys as span attributes: any object made text safely, capped, secrets hidden.

The secret rule is :func:`django_tracekit.core.redaction.is_secret_name`, applied to the parts
of a key (``user:42:reset_token:abc`` -> ``user:42:reset_token:[redacted]``): what follows
the first secret-named part is hidden, since keys embed the secret after its name (Django's
cached sessions use ``django.contrib.sessions.cache<session key>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django_tracekit.core.redaction import REDACTED, is_secret_name, safe_repr

#: Characters of one key kept on a span.
MAX_KEY_LENGTH = 256
#: Keys of a multi-key call (get_many, set_many, delete_many) listed on its span.
MAX_KEYS = 20

# Parts of a key: what cache keys separate their segments with.
_PARTS = re.compile(r"[^:/|.=,;?&# \t]+")


def as_text(key: Any) -> str:
    """Any key as bounded text; never raises (a key's ``__str__`` may)."""
    if isinstance(key, str):
        return key[:MAX_KEY_LENGTH * 4]  # room for redaction to see a secret's name
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return str(key)
    if isinstance(key, bytes):
        return key[:MAX_KEY_LENGTH * 4].decode("utf-8", "backslashreplace")
    return safe_repr(key)


def redact(text: str) -> str:
    """``text`` with everything after its first secret-named part replaced."""
    for part in _PARTS.finditer(text):
        if is_secret_name(part.group()):
            rest = text[part.end():]
            if not rest:  # the secret's name ends the key ("sessionabc" is one part)
                return text[:part.start()] + REDACTED if part.start() else REDACTED
            return text[:part.end()] + rest[0] + REDACTED
    return text


def render(key: Any) -> str:
    """One key as its span shows it: text, secrets redacted, capped."""
    text = redact(as_text(key))
    if len(text) > MAX_KEY_LENGTH:
        return text[:MAX_KEY_LENGTH - 1] + "…"
    return text


def render_many(keys: Iterable[Any]) -> tuple[tuple[str, ...], int]:
    """The first :data:`MAX_KEYS` keys rendered (a tuple: an attribute value as the SDK
    keeps it), and how many keys there were."""
    shown: list[str] = []
    count = 0
    for key in keys:
        if count < MAX_KEYS:
            shown.append(render(key))
        count += 1
    return tuple(shown), count
