"""The seam: ``BaseCommand.execute`` wrapped once on this Django, reversible, and never the
reason a command fails."""

from __future__ import annotations

import inspect
import logging

import pytest
from django.core.management import call_command
from django.core.management.base import BaseCommand

from django_tracekit.sources.commands import patch, tracing
from django_tracekit.testing import capture_spans
from tests.commands.management.commands import greet

GREET = "tests/commands/management/commands/greet/Command/handle"


def test_execute_is_wrapped_at_setup_and_keeps_its_signature() -> None:
    assert patch.installed()  # the registry's CommandsIntegration ran at django.setup()
    wrapper = BaseCommand.__dict__["execute"]
    original = wrapper.__wrapped__
    # What the wrapper relies on in this Django: execute(self, *args, **options).
    assert list(inspect.signature(original).parameters) == ["self", "args", "options"]
    assert inspect.signature(wrapper) == inspect.signature(original)
    assert patch.install() is True  # idempotent: not wrapped twice
    assert BaseCommand.__dict__["execute"] is wrapper


def test_uninstall_restores_and_install_wraps_again() -> None:
    try:
        patch.uninstall()
        assert not patch.installed()
        with capture_spans() as spans:
            assert call_command(greet.Command()) == "hello world"
        assert [s.name for s in spans] == []
    finally:
        patch.install()
    with capture_spans() as spans:
        call_command(greet.Command())
    assert [s.name for s in spans] == [GREET]


def test_uninstall_leaves_a_later_wrapper_alone() -> None:
    ours = BaseCommand.__dict__["execute"]

    def someone_elses(self: BaseCommand, *args: object, **options: object) -> object:
        return ours(self, *args, **options)

    BaseCommand.execute = someone_elses  # type: ignore[method-assign,assignment]
    try:
        patch.uninstall()
        assert BaseCommand.__dict__["execute"] is someone_elses
    finally:
        BaseCommand.execute = ours  # type: ignore[method-assign]


def test_a_tracing_failure_never_fails_the_command(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(cls: type) -> tracing.CommandMeta:
        raise RuntimeError("naming is broken")

    monkeypatch.setattr(tracing, "meta_for", broken)
    failures = patch._failures.count
    with caplog.at_level(logging.ERROR, logger="django_tracekit"), capture_spans() as spans:
        assert call_command(greet.Command(), name="anyway") == "hello anyway"
        assert call_command(greet.Command(), name="again") == "hello again"
    assert [s.name for s in spans] == []
    logged = [r for r in caplog.records if "tracing a management command failed" in r.message]
    assert len(logged) <= 1  # once per process (it may have been logged by an earlier test)
    assert patch._failures.count == failures + 2  # both counted


def test_no_execute_method_means_untraced_with_a_warning(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delattr(BaseCommand, "execute")  # restored after the test
    with caplog.at_level(logging.WARNING, logger="django_tracekit"):
        assert patch.install() is False
    assert "has no execute() method; management commands are not traced" in caplog.text
