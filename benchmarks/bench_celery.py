"""Per-task overhead of tracing Celery: publish + execute, eager and through a real broker.

Contenders, each in its own subprocess (a global TracerProvider cannot be undone):
  none      Celery alone
  contrib   opentelemetry-instrumentation-celery (CeleryInstrumentor) alone
  tracekit  django_tracekit.sources.celery.tracing (Django set up, tracekit bootstrapped)

Both tracing contenders export through a BatchSpanProcessor to an exporter that drops the
spans, so the figures are the instrumentation's cost, not the network's.

Modes:
  eager   task_always_eager: ``add.delay()`` publishes nothing, runs the task in-process.
  broker  ``add.delay()`` to Redis (127.0.0.1:6379, else filesystem://), consumed by a real
          worker (solo pool, in-process thread); per task = wall time for a batch / batch size.

    .venv/bin/python benchmarks/bench_celery.py            # goal: tracekit <= 1.1x contrib
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CONTENDERS = ("none", "contrib", "tracekit")
EAGER_CALLS = 2_000
BATCH = 400
ROUNDS = 5


class NullExporter:
    """A SpanExporter that drops everything (built by a factory path for tracekit)."""

    def __new__(cls) -> Any:
        from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

        class _Null(SpanExporter):
            def export(self, spans: Sequence[Any]) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        return _Null()


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def _setup(contender: str) -> None:
    import django
    from django.conf import settings

    apps = ["django.contrib.contenttypes", "django.contrib.auth"]
    if contender == "tracekit":
        apps.append("django_tracekit")
    settings.configure(
        INSTALLED_APPS=apps, BASE_DIR=str(HERE), LOGGING_CONFIG=None,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TRACEKIT={"EXPORTER": "bench_celery.NullExporter", "STATS": {"ENABLED": False},
                  "PROJECT_NAME": "bench"})
    django.setup()  # tracekit: its registry turns the Celery integration on
    if contender == "contrib":
        from opentelemetry import trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(NullExporter()))
        trace.set_tracer_provider(provider)
        CeleryInstrumentor().instrument()


def _measure(contender: str, mode: str) -> float:
    _setup(contender)
    from celery import Celery

    sys.path.insert(0, str(HERE))
    from _timing import per_call_seconds

    done = threading.Semaphore(0)
    if mode == "eager":
        app = Celery("bench", broker="memory://", backend=None)
        app.conf.task_always_eager = True
    else:
        data = Path(tempfile.mkdtemp(prefix="bench-celery-"))
        broker = ("redis://127.0.0.1:6379/13" if _redis_up() else "filesystem://")
        app = Celery("bench", broker=broker, backend=None)
        app.conf.task_default_queue = f"bench-{os.getpid()}"
        app.conf.broker_transport_options = {
            "data_folder_in": str(data), "data_folder_out": str(data),
            "control_folder": str(data), "polling_interval": 0.001}
        app.conf.worker_prefetch_multiplier = 64
        app.conf.task_ignore_result = True

    @app.task(name="bench.add")
    def add(x: int, y: int) -> int:
        done.release()
        return x + y

    if mode == "eager":
        def one() -> None:
            add.delay(1, 2)
            done.acquire()
        return per_call_seconds(one, EAGER_CALLS)

    from celery.contrib.testing.worker import start_worker

    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="ERROR",
                      shutdown_timeout=10):
        def batch() -> None:
            for _ in range(BATCH):
                add.delay(1, 2)
            for _ in range(BATCH):
                if not done.acquire(timeout=60):
                    raise RuntimeError("the worker stopped consuming")
        return per_call_seconds(batch, 1, repeat=ROUNDS) / BATCH


def _run_child(contender: str, mode: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT)])
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", contender, mode],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise RuntimeError(f"{contender}/{mode} failed:\n{out.stdout}\n{out.stderr}")
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main() -> None:
    sys.path.insert(0, str(HERE))
    from _timing import print_table

    broker = "redis" if _redis_up() else "filesystem://"
    for mode, note in (("eager", "task_always_eager: delay() runs the task in-process"),
                       ("broker", f"delay() through {broker}, solo worker in-process")):
        results: dict[str, float] = {}
        for contender in CONTENDERS:
            results[contender] = _run_child(contender, mode)
        print_table(f"Celery per-task publish + execute ({mode})", results, "contrib",
                    note=note)
        print(f"tracekit / contrib = {results['tracekit'] / results['contrib']:.3f} "
              "(goal <= 1.1)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        seconds = _measure(sys.argv[2], sys.argv[3])
        print(json.dumps({"seconds": seconds}))
    else:
        main()
