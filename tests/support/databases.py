"""Fresh, empty databases of their own for tests that run real PostgreSQL / MariaDB
(parallel runs never share rows), dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_ADMIN = "host=127.0.0.1 user=postgres dbname=test"


@contextmanager
def fresh_database(vendor: str, prefix: str = "tracekit") -> Iterator[str]:
    """The name of a new database on the local ``postgres`` or ``mariadb`` server."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    if vendor == "postgres":
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    assert vendor == "mariadb", vendor
    import pymysql

    connection = pymysql.connect(host="127.0.0.1", user="root", password="")
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield name
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()
