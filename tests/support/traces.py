"""Rows of the trace store made directly with the ORM (the admin pages' tests and
benchmarks): a :class:`SpanSpec` per span, the ``Trace`` summary computed from them the way
the store writes it (services sorted, counts, bounds, the root span's name)."""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django_tracekit.storage.trace_models import Trace, TraceSpan


@dataclass
class SpanSpec:
    """One span; times are relative to the trace's start: milliseconds for the span,
    microseconds for its events' ``time_us``."""

    name: str
    span_id: str
    parent: str = ""
    start_ms: float = 0.0
    duration_ms: float = 1.0
    service: str = "shop-web"
    kind: str = "internal"
    is_error: bool = False
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


def exception_event(type_: str, message: str, stacktrace: str, time_us: int = 0,
                    ) -> dict[str, Any]:
    return {"name": "exception", "time_us": time_us,
            "attributes": {"exception.type": type_, "exception.message": message,
                           "exception.stacktrace": stacktrace}}


def trace_id(n: int) -> str:
    """A deterministic, random-looking trace id (32 lowercase hex)."""
    return hashlib.md5(f"trace {n}".encode()).hexdigest()


def span_id(n: int) -> str:
    """A deterministic, random-looking span id (16 lowercase hex)."""
    return hashlib.md5(f"span {n}".encode()).hexdigest()[:16]


def _json(value: Any) -> str:
    """As the store writes JSON (traces/rows.py): ASCII, compact."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"))


def build(trace_id_: str, specs: Sequence[SpanSpec], *, start_us: int | None = None,
          reasons: str = "sample", user_id: str = "", dropped_spans: int = 0,
          ) -> tuple[Trace, list[TraceSpan]]:
    """Unsaved rows of one trace (``bulk_create`` them, the spans after the trace)."""
    start = int(time.time() * 1e6) - 60_000_000 if start_us is None else start_us
    spans = [TraceSpan(span_id=s.span_id, parent_span_id=s.parent, name=s.name, kind=s.kind,
                       service=s.service, start_us=start + int(s.start_ms * 1000),
                       duration_us=int(s.duration_ms * 1000), is_error=s.is_error,
                       status_message=s.status_message,
                       attributes=_json(s.attributes) if s.attributes else "",
                       events=_json([{**e, "time_us": start + int(e.get("time_us", 0))}
                                     for e in s.events]) if s.events else "")
             for s in specs]
    ids = {s.span_id for s in specs}
    root = next((s for s in specs if not s.parent or s.parent not in ids), None)
    trace = Trace(trace_id=trace_id_, start_us=min((s.start_us for s in spans), default=start),
                  end_us=max((s.start_us + s.duration_us for s in spans), default=start),
                  root_name=root.name if root else "", span_count=len(spans),
                  services=",".join(sorted({s.service for s in spans})),
                  error_count=sum(s.is_error for s in spans), dropped_spans=dropped_spans,
                  reasons=reasons, user_id=user_id)
    return trace, spans


def make_trace(trace_id_: str, specs: Sequence[SpanSpec], **summary: Any) -> Trace:
    """One trace saved with its spans."""
    trace, spans = build(trace_id_, specs, **summary)
    trace.save()
    for span in spans:
        span.trace = trace
    TraceSpan.objects.bulk_create(spans)
    return trace


def web_and_worker(trace_id_: str, *, error: bool = True, start_us: int | None = None,
                   user_id: str = "42") -> Trace:
    """A request whose Celery task fails in a worker: web part + worker part, an N+1 flag,
    a log line, the exception on the task's function span and a reference above it."""
    stack = ('Traceback (most recent call last):\n'
             '  File "shop/orders/services.py", line 40, in run\n'
             '  File "shop/mail/tasks.py", line 12, in send_receipt\n'
             'shop.mail.SmtpDown: relay refused')
    specs = [
        SpanSpec("GET /orders/<int:pk>/", span_id(1), start_ms=0, duration_ms=120,
                 kind="server", attributes={"http.route": "/orders/<int:pk>/",
                                            "http.response.status_code": 200}),
        SpanSpec("shop/orders/views/detail", span_id(2), span_id(1), 2, 110,
                 events=[{"name": "tracekit.n_plus_one", "time_us": 50_000,
                          "attributes": {"db.query.text": "SELECT * FROM item WHERE id = %s",
                                         "tracekit.n_plus_one.count": 12}}]),
        *[SpanSpec("SELECT shop", span_id(10 + i), span_id(2), 5 + i * 8, 6, kind="client",
                   attributes={"db.system": "sqlite",
                               "db.query.text": "SELECT * FROM item WHERE id = %s"})
          for i in range(3)],
        SpanSpec("shop/mail/tasks/send_receipt send", span_id(3), span_id(2), 100, 5,
                 kind="producer"),
        SpanSpec("shop/mail/tasks/send_receipt", span_id(4), span_id(3), 180, 300,
                 service="shop-worker", kind="consumer", is_error=error,
                 status_message="SmtpDown: relay refused" if error else "",
                 attributes={"messaging.system": "celery",
                             "tracekit.error.span_id": span_id(5)} if error else
                 {"messaging.system": "celery"}),
        SpanSpec("shop/mail/services/deliver", span_id(5), span_id(4), 200, 250,
                 service="shop-worker", is_error=error,
                 events=[{"name": "log", "time_us": 201_000, "attributes": {
                     "log.message": "connecting to relay", "log.severity": "INFO",
                     "log.severity_number": 9, "log.logger": "shop.mail",
                     "code.file.path": "/srv/shop/mail/services.py", "code.line.number": 31,
                     "code.function.name": "deliver", "thread.name": "MainThread"}},
                         *([exception_event("shop.mail.SmtpDown", "relay refused", stack,
                                            440_000)] if error else [])]),
    ]
    return make_trace(trace_id_, specs, start_us=start_us, user_id=user_id,
                      reasons="error" if error else "sample")


SITE = "/srv/venv/lib/python3.12/site-packages"
UPLOAD_STACK = (
    "Traceback (most recent call last):\n"
    + "".join(f'  File "{SITE}/{path}", line {n}, in {fn}\n' for path, n, fn in (
        ("celery/app/trace.py", 453, "trace_task"),
        ("celery/app/trace.py", 736, "__protected_call__"),
        ("celery/app/task.py", 411, "__call__"), ("billiard/pool.py", 362, "workloop"),
        ("billiard/pool.py", 292, "__call__"),
        ("celery/concurrency/prefork.py", 86, "process_initializer")))
    + '  File "/srv/shop/videos/tasks.py", line 31, in transcode\n'
    + '  File "/srv/shop/videos/services.py", line 77, in encode\n'
    + "".join(f'  File "{SITE}/{path}", line {n}, in {fn}\n' for path, n, fn in (
        ("requests/api.py", 115, "post"), ("requests/sessions.py", 589, "request"),
        ("requests/adapters.py", 700, "send")))
    + "requests.exceptions.ConnectionError: storage refused the upload")


def upload_trace(trace_id_: str, *, start_us: int | None = None, recovered: bool = False,
                 ) -> Trace:
    """A request with an N+1 (12 identical SELECTs under the view), a Celery task that was
    retried once (its first attempt waited 60 ms in the queue) and whose second attempt
    failed in the team's code below library frames (or succeeded: ``recovered``)."""
    view, task1, task2 = span_id(2), span_id(40), span_id(42)
    select = "SELECT videos_channel.id, videos_channel.name FROM videos_channel WHERE id = %s"
    specs = [
        SpanSpec("POST /videos/upload/", span_id(1), duration_ms=90, kind="server",
                 attributes={"http.route": "/videos/upload/", "http.response.status_code": 302}),
        SpanSpec("shop/videos/views/VideoUploadView/post", view, span_id(1), 2, 80, events=[
            {"name": "tracekit.n_plus_one", "time_us": 60_000, "attributes": {
                "db.query.text": select, "tracekit.n_plus_one.count": 12}}]),
        SpanSpec("SELECT videos_video", span_id(3), view, 3, 2, kind="client",
                 attributes={"db.system.name": "postgresql",
                             "db.query.text": "SELECT * FROM videos_video"}),
        *[SpanSpec("SELECT videos_channel", span_id(10 + n), view, 6 + n * 4, 0.07 * (n % 3 + 1),
                   kind="client", attributes={"db.system.name": "postgresql",
                                              "db.query.text": select})
          for n in range(12)],
        SpanSpec("apply_async/shop.videos.tasks.transcode", span_id(30), view, 60, 4,
                 kind="producer", attributes={"messaging.system": "celery"}),
        SpanSpec("shop/videos/tasks/transcode", task1, span_id(30), 124, 40,
                 service="shop-worker", kind="consumer",
                 attributes={"messaging.system": "celery", "celery.state": "RETRY",
                             "celery.retries": 0, "celery.retry.reason":
                             "Retry in 1s: ConnectionError('storage busy')"}),
        SpanSpec("apply_async/shop.videos.tasks.transcode", span_id(41), task1, 150, 3,
                 service="shop-worker", kind="producer"),
        SpanSpec("shop/videos/tasks/transcode", task2, span_id(41), 1160, 300,
                 service="shop-worker", kind="consumer", is_error=not recovered,
                 status_message="" if recovered else
                 "requests.exceptions.ConnectionError: storage refused the upload",
                 attributes={"messaging.system": "celery", "celery.retries": 1,
                             "celery.state": "SUCCESS" if recovered else "FAILURE",
                             **({} if recovered else {"tracekit.error.span_id": span_id(43)})}),
        SpanSpec("shop/videos/services/encode", span_id(43), task2, 1170, 280,
                 service="shop-worker", is_error=not recovered,
                 status_message="" if recovered else
                 "requests.exceptions.ConnectionError: storage refused the upload",
                 events=[] if recovered else [exception_event(
                     "requests.exceptions.ConnectionError", "storage refused the upload",
                     UPLOAD_STACK, 1_449_000)]),
    ]
    return make_trace(trace_id_, specs, start_us=start_us, user_id="7",
                      reasons="sample" if recovered else "error")


def handled_trace(trace_id_: str, *, start_us: int | None = None) -> Trace:
    """A request that answered 200 after the view caught a failed outgoing call: the client
    span holds the error, nothing above it failed."""
    return make_trace(trace_id_, [
        SpanSpec("GET /videos/feed/", span_id(1), duration_ms=40, kind="server",
                 attributes={"http.response.status_code": 200}),
        SpanSpec("shop/videos/views/feed", span_id(2), span_id(1), 1, 38),
        SpanSpec("GET", span_id(3), span_id(2), 5, 30, kind="client", is_error=True,
                 status_message="ReadTimeout: cdn.example timed out",
                 attributes={"http.request.method": "GET", "server.address": "cdn.example",
                             "url.full": "https://cdn.example/feed.json"},
                 events=[exception_event("requests.exceptions.ReadTimeout",
                                         "cdn.example timed out", "Traceback ...", 35_000)]),
    ], start_us=start_us, reasons="error")


def unsent_tasks_trace(trace_id_: str, *, start_us: int | None = None) -> Trace:
    """A request kept as slow that sent two Celery tasks whose runs are not in the store
    (trial 9: the worker had dropped its parts before the request was chosen as slow)."""
    return make_trace(trace_id_, [
        SpanSpec("POST /api/v2/workoutlog/", span_id(1), duration_ms=900, kind="server",
                 attributes={"http.response.status_code": 201}),
        *[SpanSpec("apply_async/wger.trophies.tasks.evaluate_user_trophies_task", span_id(n),
                   span_id(1), 700 + n, 3, kind="producer",
                   attributes={"celery.action": "apply_async"}) for n in (2, 3)],
    ], start_us=start_us, reasons="slow")


def wide_trace(trace_id_: str, spans: int, *, seed: int = 7, start_us: int | None = None,
               ) -> tuple[Trace, list[TraceSpan]]:
    """Unsaved rows of a big trace: a request with nested functions, SQL and cache calls,
    attributes and a few events per span (benchmarks, readability)."""
    rng = random.Random(seed)
    specs = [SpanSpec("GET /reports/<slug>/", span_id(1), duration_ms=spans * 0.5,
                      kind="server", attributes={"http.route": "/reports/<slug>/"})]
    open_parents = [specs[0]]
    for n in range(2, spans + 1):
        parent = open_parents[rng.randrange(len(open_parents))]
        offset = parent.start_ms + rng.random() * parent.duration_ms * 0.9
        length = max(0.01, (parent.start_ms + parent.duration_ms - offset) * rng.random() * 0.5)
        if n % 3:
            spec = SpanSpec("SELECT shop_item", span_id(n), parent.span_id, offset, length,
                            kind="client",
                            attributes={"db.system": "postgresql", "db.query.text":
                                        f"SELECT * FROM shop_item WHERE id = {n}",
                                        "server.address": "db"})
        else:
            spec = SpanSpec(f"shop/reports/builder/Section{n % 40}/render", span_id(n),
                            parent.span_id, offset, length,
                            service="shop-web" if n % 7 else "shop-worker",
                            attributes={"code.function.name": f"shop.reports.Section{n % 40}",
                                        "code.line.number": n % 300},
                            events=[{"name": f"rendered section {n}", "time_us": 0,
                                     "attributes": {"log.severity": "INFO"}}])
            if len(open_parents) < 200:
                open_parents.append(spec)
        specs.append(spec)
    return build(trace_id_, specs, start_us=start_us)


def six_traces(now_us: int) -> None:
    """Six traces for the list's filters: newest first they are 6, 5, 4, 3, 2, 1 (see
    :data:`SIX_TRACES_FILTERED`)."""
    web_and_worker(trace_id(1), start_us=now_us - 3 * 86400 * 10**6, user_id="7")  # 480 ms
    make_trace(trace_id(2), [SpanSpec("GET /a/", span_id(1), duration_ms=40, kind="server",
                                      service="web2")],
               start_us=now_us - 5 * 3600 * 10**6, reasons="slow")
    make_trace(trace_id(3), [SpanSpec("GET /a/", span_id(1), duration_ms=900, kind="server",
                                      service="web"),
                             SpanSpec("a", span_id(2), span_id(1), service="alpha"),
                             SpanSpec("z", span_id(3), span_id(1), service="zulu")],
               start_us=now_us - 2 * 3600 * 10**6, reasons="slow,sample", user_id="7")
    make_trace(trace_id(4), [SpanSpec("task", span_id(1), duration_ms=5, is_error=True,
                                      service="worker", kind="consumer"),
                             SpanSpec("shop/orders/views/detail", span_id(2), span_id(1))],
               start_us=now_us - 30 * 60 * 10**6, reasons="error")
    make_trace(trace_id(5), [SpanSpec("GET /b/", span_id(1), duration_ms=1, service="api,x")],
               start_us=now_us - 10 * 60 * 10**6)
    make_trace(trace_id(6), [SpanSpec("GET /b/", span_id(1), duration_ms=2, service="web"),
                             SpanSpec("w", span_id(2), span_id(1), service="worker",
                                      is_error=True)],  # handled: the root answered
               start_us=now_us - 60 * 10**6)


# (list parameters, the numbers of the six traces they select)
SIX_TRACES_FILTERED: list[tuple[dict[str, str], set[int]]] = [
    ({"status": "error"}, {1, 4}),  # an entry point failed (a request, a task)
    ({"status": "handled"}, {6}),  # only a span below the entry point failed
    ({"status": "ok"}, {2, 3, 5}),
    ({"feature": "shop/orders/views/detail"}, {1, 4}),
    ({"feature": "GET /a/"}, {2, 3}),
    ({"feature": "nothing"}, set()),
    ({"min_ms": "100"}, {1, 3}),
    ({"min_ms": "480"}, {1, 3}),  # inclusive
    ({"min_ms": "480.001"}, {3}),
    ({"service": "web"}, {3, 6}),  # a whole item (alone, first, middle), not web2
    ({"service": "worker"}, {4, 6}),
    ({"service": "api,x"}, {5}),
    ({"user": "7"}, {1, 3}),
    ({"reason": "slow"}, {2, 3}),
    ({"reason": "sample"}, {3, 5, 6}),
    ({"range": "1h"}, {4, 5, 6}),
    ({"range": "24h"}, {2, 3, 4, 5, 6}),
    ({"range": "7d"}, {1, 2, 3, 4, 5, 6}),
    ({"status": "error", "range": "24h"}, {4}),
    ({"status": "ok", "min_ms": "30", "service": "web"}, {3}),
]
