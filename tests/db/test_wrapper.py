"""Each query a CLIENT span, on SQLite, PostgreSQL and MariaDB (the shop project in a fresh
interpreter, real requests through Django's test Client), plus the in-process edge cases."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from django.db import connection

from django_tracekit import testing
from django_tracekit.core import sql_text as statements
from django_tracekit.core.sql_text import MAX_QUERY_TEXT
from django_tracekit.core.tracer import get_tracer
from django_tracekit.sources.db import wrapper

SYSTEMS = {"sqlite": "sqlite", "postgres": "postgresql", "mariadb": "mariadb"}
SECRETS = ("secret", "4242", "binary", "\U0001f600", "\u202e")


def client_spans(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for s in spans if s["kind"] == "CLIENT"]


def named(spans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    found = [s for s in spans if s["name"] == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r}: {[s['name'] for s in spans]}"
    return found[0]


def test_an_orm_query_is_a_client_span_with_semconv_attributes(run: dict[str, Any]) -> None:
    spans = run["n_plus_one"]["spans"]
    view = named(spans, "shop/views/n_plus_one")
    query = client_spans(spans)[0]
    assert query["name"] == "SELECT shop_order"
    assert query["parent_id"] == view["span_id"]
    assert query["trace_id"] == view["trace_id"]
    attributes = query["attributes"]
    assert attributes["db.system.name"] == SYSTEMS[run["vendor"]]
    assert attributes["db.operation.name"] == "SELECT"
    assert attributes["db.collection.name"] == "shop_order"
    quote = "`" if run["vendor"] == "mariadb" else '"'
    assert attributes["db.query.text"].startswith(f"SELECT {quote}shop_order{quote}.")
    assert attributes["db.namespace"]
    if run["vendor"] == "sqlite":
        assert "server.address" not in attributes
    else:
        assert attributes["server.address"] == "127.0.0.1"
        assert attributes["server.port"] == (5432 if run["vendor"] == "postgres" else 3306)


def test_raw_sql_keeps_placeholders_replaces_literals_never_records_values(
        run: dict[str, Any]) -> None:
    queries = client_spans(run["raw"]["spans"])
    assert [q["attributes"]["db.query.text"] for q in queries] == [
        "SELECT %s, ?, ?",  # a parameter, a quoted literal, a number
        "SELECT ?",  # cursor.execute(sql, None)
        "SELECT %s",  # binary parameter
        "SELECT %s",  # odd unicode parameter
        "SELECT ?",  # odd unicode in a literal
    ]
    assert all(q["name"] == "SELECT" and q["status"] == "UNSET" for q in queries)
    for span in run["raw"]["spans"]:
        shown = repr(span["attributes"]) + repr(span["events"])
        assert not [s for s in SECRETS if s in shown], span


def test_executemany_is_one_batch_span_without_per_row_work(run: dict[str, Any]) -> None:
    batch = run["batch"]
    assert batch["status"] == 200 and batch["body"] == {"rows": 100_003}
    queries = [q for q in client_spans(batch["spans"]) if "INSERT" in q["name"]]
    big, generated = queries
    assert big["name"] == "BATCH INSERT shop_row"
    assert big["attributes"]["db.operation.batch.size"] == 100_000
    assert big["attributes"]["db.operation.name"] == "BATCH INSERT"
    assert big["attributes"]["db.query.text"] == "INSERT INTO shop_row (n, label) VALUES (%s, %s)"
    # A generator has no length: nothing consumes it but the driver (its 3 rows are in).
    assert generated["name"] == "INSERT shop_row"
    assert "db.operation.batch.size" not in generated["attributes"]


def test_a_megabyte_statement_is_capped(run: dict[str, Any]) -> None:
    (query,) = client_spans(run["huge"]["spans"])
    text = query["attributes"]["db.query.text"]
    assert len(text) <= MAX_QUERY_TEXT and text.endswith("…")  # cut: 1 MB was given
    assert text.startswith("SELECT COUNT(*) FROM shop_row WHERE label IN (?, ?, ?")
    assert "secret" not in text and query["name"] == "SELECT shop_row"


def test_integrity_error_recorded_once_on_the_query_and_reraised(run: dict[str, Any]) -> None:
    result = run["duplicate"]
    assert result["status"] == 500  # the view got the exception: re-raised
    spans = result["spans"]
    (insert,) = client_spans(spans)
    assert insert["name"] == "INSERT shop_customer" and insert["status"] == "ERROR"
    recorded = [(s["name"], e) for s in spans for e in s["events"] if e["name"] == "exception"]
    assert [name for name, _ in recorded] == ["INSERT shop_customer"]  # once
    event = recorded[0][1]["attributes"]
    assert event["exception.type"] == "django.db.utils.IntegrityError"
    assert "shop/services" in event["exception.stacktrace"]  # the callers above the query
    for name in ("shop/services/add_customer", "shop/views/duplicate"):
        enclosing = named(spans, name)
        assert enclosing["status"] == "ERROR"
        assert enclosing["attributes"]["tracekit.error.span_id"] == insert["span_id"]


def test_async_orm_query_is_a_child_of_the_async_view(run: dict[str, Any]) -> None:
    spans = run["async"]["spans"]
    assert run["async"]["status"] == 200
    (query,) = client_spans(spans)
    assert query["name"] == "SELECT shop_order"
    assert query["parent_id"] == named(spans, "shop/views/async_view")["span_id"]


def test_a_thread_with_its_own_connection_is_traced(run: dict[str, Any]) -> None:
    spans = run["thread"]
    (query,) = client_spans(spans)
    assert query["parent_id"] == named(spans, "spawner")["span_id"]
    assert query["attributes"]["db.collection.name"] == "shop_order"


def test_view_to_auto_traced_function_to_query(run: dict[str, Any]) -> None:
    spans = run["service"]["spans"]
    server = named(spans, "GET /service/")
    view = named(spans, "shop/views/via_service")
    function = named(spans, "shop/services/order_total")  # fast: kept for its child
    in_view, in_function = client_spans(spans)
    assert in_view["parent_id"] == view["span_id"]
    assert in_function["parent_id"] == function["span_id"]
    assert function["parent_id"] == view["span_id"]
    assert view["parent_id"] == server["span_id"]


def test_queries_outside_any_span_make_none(run: dict[str, Any]) -> None:
    assert run["outside"] == {"count": 8, "spans": []}


def test_one_wrapper_per_connection(run: dict[str, Any]) -> None:
    assert run["wrappers"] == ["QueryTracer"]


# -- in process (SQLite in memory) -----------------------------------------------------------

@pytest.mark.django_db
def test_a_failure_of_tracekit_runs_the_query_untraced(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    def broken(sql: object, mysql: bool = False) -> statements.Statement:
        raise RuntimeError("parser bug")

    monkeypatch.setattr(statements, "parse", broken)
    with (testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"),
          connection.cursor() as cursor):
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone() == (42,)
    assert [s.name for s in spans] == ["parent"]
    assert "tracing a database query failed" in caplog.text


@pytest.mark.django_db
def test_a_query_error_propagates_unchanged() -> None:
    with (testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"),
          pytest.raises(Exception) as raised, connection.cursor() as cursor):
        cursor.execute("SELECT * FROM no_such_table")
    from django.db import OperationalError

    assert type(raised.value) is OperationalError
    (query,) = [s for s in spans if s.name == "SELECT no_such_table"]
    assert [e.attributes["exception.type"] for e in query.events] == [
        "django.db.utils.OperationalError"]


@pytest.mark.django_db
def test_runtime_off_switch(settings: Any) -> None:
    settings.TRACEKIT = {**settings.TRACEKIT, "DB": {"ENABLED": False}}
    with (testing.capture_spans() as spans, get_tracer().start_as_current_span("parent"),
          connection.cursor() as cursor):
        cursor.execute("SELECT 1")
    assert [s.name for s in spans] == ["parent"]


def test_mariadb_is_told_apart_without_a_query() -> None:
    class Raw:
        def get_server_info(self) -> str:
            return "10.11.6-MariaDB-0+deb12u1"

    class Connection:
        vendor = "mysql"
        connection = Raw()
        settings_dict: ClassVar[dict[str, str]] = {"NAME": "shop", "HOST": "db",
                                                   "PORT": "3306"}

    assert wrapper.connection_attributes(Connection()) == {
        "db.system.name": "mariadb", "db.namespace": "shop", "server.address": "db",
        "server.port": 3306}


@pytest.mark.django_db
def test_a_handled_query_error_is_no_error_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """get_or_create's IntegrityError race: a failed query in the trace, not a Sentry event;
    the same error escaping into the application's code is reported, once."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import IntegrityError, transaction

    import django_tracekit as tracekit
    from django_tracekit.core import errors

    reported: list[BaseException] = []
    monkeypatch.setattr(errors, "error_listeners", [lambda exc, span: reported.append(exc)])
    ContentType.objects.get_or_create(app_label="tk", model="dup")
    tracer = get_tracer()
    with testing.capture_spans() as spans, tracer.start_as_current_span("handled"):
        try:
            with transaction.atomic():
                ContentType.objects.create(app_label="tk", model="dup")
        except IntegrityError:
            pass
    (insert,) = [s for s in spans if s.name == "INSERT django_content_type"]
    assert [e.name for e in insert.events] == ["exception"]  # the stack is in the trace
    assert reported == []
    # Escaping into code that records errors (a view, a task, an auto-traced function).
    with pytest.raises(IntegrityError), tracekit.span("unhandled"), transaction.atomic():
        ContentType.objects.create(app_label="tk", model="dup")
    assert len(reported) == 1 and isinstance(reported[0], IntegrityError)


def test_the_integration_hands_its_section_to_the_wrapper() -> None:
    from django_tracekit.conf import DbSettings, resolve
    from django_tracekit.sources.db.integration import DbIntegration

    before = wrapper.settings
    try:
        DbIntegration(resolve({"DB": {"N_PLUS_ONE": 7}}, {})).configure()
        assert wrapper.settings == DbSettings(enabled=True, n_plus_one=7)
    finally:
        wrapper.configure(before)


@pytest.mark.django_db
def test_a_query_never_reads_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per query, the wrapper reads what its integration handed it: with the settings
    unreadable, queries are still spans."""
    from django_tracekit.conf import current

    def unreadable(*args: Any) -> Any:
        raise AssertionError("get_config() on the query path")

    with (monkeypatch.context() as patched, testing.capture_spans() as spans):
        patched.setattr(current, "resolve", unreadable)
        patched.setattr(current, "_cached", None)
        with get_tracer().start_as_current_span("parent"), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert [s.name for s in spans] == ["SELECT", "parent"]
