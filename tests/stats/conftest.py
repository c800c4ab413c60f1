from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from django_tracekit import bootstrap
from django_tracekit.destinations.stats import store
from django_tracekit.destinations.stats.processor import StatsProcessor

_attached: StatsProcessor | None = None


@pytest.fixture
def stats_processor() -> Iterator[StatsProcessor]:
    """The stats processor on this process's provider (tests/settings.py disables STATS,
    and the bootstrap runs once per process): attached once, emptied for every test."""
    global _attached
    if _attached is None:
        state = bootstrap.state()
        assert state is not None and isinstance(state.provider, TracerProvider)
        _attached = StatsProcessor(store.write, start_thread=False)
        state.provider.add_span_processor(_attached)
    _attached._init_state()
    store.clear_cache()  # feature ids of a rolled-back test database are stale
    yield _attached
    _attached._init_state()


@pytest.fixture(autouse=True)
def _fresh_feature_ids() -> Iterator[None]:
    store.clear_cache()
    yield
    store.clear_cache()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The test database is gone by the time atexit flushes: nothing left to write to.
    if _attached is not None:
        _attached._init_state()
        _attached._writer = lambda increments, errors: 0
