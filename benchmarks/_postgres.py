"""A scratch PostgreSQL database for one benchmark run, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def scratch_database(prefix: str) -> Iterator[dict[str, Any] | None]:
    """Django DATABASES settings of a fresh database, or ``None`` (and a line saying so)
    when PostgreSQL is not reachable. Connections are closed before it is dropped."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True)
    except psycopg.OperationalError as exc:
        print(f"\n(PostgreSQL not reachable, skipped: {exc})")
        yield None
        return
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {"ENGINE": "django.db.backends.postgresql", "NAME": name,
               "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}
        from django.conf import settings

        if settings.configured:  # not in a runner whose Django runs in worker processes
            from django.db import connections

            connections.close_all()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_cpu_s() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (0 for SQLite: its
    work is in this process)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the database runs elsewhere: wall time only
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
