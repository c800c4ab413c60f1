"""The wrapper on every connection: idempotent, first in the list, removable; the off switch."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from django_tracekit import testing
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.db import install
from django_tracekit.sources.db.wrapper import QueryTracer
from tests.db.conftest import run_scenarios


def ours(wrappers: list[Any]) -> list[Any]:
    return [w for w in wrappers if isinstance(w, QueryTracer)]


@pytest.fixture
def reinstalled() -> Iterator[None]:
    yield
    install.install()  # as the bootstrap left it


@pytest.mark.django_db
def test_installed_once_first_in_the_list(reinstalled: None) -> None:
    connection.ensure_connection()
    install.install()
    install.install()
    assert len(ours(connection.execute_wrappers)) == 1

    calls: list[str] = []

    def application_wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
        calls.append(sql)
        return execute(sql, *args)

    # Django's public context manager pops the last entry on exit: ours stays first and
    # the application's own wrapper is the one removed.
    with connection.execute_wrapper(application_wrapper):
        install.attach(connection)
        assert isinstance(connection.execute_wrappers[0], QueryTracer)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert calls == ["SELECT 1"]
    assert [type(w) for w in connection.execute_wrappers] == [QueryTracer]


@pytest.mark.django_db
def test_uninstalled_no_spans_and_no_wrapper(reinstalled: None) -> None:
    connection.ensure_connection()
    install.uninstall()
    assert not ours(connection.execute_wrappers)
    with (testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"),
          connection.cursor() as cursor):
        cursor.execute("SELECT 1")
    assert [s.name for s in spans] == ["parent"]
    install.install()
    assert len(ours(connection.execute_wrappers)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_it_when_it_connects() -> None:
    """Another thread's connection object is new and connects on its first query."""
    seen: list[list[Any]] = []

    def query() -> None:
        from django.db import connection as own

        try:
            with own.cursor() as cursor:
                cursor.execute("SELECT 2")
            seen.append(list(own.execute_wrappers))
        finally:
            own.close()

    with testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"):
        thread = threading.Thread(target=contextvars.copy_context().run, args=(query,))
        thread.start()
        thread.join()
    assert [len(ours(w)) for w in seen] == [1]
    assert [s.name for s in spans] == ["SELECT", "parent"]


def test_a_connection_without_the_list_is_left_alone(caplog: pytest.LogCaptureFixture) -> None:
    class Odd:
        pass

    assert install.attach(Odd()) is False


def test_off_switch(tmp_path: Path) -> None:
    """TRACEKIT={"DB": {"ENABLED": False}}: no wrapper on any connection, no query span."""
    result = run_scenarios("sqlite", tmp_path, tracekit={"DB": {"ENABLED": False}},
                           env={"TK_DB_OFF": "1"})
    assert result["wrappers"] == []
    spans = result["n_plus_one"]["spans"]
    assert result["n_plus_one"]["status"] == 200
    assert [s["kind"] for s in spans] == ["INTERNAL", "SERVER"]  # view and request only
    assert not [e for s in spans for e in s["events"]]
