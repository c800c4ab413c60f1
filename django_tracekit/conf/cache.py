"""``TRACEKIT['CACHE']``: Django cache calls as spans (docs/cache_and_http.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ENABLED": "E023"}


@dataclass(frozen=True)
class CacheSettings:
    enabled: bool = True


def read(r: Reader) -> CacheSettings:
    return CacheSettings(enabled=r.flag(r.section("CACHE"), "ENABLED", CHECK_IDS["ENABLED"]))
