"""A local OTLP receiver (HTTP/protobuf and gRPC) for tests: the real exporter sends to it.

    with OtlpHttpReceiver() as receiver:
        ... TRACEKIT["OTLP_ENDPOINT"] = receiver.endpoint ...
        spans = receiver.wait_for_spans(3)
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2


def _value(any_value: common_pb2.AnyValue) -> Any:
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in any_value.kvlist_value.values}
    return getattr(any_value, kind) if kind else None


def attributes(kvs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in kvs}


@dataclass
class ReceivedSpan:
    """One decoded span, with its resource's attributes."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int  # 0 unset, 1 ok, 2 error
    status_message: str
    events: list[tuple[str, dict[str, Any]]]
    links: list[tuple[str, str]]
    resource: dict[str, Any]
    scope: str

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    @property
    def exceptions(self) -> list[dict[str, Any]]:
        return [attrs for name, attrs in self.events if name == "exception"]


@dataclass
class Receiver:
    spans: list[ReceivedSpan] = field(default_factory=list)
    requests: int = 0
    headers: list[dict[str, str]] = field(default_factory=list)
    #: Decoded ``ExportMetricsServiceRequest`` messages (OTLP/HTTP ``/v1/metrics``).
    metrics: list[Any] = field(default_factory=list)
    metrics_paths: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def ingest_metrics(self, payload: bytes, path: str) -> None:
        request = metrics_service_pb2.ExportMetricsServiceRequest()
        request.ParseFromString(payload)
        with self._cond:
            self.metrics.append(request)
            self.metrics_paths.append(path)
            self._cond.notify_all()

    def wait_metrics(self, predicate: Any, timeout: float = 60.0) -> list[Any]:
        """Wait until ``predicate(requests)`` is true for the metric requests received."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.metrics):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"metrics condition not met; {len(self.metrics)} "
                                         "request(s) received")
                self._cond.wait(left)
            return list(self.metrics)

    def ingest(self, payload: bytes, headers: dict[str, str]) -> None:
        request = trace_service_pb2.ExportTraceServiceRequest()
        request.ParseFromString(payload)
        decoded = []
        for rs in request.resource_spans:
            resource = attributes(rs.resource.attributes)
            for ss in rs.scope_spans:
                for s in ss.spans:
                    decoded.append(ReceivedSpan(
                        name=s.name, trace_id=s.trace_id.hex(), span_id=s.span_id.hex(),
                        parent_span_id=s.parent_span_id.hex(), kind=s.kind,
                        start_ns=s.start_time_unix_nano, end_ns=s.end_time_unix_nano,
                        attributes=attributes(s.attributes), status_code=s.status.code,
                        status_message=s.status.message,
                        events=[(e.name, attributes(e.attributes)) for e in s.events],
                        links=[(link.trace_id.hex(), link.span_id.hex()) for link in s.links],
                        resource=resource, scope=ss.scope.name))
        with self._cond:
            self.requests += 1
            self.headers.append(headers)
            self.spans.extend(decoded)
            self._cond.notify_all()

    def wait_for_spans(self, count: int, timeout: float = 20.0) -> list[ReceivedSpan]:
        """Wait until at least ``count`` spans arrived; fail loudly otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.spans) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [s.name for s in self.spans]
                    raise AssertionError(f"expected {count} spans, got {len(names)}: {names}")
                self._cond.wait(left)
            return list(self.spans)

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[ReceivedSpan]:
        """Wait until ``predicate(spans)`` is true."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.spans):
                left = deadline - time.monotonic()
                if left <= 0:
                    names = [s.name for s in self.spans]
                    raise AssertionError(f"condition not met; spans: {names}")
                self._cond.wait(left)
            return list(self.spans)

    def named(self, name: str) -> list[ReceivedSpan]:
        with self._cond:
            return [s for s in self.spans if s.name == name]


class OtlpHttpReceiver(Receiver):
    """OTLP/HTTP protobuf on 127.0.0.1:<free port>, paths /v1/traces and /v1/metrics."""

    def __init__(self) -> None:
        super().__init__()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                if self.path == "/v1/metrics":
                    receiver.ingest_metrics(body, self.path)
                    reply = metrics_service_pb2.ExportMetricsServiceResponse() \
                        .SerializeToString()
                elif self.path != "/v1/traces":
                    self.send_response(404)
                    self.end_headers()
                    return
                else:
                    receiver.ingest(body, {k.lower(): v for k, v in self.headers.items()})
                    reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpHttpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class OtlpGrpcReceiver(Receiver):
    """OTLP/gRPC on 127.0.0.1:<free port> (needs grpcio, from the otlp extra)."""

    def __init__(self) -> None:
        super().__init__()
        import grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        receiver = self

        class Service(trace_service_pb2_grpc.TraceServiceServicer):  # type: ignore[misc]
            def Export(self, request: Any, context: Any) -> Any:
                metadata = {k: v for k, v in context.invocation_metadata()}
                receiver.ingest(request.SerializeToString(), metadata)
                return trace_service_pb2.ExportTraceServiceResponse()

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Service(), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> OtlpGrpcReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop(grace=None)
