"""A cache of its own per test (local-memory caches are shared by LOCATION), spans of
tracekit's in-memory sink, and helpers to find the cache spans."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import BaseCache, caches
from django.test import override_settings
from opentelemetry.sdk.trace import ReadableSpan

from tests.conftest import Spans

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
REDIS = "django.core.cache.backends.redis.RedisCache"


def cache_spans(spans: Spans) -> list[ReadableSpan]:
    return [s for s in spans.all() if s.name.startswith("cache.")]


def only(spans: Spans, name: str) -> ReadableSpan:
    found = [s for s in cache_spans(spans) if s.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name}: {spans.names()}"
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


@pytest.fixture
def caches_config() -> Iterator[dict[str, dict[str, Any]]]:
    """CACHES with a fresh local-memory ``default`` and ``other`` (tests may add more)."""
    config: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": LOCMEM, "LOCATION": f"t-{uuid.uuid4().hex}"},
        "other": {"BACKEND": LOCMEM, "LOCATION": f"t-{uuid.uuid4().hex}"},
    }
    with override_settings(CACHES=config):
        yield config


@pytest.fixture
def locmem(caches_config: dict[str, dict[str, Any]]) -> BaseCache:
    return caches["default"]
