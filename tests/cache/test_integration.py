"""The switch: ``TRACEKIT['CACHE']['ENABLED']`` (a process of its own each: set up once)."""

from __future__ import annotations

import json

import pytest

from django_tracekit.conf import resolve
from django_tracekit.sources.cache.integration import CacheIntegration
from tests.support.scripts import check, run_django

SCRIPT = """
import django_tracekit as tracekit
from django.core.cache import CacheHandler, cache
from django_tracekit import integrations
from tests.support import memory
with tracekit.span("root"):
    cache.set("a", 1)
    cache.get("a")
print(json.dumps({
    "spans": [s.name for s in memory.exporter.get_finished_spans()],
    "patched": getattr(CacheHandler.create_connection, "_tracekit_patched", False),
    "refusal": {d.integration.identifier: d.refusal for d in integrations.decide(
        __import__("django_tracekit.conf", fromlist=["x"]).get_config())}["cache"],
}))
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_the_switch(enabled: bool) -> None:
    result = check(run_django(SCRIPT, {
        "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        "TRACEKIT": {"EXPORTER": "tests.support.memory.processor", "AUTOTRACE": {"INCLUDE": []},
                     "CACHE": {"ENABLED": enabled}},
    }))
    out = json.loads(result.stdout.strip().splitlines()[-1])
    if enabled:
        assert out == {"spans": ["cache.set", "cache.get", "root"], "patched": True,
                       "refusal": None}
    else:  # not even the seam is touched
        assert out == {"spans": ["root"], "patched": False,
                       "refusal": "TRACEKIT['CACHE']['ENABLED'] is False"}


def test_refusal_reads_the_setting() -> None:
    assert CacheIntegration(resolve({}, {})).refusal() is None
    off = resolve({"CACHE": {"ENABLED": False}}, {})
    assert CacheIntegration(off).refusal() == "TRACEKIT['CACHE']['ENABLED'] is False"
