"""A local Sentry endpoint for tests: accepts envelopes over HTTP like Sentry's ingest does.

The real SDK and its real HTTP transport send here (DSN ``http://public@127.0.0.1:PORT/1``).
Bodies are gzip- (SDK default without the ``brotli`` module) or brotli-compressed; an
envelope is a header line, then per item an item-header line and a payload (``length``
bytes, or up to the next newline when the header has no length).
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Envelope:
    headers: dict[str, Any]
    items: list[tuple[dict[str, Any], Any]]
    content_encoding: str


def parse_envelope(body: bytes, content_encoding: str = "") -> Envelope:
    if content_encoding == "gzip":
        body = gzip.decompress(body)
    elif content_encoding == "br":
        import brotli  # only when the SDK found the module, so it is installed

        body = brotli.decompress(body)
    elif content_encoding == "deflate":
        body = zlib.decompress(body)
    elif content_encoding:
        raise AssertionError(f"unexpected Content-Encoding {content_encoding!r}")
    header_line, _, rest = body.partition(b"\n")
    items: list[tuple[dict[str, Any], Any]] = []
    while rest.strip():
        item_line, _, rest = rest.partition(b"\n")
        item_header = json.loads(item_line)
        length = item_header.get("length")
        if length is None:
            payload, _, rest = rest.partition(b"\n")
        else:
            payload, rest = rest[:length], rest[length:]
            rest = rest.removeprefix(b"\n")
        try:
            decoded: Any = json.loads(payload)
        except ValueError:
            decoded = payload  # attachments are raw bytes
        items.append((item_header, decoded))
    return Envelope(json.loads(header_line), items, content_encoding)


@dataclass
class SentryReceiver:
    """``with SentryReceiver() as sentry: ... sentry.dsn ... sentry.wait_events(...)``.

    ``delay_s`` makes every answer slow (a Sentry that hangs), to show it costs the app
    nothing: the SDK sends from a background thread.
    """

    delay_s: float = 0.0
    envelopes: list[Envelope] = field(default_factory=list)
    raw_bodies: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    hits: int = 0  # requests received (counted before the slow answer)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._cond:
                    receiver.hits += 1
                if receiver.delay_s:
                    time.sleep(receiver.delay_s)
                envelope = parse_envelope(body, self.headers.get("Content-Encoding", ""))
                with receiver._cond:
                    receiver.paths.append(self.path)
                    receiver.raw_bodies.append(json.dumps([h for h, _ in envelope.items])
                                               .encode() + b"\n" + _decoded_text(envelope))
                    receiver.envelopes.append(envelope)
                    receiver._cond.notify_all()
                reply = json.dumps({"id": envelope.headers.get("event_id")}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:  # the sender gave up waiting (slow mode, process exit)
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.dsn = f"http://public@127.0.0.1:{self.port}/1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SentryReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- queries ---------------------------------------------------------------------------
    def items(self, item_type: str) -> list[dict[str, Any]]:
        with self._cond:
            return [payload for env in self.envelopes for header, payload in env.items
                    if header.get("type") == item_type]

    def events(self) -> list[dict[str, Any]]:
        return self.items("event")

    def wait_events(self, match: Callable[[dict[str, Any]], bool], *, timeout: float = 15.0,
                    settle_s: float = 1.0) -> list[dict[str, Any]]:
        """Events matching ``match``: waits for the first, then ``settle_s`` more so that a
        duplicate sent right after it would be counted too."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(match(e) for e in self._events_locked()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching Sentry event; got {len(self.envelopes)} "
                                         f"envelopes: {self._summary()}")
                self._cond.wait(left)
        time.sleep(settle_s)
        return [e for e in self.events() if match(e)]

    def _events_locked(self) -> list[dict[str, Any]]:
        return [payload for env in self.envelopes for header, payload in env.items
                if header.get("type") == "event"]

    def _summary(self) -> list[str]:
        return [header.get("type", "?") for env in self.envelopes for header, _ in env.items]


def _decoded_text(envelope: Envelope) -> bytes:
    return b"\n".join(json.dumps(p).encode() if not isinstance(p, bytes) else p
                      for _, p in envelope.items)


def exception_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The frames of the event's last (the raised) exception."""
    values = event["exception"]["values"]
    return list(values[-1]["stacktrace"]["frames"])


def thread_frames(event: dict[str, Any]) -> list[dict[str, Any]]:
    threads = event["threads"]["values"]
    assert len(threads) == 1, threads
    return list(threads[0]["stacktrace"]["frames"])
