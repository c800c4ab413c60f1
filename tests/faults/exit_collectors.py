"""OTLP collectors that fail the ways real ones do, for the exit fault tests.

Each is a context manager whose ``endpoint`` an exporter is pointed at:

- :class:`DownCollector`: nothing listens (connection refused at once; the SDK retries);
- :class:`BlackHoledCollector`: a listening socket whose accept queue is full, so a new
  TCP connect hangs until the client's timeout (SYNs dropped, as by a firewall);
- :class:`SlowCollector`: accepts and reads the request, answers only after ``delay_s``
  (a collector under load), or when the test ends;
- ``"healthy"``: the real receiver of tests/support, for the baseline.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.processes import free_port


class DownCollector:
    def __init__(self) -> None:
        self.endpoint = f"http://127.0.0.1:{free_port()}"

    def __enter__(self) -> DownCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class BlackHoledCollector:
    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(0)
        port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self._fillers: list[socket.socket] = []
        # Fill the accept queue (never accepted): from then on the kernel drops new SYNs.
        for _ in range(16):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            self._fillers.append(filler)
            probe = socket.socket()
            probe.settimeout(0.3)
            try:
                probe.connect(("127.0.0.1", port))
            except OSError:  # timed out: the queue is full
                probe.close()
                break
            self._fillers.append(probe)
        else:
            raise AssertionError("could not fill the accept queue of the black hole")

    def __enter__(self) -> BlackHoledCollector:
        return self

    def __exit__(self, *exc: object) -> None:
        for filler in self._fillers:
            filler.close()
        self._listener.close()


class SlowCollector:
    def __init__(self, delay_s: float = 30.0) -> None:
        release = self._release = threading.Event()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                release.wait(delay_s)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SlowCollector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


# "healthy" (a real receiver) is the baseline the faulty ones are compared with.
COLLECTORS = {"down": DownCollector, "black-holed": BlackHoledCollector,
              "slow": SlowCollector, "healthy": OtlpHttpReceiver}
