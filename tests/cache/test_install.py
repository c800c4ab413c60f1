"""The seam: every backend instance ``caches`` creates, in any thread, for any alias, also
after ``override_settings(CACHES=...)``; instances created before tracekit set up too."""

from __future__ import annotations

import contextvars
import threading
import uuid
from typing import Any

from django.core.cache import CacheHandler, caches
from django.core.cache.backends.locmem import LocMemCache
from django.test import override_settings

import django_tracekit as tracekit
from django_tracekit.sources.cache import calls, install
from tests.cache.conftest import LOCMEM, attrs, cache_spans
from tests.conftest import Spans


def test_the_private_seams_are_there() -> None:
    # If Django renames these, cache calls stop being traced: this test says so.
    assert getattr(CacheHandler.create_connection, "_tracekit_patched", False)
    assert hasattr(caches, "_connections")


def test_every_alias_and_one_added_later(caches_config: dict[str, Any], spans: Spans) -> None:
    added = {**caches_config, "late": {"BACKEND": LOCMEM, "LOCATION": uuid.uuid4().hex}}
    with tracekit.span("root"):
        caches["default"].get("a")
        caches["other"].get("a")
        with override_settings(CACHES=added):
            caches["late"].get("a")
    assert [attrs(s)["cache.alias"] for s in cache_spans(spans)] == ["default", "other", "late"]


def test_backends_of_other_threads(caches_config: dict[str, Any], spans: Spans) -> None:
    seen: list[object] = []

    def worker() -> None:
        backend = caches["default"]  # this thread's own instance (connections are local)
        seen.append(backend)
        backend.get("a")

    with tracekit.span("root"):
        context = contextvars.copy_context()  # the thread runs inside the root span
        thread = threading.Thread(target=context.run, args=(worker,))
        thread.start()
        thread.join()
    assert seen and seen[0] is not caches["default"]
    assert [s.name for s in cache_spans(spans)] == ["cache.get"]


def test_a_backend_created_before_the_setup_is_traced(spans: Spans) -> None:
    handler = CacheHandler({"early": {"BACKEND": LOCMEM, "LOCATION": uuid.uuid4().hex}})
    early = LocMemCache(uuid.uuid4().hex, {})  # as if an app's ready() had created it
    handler["early"] = early
    install._instrument_existing(handler)
    assert getattr(early, calls.MARKER)
    with tracekit.span("root"):
        early.get("a")
    assert attrs(cache_spans(spans)[0])["cache.alias"] == "early"


def test_install_is_idempotent(caches_config: dict[str, Any], spans: Spans) -> None:
    patched = CacheHandler.create_connection
    assert install.install()
    assert CacheHandler.create_connection is patched
    with tracekit.span("root"):
        caches["default"].get("a")
    assert len(cache_spans(spans)) == 1
