"""Real ``manage.py`` processes of a small project (tests/commands/project.py) with a
migrated SQLite database: each command's span reaches a local OTLP receiver over the real
exporter, and its feature-usage counts are in the database once the process has exited."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands.project import PROJECT, Project, span_name
from tests.support.frames import frame_name
from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan

pytestmark = pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")

MIGRATE = "django/core/management/commands/migrate/Command/handle"  # Django's: no prefix
ERROR = 2  # OTLP STATUS_CODE_ERROR


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpHttpReceiver]:
    with OtlpHttpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, receiver: OtlpHttpReceiver) -> Project:
    project = Project(tmp_path_factory.mktemp("commands"), receiver.endpoint)
    ok(project.manage("migrate", "--noinput"))
    return project


def trace_of(receiver: OtlpHttpReceiver, root_name: str, after: int) -> list[ReceivedSpan]:
    """The spans of the trace whose root is the newest span named ``root_name``."""
    spans = receiver.wait_for(lambda all_: any(s.name == root_name for s in all_[after:]))
    root = [s for s in spans[after:] if s.name == root_name][-1]
    return [s for s in receiver.spans if s.trace_id == root.trace_id]


def test_djangos_own_deploy_commands_are_not_features(
        project: Project, receiver: OtlpHttpReceiver) -> None:
    # The fixture ran migrate; a project command after it shows the exporter delivered.
    after = len(receiver.spans)
    ok(project.manage("refresh"))
    trace_of(receiver, span_name("refresh"), after)
    assert project.usage(MIGRATE) is None
    assert not any(s.name == MIGRATE for s in receiver.spans)


def test_what_a_data_migration_runs_is_not_usage(project: Project) -> None:
    """The Plane trial's feature list showed 16 functions only its data migrations ran. The
    migration module is never instrumented (tests/autotrace/test_install.py); the app's
    helper it calls is, and is not counted while ``migrate`` runs."""
    assert project.usage(f"{PROJECT}/migrations/0001_backfill/forwards") is None
    assert project.usage(f"{PROJECT}/services/backfill_label") is None
    # Called as the product calls it (here by a command of the project): counted.
    ok(project.manage("relabel"))
    assert project.usage(f"{PROJECT}/services/backfill_label") == ("function", 1, 0)


def test_command_is_a_root_span_with_its_calls_under_it(
        project: Project, receiver: OtlpHttpReceiver) -> None:
    after = len(receiver.spans)
    result = ok(project.manage("refresh", "--token=s3cret-value", "--dry-run"))
    assert result.stdout == "refreshed 4 items\n"
    spans = trace_of(receiver, span_name("refresh"), after)
    names = {s.span_id: s.name for s in spans}
    tree = sorted((s.name, names.get(s.parent_span_id, "")) for s in spans)
    # One span stands for handle (the command's, not a second auto-traced one); the slow
    # auto-traced service call, the query and the manual span are its children; quick
    # calls are only counted.
    assert tree == sorted([
        (span_name("refresh"), ""),
        (f"{PROJECT}/services/slow_step", span_name("refresh")),
        ("SELECT auth_user", span_name("refresh")),
        ("refresh/manual", span_name("refresh")),
        # manage.py runs the system checks inside the command: their own span, no feature.
        ("django/core/management/base/BaseCommand/check", span_name("refresh")),
    ])
    [command] = [s for s in spans if s.name == span_name("refresh")]
    # The command's log record is an event on its span.
    logs = [attributes for name, attributes in command.events if name == "log"]
    assert [log["log.message"] for log in logs] == ["catalog refresh: 4 items"]
    assert command.kind == 1  # INTERNAL
    assert command.attributes["tracekit.feature.kind"] == "command"
    assert command.attributes["tracekit.command.name"] == "refresh"
    assert command.attributes["tracekit.command.options"] == ["--token", "--dry-run"]
    assert command.attributes["process.exit.code"] == 0
    assert command.attributes["code.function.name"] == (
        "shop.management.commands.refresh.Command.handle")
    assert not any("s3cret" in str(value) for s in spans for value in s.attributes.values())
    assert command.resource["service.name"] == "commands-tests"
    # handle is auto-traced too, but the command span stands for it: counted once, as a
    # command, never also as a function.
    assert {kind for (kind,) in project.rows(
        "SELECT kind FROM tracekit_feature WHERE name = ?", span_name("refresh"))} == {"command"}


def test_command_counted_after_exit(project: Project, receiver: OtlpHttpReceiver) -> None:
    before = project.usage(span_name("bye"))
    result = ok(project.manage("bye"))  # sys.exit(0) inside handle: not an error
    assert result.stdout == "done early\n"
    calls = 0 if before is None else before[1]
    assert project.usage(span_name("bye")) == ("command", calls + 1, 0)
    # Auto-traced functions the command called are counted as functions.
    assert project.usage(f"{PROJECT}/services/slow_step") is not None


def test_failing_command_counts_an_error_with_its_stack(
        project: Project, receiver: OtlpHttpReceiver) -> None:
    after = len(receiver.spans)
    result = project.manage("explode")
    assert result.returncode == 3  # CommandError(returncode=3): unchanged
    assert result.stdout == "starting\n"
    assert result.stderr == "CommandError: catalog unavailable\n"
    assert project.usage(span_name("explode")) == ("command", 1, 1)
    [(error_type, message, stack)] = project.error_samples(span_name("explode"))
    assert error_type == "django.core.management.base.CommandError"
    assert message == "catalog unavailable"
    # Full stack: from manage.py down to the raise in handle.
    assert 'manage.py", line' in stack and f"in {frame_name('Command.handle')}" in stack
    assert stack.index("run_from_argv") < stack.index(f"in {frame_name('Command.handle')}")
    [span] = [s for s in trace_of(receiver, span_name("explode"), after)
              if s.name == span_name("explode")]
    assert span.status_code == ERROR
    assert span.attributes["process.exit.code"] == 3
    assert len(span.exceptions) == 1


def test_call_command_inside_a_command_is_a_child(
        project: Project, receiver: OtlpHttpReceiver) -> None:
    after = len(receiver.spans)
    assert ok(project.manage("outer")).stdout == "refreshed 4 items\n"
    spans = trace_of(receiver, span_name("outer"), after)
    [outer] = [s for s in spans if s.name == span_name("outer")]
    [inner] = [s for s in spans if s.name == span_name("refresh")]
    assert inner.parent_span_id == outer.span_id
    assert "process.exit.code" not in inner.attributes  # not the process's command


def test_excluded_and_long_running_commands_are_not_traced(
        project: Project, receiver: OtlpHttpReceiver) -> None:
    after = len(receiver.spans)
    assert ok(project.manage("nightly")).stdout == "excluded\n"  # in COMMANDS EXCLUDE
    assert ok(project.manage("shell", "-c", "print('in shell')")).stdout.endswith("in shell\n")
    commands = {name for (name,) in project.rows(
        "SELECT name FROM tracekit_feature WHERE kind = 'command'")}
    assert span_name("nightly") not in commands
    assert not any("/commands/shell/" in name for name in commands)
    assert not any(s.attributes.get("tracekit.feature.kind") == "command"
                   for s in receiver.spans[after:])
    # nightly's handle is still the team's code: auto-traced, counted as a function.
    usage = project.usage(span_name("nightly"))
    assert usage is not None and usage[0] == "function"


@pytest.mark.parametrize("args", [("refresh",), ("explode",), ("bye",), ("nosuchcommand",),
                                  ("refresh", "--help")])
def test_exit_code_and_output_are_unchanged(project: Project, args: tuple[str, ...]) -> None:
    traced = project.manage(*args)
    untraced = project.manage(*args, TK_COMMANDS="0")
    assert (traced.returncode, traced.stdout, traced.stderr) == (
        untraced.returncode, untraced.stdout, untraced.stderr)



def test_check_on_a_fresh_checkout_creates_no_database_and_prints_no_traceback(
        tmp_path: Path) -> None:
    fresh = Project(tmp_path)  # never migrated: no database file yet
    result = fresh.manage("check")
    assert result.returncode == 0, result.stderr
    # W023 (no admin in this project) is silenced by the test project's settings.
    assert result.stdout == "System check identified no issues (1 silenced).\n"
    assert "Traceback" not in result.stderr
    assert not fresh.database.exists()  # the command's count waits for the tables quietly
