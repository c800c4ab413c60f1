"""gunicorn-only behaviour: a preloaded app (tracekit bootstrapped in the master, before the
fork) still exports from every forked worker."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.http.helpers import Server, view_name

pytestmark = [
    # The servers export through the real OTLP/HTTP exporter (the otlp extra).
    pytest.mark.requires("opentelemetry.exporter.otlp.proto.http"),
    pytest.mark.parametrize("server", ["preload"], indirect=True, scope="module"),
]


def parent_pid(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ")".
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_every_forked_worker_exports(server: Server) -> None:
    # Two concurrent slow requests: each sync worker serves one at a time, so both of the
    # two workers must take one.
    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(pool.map(lambda _: server.request("/slow-pid/"), range(2)))
    pids = {json.loads(r.body)["pid"] for r in replies}
    assert len(pids) == 2, pids
    for pid in pids:
        assert pid != server.proc.pid
        assert parent_pid(pid) == server.proc.pid  # forked by the gunicorn master
    for reply in replies:
        root = server.server_span(reply)
        assert root.name == "GET /slow-pid/"
        children = [s for s in server.trace(root.trace_id) if s.span_id != root.span_id]
        assert [(s.name, s.parent_span_id) for s in children] == [
            (view_name("slow_pid"), root.span_id)]
    # Each worker got its own random trace ids (the parent's generator state was not shared
    # in a way that makes the two workers collide).
    assert len({server.server_span(r).trace_id for r in replies}) == 2
