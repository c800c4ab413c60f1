"""tracekit's own queries, migrations' and suppressed blocks never make spans."""

from __future__ import annotations

import types
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from django_tracekit import testing
from django_tracekit.core.tracer import get_tracer
from django_tracekit.core.vocabulary import OWN_DATA_MARKER
from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.records import MINUTE_NS
from django_tracekit.models import Feature
from django_tracekit.sources.db.quiet import quiet_caller, suppressed
from tests.db.test_wrapper import client_spans


def frames(*modules: str, marked: str = "") -> types.FrameType:
    """The innermost live frame of a call chain through functions defined in ``modules``
    (outermost first), as if each module's code called the next one's; the module named
    ``marked`` carries the own-data marker in its globals."""
    call: Any = None
    for module in reversed(modules):
        namespace: dict[str, Any] = {"__name__": module, "inner": call}
        if module == marked:
            namespace[OWN_DATA_MARKER] = True
        exec("import sys\ndef f():\n    return inner() if inner else sys._getframe()\n",
             namespace)
        call = namespace["f"]
    return call()  # type: ignore[no-any-return]


def test_who_is_quiet() -> None:
    assert quiet_caller(frames(
        "django_tracekit.destinations.stats.store", "django.db.models.query"))
    assert quiet_caller(frames("django_tracekit.pages.usage.table"))
    assert quiet_caller(frames("shop.migrations.0002_data"))  # a RunPython function
    assert quiet_caller(frames("shop.views", "django.db.migrations.executor"))
    assert not quiet_caller(frames("shop.views", "django.db.models.query"))
    # tracekit's instrumentation wraps the application (middleware, view spans): looked
    # through, so Django's own queries under it (sessions, generic views) stay traced.
    assert not quiet_caller(frames("django_tracekit.sources.http.middleware",
                                   "django.contrib.sessions.backends.db"))
    assert not quiet_caller(frames("django_tracekit.sources.http.middleware", "shop.views",
                                   "django.db.models.query"))


def test_own_data_code_is_recognised_by_its_marker_not_its_path() -> None:
    # A module moved or added inside a marked package (pages/, storage/, the writers) is
    # quiet without any list to update...
    assert quiet_caller(frames("django_tracekit.pages.a_page_added_later",
                               "django.db.models.query"))
    assert quiet_caller(frames("django_tracekit.storage.sub.moved_writer"))
    # ...a module elsewhere is quiet when it carries the marker itself...
    new = "django_tracekit.somewhere_new"
    assert quiet_caller(frames(new, marked=new))
    # ...and instrumentation (no marker on it or above it) is looked through.
    assert not quiet_caller(frames("django_tracekit.somewhere_new", "django.db.models.query"))
    assert not quiet_caller(frames("django_tracekit.sources.db.wrapper",
                                   "django.db.models.query"))


def test_every_module_that_imports_tracekit_tables_is_marked() -> None:
    # The marker is the contract: a module that reads or writes tracekit's tables outside a
    # marked package would turn the admin's own queries into spans.
    from tests.test_architecture import imports

    tables = ("django_tracekit.models", "django_tracekit.storage.usage_models",
              "django_tracekit.storage.trace_models")
    unmarked = sorted({f"{i.module} ({i.path.name}:{i.line})" for i in imports()
                       if i.target in tables and not i.module.endswith(".migrations")
                       and ".migrations." not in i.module
                       and not quiet_caller(frames(i.module, marked=_marked(i.module)))})
    assert not unmarked, f"set {OWN_DATA_MARKER} = True in (or above): {unmarked}"


def _marked(module: str) -> str:
    import importlib

    loaded = importlib.import_module(module)
    return module if getattr(loaded, OWN_DATA_MARKER, None) is True else ""


def test_migrate_inside_a_span_makes_no_query_spans(run: dict[str, Any]) -> None:
    spans = run["migrate"]
    assert [s["name"] for s in spans if s["parent_id"] is None] == ["deploy"]
    assert client_spans(spans) == []


def test_own_writes_and_suppressed_block_make_no_spans(run: dict[str, Any]) -> None:
    assert run["flush"]["ok"] is True
    assert [s["name"] for s in run["flush"]["spans"]] == ["flushing"]
    assert run["usage"]  # the stats were written (inside the span, without spans)


@pytest.mark.django_db
def test_stats_write_in_process_makes_no_spans() -> None:
    key = ("tests/db/feature", "function", "svc", 1_700_000_000 * 10**9 // MINUTE_NS)
    with testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"):
        store.write({key: [1, 0, 1000, 1000, {0: 1}, 1]}, ())
        with suppressed(), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert Feature.objects.filter(name="tests/db/feature").exists()
    assert [s.name for s in spans] == ["parent"]


@pytest.mark.django_db
def test_re_running_migrate_in_a_span_makes_no_spans() -> None:
    with testing.capture_spans() as spans, get_tracer().start_as_current_span("deploy"):
        call_command("migrate", verbosity=0)  # post_migrate: permissions, content types
    assert [s for s in spans if s.kind.name == "CLIENT"] == []
