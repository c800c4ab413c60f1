"""Worker memory: what tracekit adds to the RSS of a gunicorn worker of the example project.

The example project in its default configuration (stats on, auto-tracing of its app, no
exporter) against the same project with tracekit taken out of INSTALLED_APPS and
MIDDLEWARE, each in a real gunicorn (sync, one worker) after the same traffic: RSS of the
worker process from /proc, after warm-up and after more requests (growth = a leak).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._summary import record  # noqa: E402
from tests.support.processes import free_port  # noqa: E402

WITHOUT_TRACEKIT = """
from shop.settings import *  # noqa: F403
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "django_tracekit"]  # noqa: F405
MIDDLEWARE = [m for m in MIDDLEWARE if "tracekit" not in m]  # noqa: F405
"""
PATHS = ("/videos/", "/videos/1/", "/healthz", "/videos/999/")


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _worker_pid(master: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no worker")


def get(port: int, i: int) -> None:
    """The ``i``-th request of the traffic."""
    with contextlib.suppress(urllib.error.HTTPError):  # 404 is part of the traffic
        urllib.request.urlopen(f"http://127.0.0.1:{port}{PATHS[i % len(PATHS)]}",
                               timeout=30).read()


def _traffic(port: int, requests: int) -> None:
    for i in range(requests):
        get(port, i)


def start_worker(tree: Path, settings_module: str,
                 var_dir: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The example project of ``tree`` migrated and served by a real gunicorn (sync, one
    worker), answering: (the master process, its port)."""
    project = tree / "example_project"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "SHOP_VAR_DIR": str(var_dir),
           "PYTHONPATH": os.pathsep.join([str(project), str(var_dir.parent), str(tree)])}
    migrate = subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=project,
                             env=env, capture_output=True, text=True)
    if migrate.returncode:
        raise RuntimeError(f"migrate failed:\n{migrate.stderr[-2000:]}")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
         "shop.wsgi:application"], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return server, port
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.terminate()
                raise
            time.sleep(0.2)


def measure(settings_module: str, var_dir: Path) -> tuple[int, int]:
    server, port = start_worker(ROOT, settings_module, var_dir)
    try:
        worker = _worker_pid(server.pid)
        _traffic(port, 400)
        warm = _rss_kib(worker)
        _traffic(port, 2000)
        return warm, _rss_kib(worker)
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="tracekit-bench-memory-"))
    try:
        (var_dir / "shop_without_tracekit.py").write_text(WITHOUT_TRACEKIT)
        results = {name: measure(module, var_dir / folder) for name, module, folder in (
            ("without tracekit", "shop_without_tracekit", "plain"),
            ("tracekit (default)", "shop.settings", "tracekit"))}
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    _, base_after = results["without tracekit"]
    record(**{"memory.base_mb": base_after / 1024,
              "memory.added_mb": (results["tracekit (default)"][1] - base_after) / 1024})
    print("\ngunicorn sync worker RSS, example project (400 requests, then 2,000 more)")
    print(f"{'contender':<22}{'RSS warm':>12}{'RSS after':>12}{'added':>10}{'ratio':>8}")
    for name, (warm, after) in results.items():
        print(f"{name:<22}{warm / 1024:>10.1f}MB{after / 1024:>10.1f}MB"
              f"{(after - base_after) / 1024:>8.1f}MB{after / base_after:>8.2f}")


if __name__ == "__main__":
    main()
