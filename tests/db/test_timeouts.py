"""Timeouts of tracekit's own writes (issue 21, item 3): only on the flusher threads'
connections, per vendor, a project's shorter timeout kept; on real PostgreSQL the write
transaction carries the statement timeout and the application's connection does not."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from django_tracekit.storage import timeouts
from tests.support.databases import fresh_database
from tests.support.scripts import check, run_django


def test_each_vendor_gets_its_timeouts_and_a_shorter_one_of_the_project_is_kept() -> None:
    assert timeouts.options("postgresql", {"sslmode": "disable"}) == {
        "sslmode": "disable", "connect_timeout": timeouts.CONNECT_TIMEOUT_S}
    assert timeouts.options("postgresql", {"connect_timeout": 2})["connect_timeout"] == 2
    assert timeouts.options("postgresql", {"connect_timeout": 60})["connect_timeout"] == 3
    assert timeouts.options("mysql", {}) == {
        "connect_timeout": 3, "read_timeout": 15, "write_timeout": 15}
    assert timeouts.options("sqlite", {"timeout": 30}) == {"timeout": 10.0}
    assert timeouts.options("sqlite", {"timeout": 1}) == {"timeout": 1}
    assert timeouts.options("oracle", {"x": 1}) == {"x": 1}


def test_only_a_writer_thread_is_marked() -> None:
    seen: list[bool] = []

    def writer() -> None:
        timeouts.mark_writer_thread()
        seen.append(timeouts.is_writer_thread())

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join()
    assert seen == [True]
    assert not timeouts.is_writer_thread()  # this thread: the application's


WRITE = """
import json
import threading
from django.db import connection, transaction
from django_tracekit.storage import timeouts

def in_transaction() -> tuple:
    timeouts.apply(connection)
    with transaction.atomic():
        timeouts.statement_timeout(connection)
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            statement = cursor.fetchone()[0]
    params = connection.get_connection_params()
    connection.close()
    return statement, params.get("connect_timeout")

found = {}
def writer():
    timeouts.mark_writer_thread()
    found["writer"] = in_transaction()
thread = threading.Thread(target=writer)
thread.start()
thread.join()
found["application"] = in_transaction()
print(json.dumps(found))
"""


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_the_flusher_threads_postgresql_write_has_the_timeouts_the_application_not() -> None:
    with fresh_database("postgres") as name:
        database: dict[str, Any] = {"ENGINE": "django.db.backends.postgresql",
                                    "HOST": "127.0.0.1", "NAME": name, "USER": "postgres"}
        result = check(run_django(WRITE, {"DATABASES": {"default": database}}))
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["writer"] == ["15s", 3]
    assert found["application"] == ["0", None]
