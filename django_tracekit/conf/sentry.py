"""``TRACEKIT['SENTRY']``: errors forwarded to Sentry (docs/sentry.md). Default: the
``SENTRY_DSN``/``SENTRY_ENVIRONMENT`` environment; off without a DSN."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django_tracekit.conf.base import Reader, valid_url

CHECK_IDS = {"DSN": "E013", "ENVIRONMENT": "E038"}


@dataclass(frozen=True)
class SentrySettings:
    dsn: str | None = None
    environment: str | None = None


def _is_dsn(value: object) -> bool:
    return isinstance(value, str) and valid_url(value) and bool(urlsplit(value).username)


def read(r: Reader, environment: str | None) -> SentrySettings:
    """``environment``: the top-level ENVIRONMENT, the last fallback of Sentry's."""
    values = r.section("SENTRY")
    explicit = bool(values.merged["DSN"])
    dsn = values.merged["DSN"] if explicit else (r.env.get("SENTRY_DSN") or None)
    if dsn is not None and not _is_dsn(dsn):
        r.report(CHECK_IDS["DSN"], values.where("DSN") if explicit else "SENTRY_DSN",
                 f"{dsn!r} is not a Sentry DSN.",
                 "Copy the DSN from Sentry's project settings: https://<key>@<host>/<project>.")
        dsn = None
    own = r.text(values, "ENVIRONMENT", CHECK_IDS["ENVIRONMENT"],
                 "Use e.g. 'production', or leave it out to use SENTRY_ENVIRONMENT or "
                 "TRACEKIT['ENVIRONMENT'].")
    return SentrySettings(dsn=dsn,
                          environment=own or r.env.get("SENTRY_ENVIRONMENT") or environment)
