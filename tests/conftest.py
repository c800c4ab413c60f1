from __future__ import annotations

import importlib.util
import os
import socket
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan

from tests.support import memory

# `make test` runs the suite twice: the full profile (all extras installed: a test that
# needs a missing extra FAILS) and the core profile (no extras: such tests are skipped).
PROFILE = os.environ.get("TRACEKIT_TEST_PROFILE", "full")
EXTRAS = ("celery", "sentry_sdk", "opentelemetry.exporter.otlp")


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def pytest_configure(config: pytest.Config) -> None:
    if PROFILE == "core":
        present = [m for m in EXTRAS if _installed(m)]
        if present:
            raise pytest.UsageError(f"core profile must run without extras, found {present}")


# Services the machine runs; tests marked `service("redis")` need them. Outside CI an
# unreachable service skips the test; in CI (CI=true) it fails: CI must not pass by skipping.
SERVICES = {
    "postgres": ("127.0.0.1", 5432),
    "mariadb": ("127.0.0.1", 3306),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
}
IN_CI = os.environ.get("CI", "").lower() == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def _require_service(name: str) -> None:
    if name in ("chromium", "prometheus"):  # binaries the test starts itself
        where = f"/usr/bin/{name}"
        ok = os.path.exists(where)
    else:
        host, port = SERVICES[name]
        ok = _reachable(host, port)
        where = f"{host}:{port}"
    if ok:
        return
    if IN_CI:
        pytest.fail(f"service {name} ({where}) is not available in CI")
    pytest.skip(f"service {name} ({where}) is not available (set CI=true to make this fail)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("service"):
        for name in marker.args:
            _require_service(name)
    for marker in item.iter_markers("requires"):
        missing = [m for m in marker.args if not _installed(m)]
        if not missing:
            continue
        if PROFILE == "core":
            pytest.skip(f"core profile: extra module(s) {missing} deliberately not installed")
        pytest.fail(f"full profile: required module(s) {missing} are not installed")


class Spans:
    """Finished spans captured in-process by tests.support.memory."""

    def clear(self) -> None:
        memory.exporter.clear()

    def all(self) -> list[ReadableSpan]:
        return list(memory.exporter.get_finished_spans())

    def named(self, name: str) -> ReadableSpan:
        matches = [s for s in self.all() if s.name == name]
        assert len(matches) == 1, f"{len(matches)} spans named {name!r}: {self.names()}"
        return matches[0]

    def names(self) -> list[str]:
        return [s.name for s in self.all()]


@pytest.fixture
def spans() -> Iterator[Spans]:
    captured = Spans()
    captured.clear()
    yield captured
    captured.clear()


@pytest.fixture(autouse=True)
def _fresh_log_limits() -> None:
    """tracekit's once-a-minute log limits are per process family: each test starts clean,
    so a test's expected line is not held back by an earlier test's."""
    from django_tracekit.core import logonce

    logonce.forget()
