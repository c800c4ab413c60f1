"""Cost of tracing a management command: per call in-process, and per ``manage.py`` process.

    python benchmarks/bench_commands.py        (from the repository root)

1. In-process, ``call_command()`` of a command whose ``handle`` returns at once (the worst
   case: nothing to hide the span behind), default configuration (stats on, tracekit's own
   provider, spans to a dropping exporter), rounds of each:
   - untraced: ``BaseCommand.execute`` as Django ships it (the wrapper removed);
   - traced: the command span (name, attributes, attach/detach, stats aggregation);
   - for reference, one ``tracekit.span()`` root span alone (the SDK and the stats and
     trace-store processors: what any root span costs).
2. Whole processes, ``python manage.py <command>`` of a small project with a migrated
   SQLite database (what a cron job pays): COMMANDS on against COMMANDS off, the same
   tracekit otherwise, interleaved runs; the traced run also writes its stats at exit.

No peer traces management commands out of the box (contrib's Django instrumentation and
Sentry's Django integration do not), so the baseline is Django itself.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import django  # noqa: E402
from _timing import calibrate, per_call_seconds, print_table  # noqa: E402
from django.conf import settings  # noqa: E402
from opentelemetry.sdk.trace.export import (  # noqa: E402
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)


class DroppingExporter(SpanExporter):
    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def dropping_processor() -> SimpleSpanProcessor:
    return SimpleSpanProcessor(DroppingExporter())


settings.configure(
    INSTALLED_APPS=["django_tracekit"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TRACEKIT={"PROJECT_NAME": "bench", "EXPORTER": "__main__.dropping_processor"},
    LOGGING_CONFIG=None,
)
django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.management.base import BaseCommand  # noqa: E402

import django_tracekit as tracekit  # noqa: E402
from django_tracekit import bootstrap  # noqa: E402
from django_tracekit.sources.commands import patch  # noqa: E402
from django_tracekit.testing import capture_spans  # noqa: E402
from tests.commands.project import Project, span_name  # noqa: E402


class Command(BaseCommand):
    requires_system_checks = ()  # the command, not Django's checks

    def handle(self, *args: object, **options: object) -> None:
        return None


Command.__module__ = "bench.management.commands.noop"
COMMAND = Command()


def root_span() -> None:
    with tracekit.span("reference"):
        pass


def in_process() -> None:
    state = bootstrap.state()
    assert state is not None and state.provider is not None, f"tracing is off: {state}"
    assert patch.installed()
    with capture_spans() as spans:
        call_command(COMMAND)
    assert [s.name for s in spans] == ["bench/management/commands/noop/Command/handle"], spans

    # What call_command() hands to execute() after parsing (the parser is most of its cost).
    options = {"force_color": False, "no_color": False, "skip_checks": True, "verbosity": 1,
               "traceback": False, "settings": None, "pythonpath": None}

    def execute() -> None:
        COMMAND.execute(**options)

    def call() -> None:
        call_command(COMMAND)

    for title, func in (("BaseCommand.execute() of a command that returns at once", execute),
                        ("call_command() of a command that returns at once", call)):
        results = _interleaved_with_and_without_wrapper(func)
        print_table(title, results, "untraced (Django)",
                    note="In-process, medians of interleaved rounds (the wrapper removed for "
                         "the untraced rounds); the difference is the span's cost.")


def _interleaved_with_and_without_wrapper(func: Callable[[], object],
                                          rounds: int = 7) -> dict[str, float]:
    number = calibrate(func, 0.15)
    samples: dict[str, list[float]] = {"untraced (Django)": [], "traced (default config)": [],
                                       "one root tracekit.span() (reference)": []}
    for _ in range(rounds):
        patch.uninstall()
        try:
            samples["untraced (Django)"].append(per_call_seconds(func, number, repeat=3))
        finally:
            patch.install()
        samples["traced (default config)"].append(per_call_seconds(func, number, repeat=3))
        samples["one root tracekit.span() (reference)"].append(
            per_call_seconds(root_span, number, repeat=3))
    return {name: statistics.median(values) for name, values in samples.items()}


def processes(runs: int = 7) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project(Path(tmp))  # no endpoint: the default, spans stay local
        result = project.manage("migrate", "--noinput")
        assert result.returncode == 0, result.stderr
        samples: dict[str, list[float]] = {"COMMANDS off": [], "COMMANDS on": []}
        for _ in range(runs):
            for name, env in (("COMMANDS off", {"TK_COMMANDS": "0"}), ("COMMANDS on", {})):
                start = time.perf_counter()
                result = project.manage("bye", **env)
                samples[name].append(time.perf_counter() - start)
                assert result.returncode == 0, result.stderr
        usage = project.usage(span_name("bye"))
        assert usage is not None and usage[1] == runs, usage
    results = {name: statistics.median(values) for name, values in samples.items()}
    print_table("python manage.py bye (whole process, SQLite, stats written at exit)",
                results, "COMMANDS off", unit="ms",
                note=f"Medians of {runs} interleaved runs, default configuration.")


if __name__ == "__main__":
    in_process()
    if "--no-processes" not in sys.argv:
        processes()
