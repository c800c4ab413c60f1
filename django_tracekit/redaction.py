"""Which names hold secrets: one rule for headers, local variables and Sentry data."""

from __future__ import annotations

import functools
import re

REDACTED = "[redacted]"

_SECRET = re.compile(
    r"(?i)(authorization|cookie|passw|pwd|secret|token|api[-_]?key|apikey|session|csrf|"
    r"credential|private[-_]?key|signature|auth)"
)


@functools.lru_cache(maxsize=1024)
def is_secret_name(name: str) -> bool:
    """True for names like ``Authorization``, ``Set-Cookie``, ``db_password``, ``X-Api-Key``."""
    return bool(_SECRET.search(name))


def redact(name: str, value: str) -> str:
    return REDACTED if is_secret_name(name) else value
