"""Fixtures for the real-server tests: one OTLP receiver and one migrated SQLite file per
session; one server per kind (gunicorn sync/gthread/preload, uvicorn), started on first use
and shared by every module, always stopped at the end of the session (or when it fails to
start)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http.helpers import Server, setup_database
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.processes import stopped_on_failure


@pytest.fixture(scope="session")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="session")
def project_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("http-db") / "db.sqlite3"
    return path, setup_database(path)


class ServerPool:
    def __init__(self, receiver: OtlpHttpReceiver, db: tuple[Path, int], log_dir: Path) -> None:
        self.receiver, self.db, self.log_dir = receiver, db, log_dir
        self.running: dict[str, Server] = {}

    def get(self, kind: str) -> Server:
        if kind not in self.running:
            server = Server(kind, self.receiver, self.db[0], self.log_dir, self.db[1])
            with stopped_on_failure(server.stop):
                server.wait_ready()
            self.running[kind] = server
        return self.running[kind]

    def stop_all(self) -> None:
        for server in self.running.values():
            server.stop()
        self.running.clear()


@pytest.fixture(scope="session")
def server_pool(receiver: OtlpHttpReceiver, project_db: tuple[Path, int],
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerPool]:
    pool = ServerPool(receiver, project_db, tmp_path_factory.mktemp("http-logs"))
    try:
        yield pool
    finally:
        pool.stop_all()


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, server_pool: ServerPool) -> Server:
    """The server of the kind the test module parametrizes (``indirect=True``)."""
    return server_pool.get(request.param)
