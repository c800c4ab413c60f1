"""The exit with metrics on and the engine down, black-holed or slow: the process leaves
within tracekit's bounded exit, whatever the exporter (the exit flush that delivers the
counts to a healthy engine is tested in test_otlp.py)."""

from __future__ import annotations

import time

import pytest

from tests.faults.exit_collectors import COLLECTORS
from tests.support.scripts import check, run_django

pytestmark = pytest.mark.requires("opentelemetry.exporter.otlp.proto.http", "cramjam")

# tracekit's exit budget (1 s) plus room for a loaded 2-core machine, as in
# tests/faults/test_exit.py; without the bound the OTLP exporter's retries took 10 s.
COMMAND_EXIT_BOUND_S = 4.0

SCRIPT = """
import time
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from django_tracekit import bootstrap
assert any(type(p).__name__ == "MetricsProcessor" for p in bootstrap.state().exporters)
with trace.get_tracer("t").start_as_current_span("shop/tasks/a", kind=SpanKind.CONSUMER):
    pass
print(f"WORK-DONE {time.time()!r}", flush=True)
"""


@pytest.mark.parametrize("exporter", ["otlp", "prometheus_remote_write"])
@pytest.mark.parametrize("fault", ["down", "black-holed", "slow"])
def test_exit_does_not_wait_for_the_engine(exporter: str, fault: str) -> None:
    with COLLECTORS[fault]() as engine:
        metrics = {"ENABLED": True, "EXPORTER": exporter, "EXPORT_INTERVAL_S": 3600,
                   "REMOTE_WRITE_URL": f"{engine.endpoint}/api/v1/write"}
        result = check(run_django(SCRIPT, {"TRACEKIT": {
            "PROJECT_NAME": "shop", "EXPORTER": "none", "SAMPLE_RATE": 0.0,
            "OTLP_ENDPOINT": engine.endpoint, "METRICS": metrics}}, timeout=60))
        ended = time.time()
    done = float(result.stdout.split("WORK-DONE ")[1].split()[0])
    exit_s = ended - done
    print(f"metrics exit ({exporter}, {fault}): {exit_s:.2f} s")
    assert exit_s < COMMAND_EXIT_BOUND_S, result.stderr[-3000:]
