"""A scratch PostgreSQL database for one benchmark run, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
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
        from django.db import connections

        connections.close_all()
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
