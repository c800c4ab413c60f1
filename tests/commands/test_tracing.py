"""A command's span in this process: name, attributes, parent, outcome and exclusions
(``call_command`` with real command objects; ``manage.py`` itself: test_manage.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

import django_tracekit as tracekit
from django_tracekit.core import features
from django_tracekit.sources.commands import tracing
from django_tracekit.testing import CapturedSpans, capture_spans
from tests.commands.management.commands import greet, nightly, outcome, runserver, steps
from tests.support.frames import frame_name

COMMANDS = "tests/commands/management/commands"
GREET = f"{COMMANDS}/greet/Command/handle"
OUTCOME = f"{COMMANDS}/outcome/Command/handle"


@pytest.fixture
def spans() -> Iterator[CapturedSpans]:
    with capture_spans() as captured:
        yield captured


def named(spans: CapturedSpans, name: str) -> ReadableSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]


def attrs(span: ReadableSpan) -> dict[str, object]:
    return dict(span.attributes or {})


def test_a_command_is_a_root_span_named_after_its_handle(spans: CapturedSpans) -> None:
    assert call_command(greet.Command(), name="tracekit") == "hello tracekit"
    span = named(spans, GREET)
    assert span.parent is None
    assert span.kind is SpanKind.INTERNAL
    attributes = attrs(span)
    assert attributes[features.FEATURE_KIND] == "command"
    assert attributes[tracing.COMMAND_NAME] == "greet"
    assert attributes["code.function.name"] == (
        "tests.commands.management.commands.greet.Command.handle")
    assert str(attributes["code.file.path"]).endswith("commands/greet.py")
    assert span.status.status_code is StatusCode.UNSET
    # The stats count it as a command, not a function.
    scope = span.instrumentation_scope.name if span.instrumentation_scope else None
    assert features.feature_kind(span.kind, scope, span.attributes) == features.COMMAND
    # Not the command the process runs (pytest is): no exit code, no command line.
    assert tracing.EXIT_CODE not in attributes and tracing.COMMAND_OPTIONS not in attributes


def test_call_command_inside_a_span_is_a_child(spans: CapturedSpans) -> None:
    with tracekit.span("caller") as caller:
        call_command(greet.Command())
        with tracekit.span("inside"):  # the command's context was detached again
            pass
    span = named(spans, GREET)
    assert span.parent is not None
    assert span.parent.span_id == caller.get_span_context().span_id
    assert span.context.trace_id == caller.get_span_context().trace_id
    inside = named(spans, "inside")
    assert inside.parent is not None
    assert inside.parent.span_id == caller.get_span_context().span_id


def test_call_command_inside_a_span_is_counted_as_a_function_not_a_command(
        spans: CapturedSpans) -> None:
    """pontoon's calculate_stats task runs call_command("calculate_stats"): the Commands tab
    counted a command nobody ran, and the headline counted the entry point twice."""
    with tracekit.span("caller"):
        call_command(greet.Command())
    call_command(greet.Command())  # a root: a command
    kinds = sorted(
        (s.parent is None, features.feature_kind(
            s.kind, s.instrumentation_scope.name if s.instrumentation_scope else None,
            s.attributes))
        for s in spans if s.name == GREET)
    assert kinds == [(False, features.FUNCTION), (True, features.COMMAND)]


def test_spans_inside_handle_are_its_children(spans: CapturedSpans) -> None:
    assert call_command(steps.Command()) == "ok"
    command = named(spans, f"{COMMANDS}/steps/Command/handle")
    # tracekit.span() without a name inside handle is the command's span (one span)...
    assert attrs(command)["steps.count"] == 1
    # ...and a named one is its child.
    load = named(spans, "steps/load")
    assert load.parent is not None and load.parent.span_id == command.context.span_id


def test_command_error_is_an_error_with_its_stack(spans: CapturedSpans) -> None:
    with pytest.raises(CommandError):
        call_command(outcome.Command(), "command_error", code=3)
    span = named(spans, OUTCOME)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "django.core.management.base.CommandError"
    [event] = [e for e in span.events if e.name == "exception"]
    stack = str(dict(event.attributes or {})["exception.stacktrace"])
    assert f"in {frame_name('Command.handle')}" in stack and "in call_command" in stack
    assert stack.rstrip().endswith("CommandError: nothing to do")


def test_an_exception_is_an_error(spans: CapturedSpans) -> None:
    with pytest.raises(ValueError, match="broken input"):
        call_command(outcome.Command(), "exception")
    span = named(spans, OUTCOME)
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "ValueError"
    assert len([e for e in span.events if e.name == "exception"]) == 1


@pytest.mark.parametrize(("code", "is_error"), [(0, False), (2, True)])
def test_sys_exit_zero_is_not_an_error(spans: CapturedSpans, code: int, is_error: bool) -> None:
    with pytest.raises(SystemExit):
        call_command(outcome.Command(), "exit", code=code)
    span = named(spans, OUTCOME)
    assert (span.status.status_code is StatusCode.ERROR) is is_error
    assert bool([e for e in span.events if e.name == "exception"]) is is_error


def test_keyboard_interrupt_is_not_an_error(spans: CapturedSpans) -> None:
    with pytest.raises(KeyboardInterrupt):
        call_command(outcome.Command(), "interrupt")
    span = named(spans, OUTCOME)
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time is not None


def test_long_running_own_and_excluded_commands_are_not_traced(spans: CapturedSpans) -> None:
    assert call_command(runserver.Command()) == "serving"
    with override_settings(TRACEKIT={"EXPORTER": "none", "STATS": {"ENABLED": False},
                                     "COMMANDS": {"EXCLUDE": ["nightly"]}}):
        assert call_command(nightly.Command()) == "nightly"
        assert call_command(greet.Command()) == "hello world"
    with override_settings(TRACEKIT={"EXPORTER": "none", "STATS": {"ENABLED": False},
                                     "COMMANDS": {"ENABLED": False}}):
        assert call_command(greet.Command(), name="off") == "hello off"
    names = [s.name for s in spans]
    assert names == [GREET]  # only greet, while it was neither excluded nor switched off
    assert tracing.traced(runserver.Command) is None
    for name in ("shell", "dbshell", "test", "celery", "tracekit_prune", "tracekit_lint"):
        cls = type("Command", (greet.Command,), {"__module__": f"app.management.commands.{name}"})
        assert tracing.traced(cls) is None, name


def test_the_process_command_has_its_exit_code_and_option_names(
        spans: CapturedSpans, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "outcome", "command_error", "--code=4",
                                      "-v2", "--settings", "x.y"])
    with pytest.raises(CommandError):
        call_command(outcome.Command(), "command_error", code=4)
    attributes = attrs(named(spans, OUTCOME))
    assert attributes[tracing.EXIT_CODE] == 4
    assert attributes[tracing.COMMAND_OPTIONS] == ("--code", "-v", "--settings")


def test_option_names_never_values() -> None:
    argv = ["positional", "--password=hunter2", "--token", "s3cret", "-pSECRET", "-5",
            "--dry-run", "--", "--after-separator"]
    names = tracing.option_names(argv)
    assert names == ("--password", "--token", "-p", "--dry-run")
    assert not any(secret in "".join(names) for secret in ("hunter2", "s3cret", "SECRET"))
    assert len(tracing.option_names([f"--o{i}" for i in range(100)])) == 32


@pytest.mark.parametrize(("exc", "code"), [
    (None, 0),
    (SystemExit(None), 0),
    (SystemExit(0), 0),
    (SystemExit(5), 5),
    (SystemExit("a message"), 1),
    (CommandError("x"), 1),
    (CommandError("x", returncode=7), 7),
    (ValueError("x"), 1),
    (KeyboardInterrupt(), 130),
])
def test_exit_code_is_what_manage_py_exits_with(exc: BaseException | None, code: int) -> None:
    assert tracing.exit_code(exc) == code


def test_command_error_with_traceback_option_exits_1() -> None:
    assert tracing.exit_code(CommandError("x", returncode=7), traceback_option=True) == 1


def test_huge_and_odd_command_lines_are_capped() -> None:
    argv = [f"--option-{i}-{'x' * 500}=value" for i in range(100_000)]
    names = tracing.option_names(["--naïve-ünïcode=€", "-\x00", *argv])
    assert len(names) == 32
    assert names[0] == "--naïve-ünïcode"
    assert all(len(name) <= 64 for name in names)


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


def test_an_exception_that_cannot_be_printed_still_fails_the_command_as_usual(
        spans: CapturedSpans) -> None:
    class Command(greet.Command):
        def handle(self, *args: object, **options: object) -> str:
            raise Unprintable

    Command.__module__ = "elsewhere"  # defined outside a commands package: named "elsewhere"
    with pytest.raises(Unprintable):
        call_command(Command())
    [span] = [s for s in spans if attrs(s).get(tracing.COMMAND_NAME) == "elsewhere"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.name.startswith("tests/elsewhere/")


def test_system_checks_run_in_a_child_span_that_is_no_feature(spans: CapturedSpans) -> None:
    """pontoon's collect_insights command: 4 of its 6 s were Django's system checks (every
    URLconf and view imported), blank time in the waterfall."""
    assert call_command(greet.Command(), skip_checks=False) == "hello world"
    command = named(spans, GREET)
    checks = named(spans, "django/core/management/base/BaseCommand/check")
    assert checks.parent is not None and checks.parent.span_id == command.context.span_id
    scope = checks.instrumentation_scope.name if checks.instrumentation_scope else None
    assert features.feature_kind(checks.kind, scope, checks.attributes) is None
    assert "check" not in vars(greet.Command())  # the instance is left as it was
    call_command(greet.Command())  # skip_checks=True, call_command's default: no span
    assert len([s for s in spans if s.name.endswith("BaseCommand/check")]) == 1


def test_djangos_deploy_and_development_commands_are_not_usage() -> None:
    """The project's functions Django's own steps call (a data migration, the signal handlers
    ``loaddata`` fires) are not counted; the servers, shells, ``test`` and the jobs are
    usage; a project's command is always usage (it is traced)."""
    from django.contrib.auth.management.commands import createsuperuser
    from django.contrib.sessions.management.commands import clearsessions
    from django.contrib.staticfiles.management.commands import collectstatic
    from django.contrib.staticfiles.management.commands import runserver as static_runserver
    from django.core.management.commands import check, flush, loaddata, migrate, shell
    from django.core.management.commands import test as test_command

    for module in (migrate, loaddata, flush, check, collectstatic, createsuperuser):
        assert tracing.not_usage(module.Command), module.__name__
    for module in (static_runserver, shell, test_command, clearsessions):
        assert not tracing.not_usage(module.Command), module.__name__
    assert not tracing.not_usage(greet.Command)
    assert not tracing.not_usage(runserver.Command)  # the project's own "runserver"
