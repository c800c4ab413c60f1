"""``TRACEKIT['HTTP_CLIENT']``: outgoing HTTP calls as spans (docs/cache_and_http.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django_tracekit.conf.base import Reader

CHECK_IDS = {"ENABLED": "E024"}


@dataclass(frozen=True)
class HttpClientSettings:
    enabled: bool = True


def read(r: Reader) -> HttpClientSettings:
    values = r.section("HTTP_CLIENT")
    return HttpClientSettings(enabled=r.flag(values, "ENABLED", CHECK_IDS["ENABLED"]))
