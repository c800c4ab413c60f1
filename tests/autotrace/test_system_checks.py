"""Django's system checks run as not usage (``sources/autotrace/system_checks.py``): through
``django.core.checks.run_checks`` as every command, ``runserver`` and Celery's worker call
it, with tags and names kept. A guarded seam (docs/PRIVATE_SEAMS.md): this runs on the
oldest and newest supported Django (the core suite of the matrix)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core import checks
from django.core.checks.registry import CheckRegistry, registry

from django_tracekit.core import chain
from django_tracekit.sources.autotrace import system_checks

TAG = "tracekit_test_not_usage"
seen: list[Any] = []


def _check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    seen.append(chain.top())
    return [checks.Info("ran", id="tracekit_test.I001")]


@pytest.fixture
def registered() -> Iterator[None]:
    installed = getattr(CheckRegistry.__dict__["get_checks"], "__tracekit_original__", None)
    system_checks.install()
    registry.register(_check, TAG)
    seen.clear()
    try:
        yield
    finally:
        registry.registered_checks.discard(_check)
        if installed is None:
            system_checks.uninstall()


def test_checks_run_as_not_usage_with_their_tags(registered: None) -> None:
    before = chain.top()
    messages = checks.run_checks(tags=[TAG])  # bound at import, before tracekit loaded
    assert [m.id for m in messages] == ["tracekit_test.I001"]
    assert seen == [chain.NOT_USAGE]
    assert chain.top() is before  # restored after the check
    assert TAG in {t for c in registry.get_checks() for t in c.tags}
    assert registry.tag_exists(TAG)


def test_uninstall_restores_djangos_own(registered: None) -> None:
    system_checks.uninstall()
    checks.run_checks(tags=[TAG])
    assert seen == [chain.top()]  # counted as any call in this context
    system_checks.install()
