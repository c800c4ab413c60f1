"""Runs inside a fresh interpreter (tests/db/conftest.py): the shop project's requests and
queries against a real database, printed as JSON for the tests to assert on.

Each scenario is captured on its own with ``django_tracekit.testing.capture_spans``.
"""

from __future__ import annotations

import contextvars
import json
import os
import threading
from typing import Any

MARK = "TK-DB-RESULT:"


def dump(spans: Any) -> list[dict[str, Any]]:
    def plain(value: Any) -> Any:
        return list(value) if isinstance(value, tuple) else value

    return [{
        "name": s.name,
        "kind": s.kind.name,
        "scope": s.instrumentation_scope.name if s.instrumentation_scope else None,
        "trace_id": format(s.context.trace_id, "032x"),
        "span_id": format(s.context.span_id, "016x"),
        "parent_id": format(s.parent.span_id, "016x") if s.parent else None,
        "status": s.status.status_code.name,
        "attributes": {k: plain(v) for k, v in (s.attributes or {}).items()},
        "events": [{"name": e.name, "attributes": {k: plain(v) for k, v in
                                                    (e.attributes or {}).items()}}
                   for e in s.events],
    } for s in spans]


REQUESTS = {
    "n_plus_one": "/n-plus-one/",
    "service": "/service/",
    "service_n_plus_one": "/service-n-plus-one/",
    "per_item_n_plus_one": "/per-item-n-plus-one/",
    "duplicate": "/duplicate/",
    "raw": "/raw/",
    "batch": "/batch/",
    "huge": "/huge/",
    "async": "/async/",
}


def main() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from django_tracekit import testing
    from django_tracekit.core.tracer import get_tracer

    tracer = get_tracer()
    out: dict[str, Any] = {}
    # As a traced `manage.py migrate` runs: inside a span.
    with testing.capture_spans() as spans, tracer.start_as_current_span("deploy"):
        call_command("migrate", run_syncdb=True, verbosity=0)
    out["migrate"] = dump(spans)

    from shop.models import Customer, Order

    for i in range(8):
        Order.objects.create(customer=Customer.objects.create(name=f"c{i}"), total=i)
    Customer.objects.create(name="taken")

    off = os.environ.get("TK_DB_OFF") == "1"
    client = Client(raise_request_exception=False)
    for name, url in REQUESTS.items():
        if off and name != "n_plus_one":
            continue
        with testing.capture_spans() as spans:
            response = client.get(url)
        body = response.json() if response.status_code == 200 else None
        out[name] = {"status": response.status_code, "body": body, "spans": dump(spans)}
    out["wrappers"] = [type(w).__name__ for w in connection.execute_wrappers]
    if off:
        print(MARK + json.dumps(out))
        return

    with testing.capture_spans() as spans:
        count = Order.objects.count()  # no span is recording
    out["outside"] = {"count": count, "spans": dump(spans)}

    # A thread that opens its own connection, in the span's context.
    with testing.capture_spans() as spans, tracer.start_as_current_span("spawner"):
        thread = threading.Thread(target=contextvars.copy_context().run,
                                  args=(_in_thread,))
        thread.start()
        thread.join()
    out["thread"] = dump(spans)

    # tracekit's own writes, inside a recording span: the stats of the requests above.
    from django_tracekit.destinations import stats
    from django_tracekit.sources.db.quiet import suppressed

    with testing.capture_spans() as spans, tracer.start_as_current_span("flushing"):
        flushed = stats.flush()
        with suppressed():
            Order.objects.count()
    out["flush"] = {"ok": flushed, "spans": dump(spans)}
    from django_tracekit.storage.usage_models import FeatureStats

    out["usage"] = {}
    for name, n in FeatureStats.objects.filter(resolution=60).values_list(
            "feature__name", "n_plus_one"):
        out["usage"][name] = out["usage"].get(name, 0) + n
    print(MARK + json.dumps(out))


def _in_thread() -> None:
    from django.db import connection
    from shop.models import Order

    try:
        Order.objects.filter(total__gte=0).exists()
    finally:
        connection.close()


def parse(stdout: str) -> dict[str, Any]:
    for line in stdout.splitlines():
        if line.startswith(MARK):
            return json.loads(line[len(MARK):])  # type: ignore[no-any-return]
    raise AssertionError(f"no result in the output:\n{stdout[-3000:]}")
