"""Debian's Prometheus for tests: its remote-write receiver on, a temp storage dir, a free
port; PromQL queries over its HTTP API.

    with PrometheusServer(tmp_path) as prometheus:
        ... REMOTE_WRITE_URL = prometheus.remote_write_url ...
        prometheus.wait_for("sum(traces_span_metrics_calls_total)", lambda r: ...)
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.processes import (
    READY_TIMEOUT_S,
    GroupProcess,
    clean_env,
    free_port,
    stopped_on_failure,
)

BINARY = "/usr/bin/prometheus"
Result = list[dict[str, Any]]


def _receiver_flag() -> str:
    """``--web.enable-remote-write-receiver`` (2.33+), else the older feature flag."""
    help_text = subprocess.run([BINARY, "--help"], capture_output=True, text=True,
                               timeout=60).stderr
    if "--web.enable-remote-write-receiver" in help_text:
        return "--web.enable-remote-write-receiver"
    return "--enable-feature=remote-write-receiver"


class PrometheusServer:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.remote_write_url = f"{self.url}/api/v1/write"
        config = tmp / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        (tmp / "prometheus-data").mkdir()
        self.process = GroupProcess("prometheus", [
            BINARY, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'prometheus-data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", _receiver_flag()],
            clean_env("unused"), tmp / "prometheus.log", cwd=tmp)

    def __enter__(self) -> PrometheusServer:
        with stopped_on_failure(self.process.stop):
            self.process.wait_http(f"{self.url}/-/ready", READY_TIMEOUT_S)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.stop()

    def query(self, promql: str) -> Result:
        """An instant PromQL query: the result vector."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
        with urllib.request.urlopen(url, timeout=30) as reply:
            body = json.loads(reply.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def wait_for(self, promql: str, done: Callable[[Result], bool],
                 timeout: float = READY_TIMEOUT_S) -> Result:
        """Query until ``done(result)``; fail with the last result and the server's log."""
        deadline = time.monotonic() + timeout
        result: Result = []
        while time.monotonic() < deadline:
            result = self.query(promql)
            if done(result):
                return result
            time.sleep(0.2)
        raise AssertionError(f"{promql}: condition not met; last result {result}\n"
                             f"{self.process.log()[-3000:]}")


def by_label(result: Result, label: str) -> dict[str, float]:
    """``{metric[label]: value}`` of an instant vector."""
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}
