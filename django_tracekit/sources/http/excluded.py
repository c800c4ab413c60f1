"""``TRACEKIT['EXCLUDED_URLS']`` as the integration handed them over: a request whose path
matches one is not traced. Read per request by the middleware, never from the settings.

Its own module, light on purpose: the integration configures it at set-up without importing
the middleware, whose ``got_request_exception`` receiver must stay connected after the ones
an application's Sentry SDK connects at its init (the SDK sees a middleware's error first).
"""

from __future__ import annotations

import re

_patterns: tuple[re.Pattern[str], ...] = ()


def configure(patterns: tuple[re.Pattern[str], ...]) -> None:
    global _patterns
    _patterns = patterns


def matches(path: str) -> bool:
    return any(p.search(path) for p in _patterns)
