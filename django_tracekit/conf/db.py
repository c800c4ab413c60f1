"""``TRACEKIT['DB']``: SQL queries as spans, and the N+1 threshold (docs/sql.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ENABLED": "E020", "N_PLUS_ONE": "E046"}


@dataclass(frozen=True)
class DbSettings:
    enabled: bool = True
    n_plus_one: int = 5


def read(r: Reader) -> DbSettings:
    values = r.section("DB")
    return DbSettings(
        enabled=r.flag(values, "ENABLED", CHECK_IDS["ENABLED"]),
        n_plus_one=int(r.number(values, "N_PLUS_ONE", CHECK_IDS["N_PLUS_ONE"], integer=True,
                                low=2, low_inclusive=True)),
    )
