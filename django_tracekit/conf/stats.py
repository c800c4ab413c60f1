"""``TRACEKIT['STATS']``: the feature-usage counts of the admin (docs/usage.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader
from django_tracekit.core.features import KINDS

CHECK_IDS = {"FLUSH_INTERVAL_S": "E012", "RETENTION_DAYS": "E035", "ENABLED": "E036",
             "DATABASE": "E037", "KINDS": "E053"}


@dataclass(frozen=True)
class StatsSettings:
    enabled: bool = True
    flush_interval_s: float = 10.0
    retention_days: float = 90.0
    #: The DATABASES alias of tracekit's tables (stats and trace store).
    database: str = "default"
    #: The feature kinds counted in the database (e.g. without "function" when METRICS
    #: carries the functions' numbers, or nobody reads them).
    kinds: tuple[str, ...] = KINDS


def read(r: Reader) -> StatsSettings:
    values = r.section("STATS")
    return StatsSettings(
        enabled=r.flag(values, "ENABLED", CHECK_IDS["ENABLED"]),
        flush_interval_s=r.number(values, "FLUSH_INTERVAL_S", CHECK_IDS["FLUSH_INTERVAL_S"]),
        retention_days=r.number(values, "RETENTION_DAYS", CHECK_IDS["RETENTION_DAYS"]),
        database=r.text(values, "DATABASE", CHECK_IDS["DATABASE"],
                        "Use the alias of an entry of DATABASES, e.g. 'default'.",
                        valid=bool, wanted="a DATABASES alias (a non-empty str)") or "default",
        kinds=r.names(values, "KINDS", CHECK_IDS["KINDS"],
                      "Use e.g. ['request', 'task', 'command'] (auto-traced functions not "
                      "counted in the database).", valid=KINDS.__contains__, non_empty=True,
                      wanted=f"a non-empty list of {', '.join(KINDS)}") or KINDS,
    )
