"""`make demo`: the example project on embedded defaults (SQLite + Celery's filesystem://
broker), a real Celery worker, a real server and background traffic.

Runs until Ctrl-C, or for DEMO_SECONDS seconds; then it reads the admin's feature-usage page
like a person would (logged in as the demo user) and exits 0 only if that page served real
numbers for the pipeline's features and its stylesheets and scripts loaded (an unstyled
admin is a failed demo). Every process it started is stopped.
"""

from __future__ import annotations

import html
import http.cookiejar
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VAR = Path(os.environ.get("SHOP_VAR_DIR", HERE / "var"))
FLUSH_S = 2.0
USER, PASSWORD = "demo", "demo"
# Features the usage page must show with calls > 0 (request, view, task, function).
EXPECTED = ("POST /videos/<int:pk>/upload/", "shop/videos/views/upload",
            "shop/videos/tasks/transcode", "shop/videos/tasks/notify",
            "shop/videos/services/ProcessVideo/run")


def free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"demo: the server exited with {server.returncode}")
        try:
            urllib.request.urlopen(base + "/healthz", timeout=1).read()
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise SystemExit("demo: the server did not start in time")


def drive_traffic(base: str, stop: threading.Event, started: float, ramp_s: float,
                  counts: dict[str, int]) -> None:
    """Realistic mixed traffic; the share feature is rolled out gradually (0 % -> 60 %)."""
    while not stop.is_set():
        n = random.randint(1, 10)
        rollout = min(1.0, (time.monotonic() - started) / ramp_s) * 0.6
        if random.random() < rollout:
            method, path = "GET", f"/videos/{n}/share/"
        else:
            method, path = random.choices(
                [("GET", "/videos/"), ("GET", f"/videos/{n}/"), ("GET", f"/videos/{n}/process/"),
                 ("POST", f"/videos/{n}/upload/"), ("GET", "/videos/99/"),
                 ("GET", "/videos/13/process/"), ("GET", "/healthz"),
                 ("GET", "/videos/catalog/")],
                [3, 4, 4, 3, 1, 1, 1, 2])[0]
        request = urllib.request.Request(base + path, method=method,
                                         data=b"" if method == "POST" else None)
        try:
            status = urllib.request.urlopen(request, timeout=10).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = 0
        counts[str(status)] = counts.get(str(status), 0) + 1
        stop.wait(0.05)


def admin_pages(base: str) -> tuple[str, str]:
    """Log in to the admin as the demo user; the feature-usage page's HTML (every kind) and
    the trace explorer's list of error traces."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_url = base + "/admin/login/?next=/admin/django_tracekit/feature/"
    opener.open(login_url, timeout=10).read()
    token = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"username": USER, "password": PASSWORD,
                                   "csrfmiddlewaretoken": token,
                                   "next": "/admin/django_tracekit/feature/?range=1h&kind=all"})
    request = urllib.request.Request(login_url, data=form.encode(),
                                     headers={"Referer": login_url})
    usage = opener.open(request, timeout=30).read().decode()
    traces = opener.open(base + "/admin/django_tracekit/trace/?status=error&range=1h",
                         timeout=30).read().decode()
    return str(usage), str(traces)


def error_traces(page: str) -> int:
    """Rows of the trace explorer's error list."""
    return len(re.findall(r'<tr data-trace="[0-9a-f]{32}" data-status="error"', page))


def usage_numbers(page: str) -> dict[str, int]:
    """Calls per feature, as the usage page shows them."""
    rows = re.findall(r'data-feature="([^"]*)" data-kind="[^"]*" data-calls="(\d+)"', page)
    return {html.unescape(name): int(calls) for name, calls in rows}


def broken_assets(base: str, page: str) -> list[str]:
    """The page's stylesheets and scripts that do not load as a browser would get them
    (the admin's own base.css must be among them): without them the page is unstyled."""
    links = re.findall(r'<link rel="stylesheet"[^>]*href="([^"]+)"', page)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', page)
    broken = [] if any("admin/css/base" in href for href in links) else [
        "admin/css/base.css (not linked)"]
    for url in map(html.unescape, links + scripts):
        want = "text/css" if url in links else "javascript"
        try:
            with urllib.request.urlopen(urllib.parse.urljoin(base + "/", url),
                                        timeout=10) as reply:
                body, kind = reply.read(), reply.headers.get("Content-Type", "")
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            broken.append(f"{url} ({exc})")
            continue
        if want not in kind or not body:
            broken.append(f"{url} ({kind or 'no content type'}, {len(body)} bytes)")
    return broken


def stop_process(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        process.send_signal(sig)  # lets tracekit flush what it buffered
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C, and also SIGTERM (a supervisor, `kill`), stop every process the demo started;
    # installed explicitly because a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    seconds = float(os.environ.get("DEMO_SECONDS", "0"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "SHOP_VAR_DIR": str(VAR),
           "SHOP_STATS_FLUSH_S": str(FLUSH_S),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    VAR.mkdir(exist_ok=True)
    for stale in ("broker", "broker-control"):  # messages of an earlier run
        shutil.rmtree(VAR / stale, ignore_errors=True)

    def manage(*args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=HERE, env=env, check=True,
                       stdout=subprocess.DEVNULL)

    manage("migrate", "--noinput")
    manage("collectstatic", "--noinput")  # the admin's CSS/JS, served by WhiteNoise
    manage("refresh_catalog")  # a management command: a root span and a "command" feature
    manage("shell", "-c", "from django.contrib.auth.models import User; "
           f"User.objects.filter(username='{USER}').exists() or "
           f"User.objects.create_superuser('{USER}', 'demo@example.com', '{PASSWORD}')")
    port = free_port(int(os.environ.get("DEMO_PORT", "8000")))  # 0: any free port
    base = f"http://127.0.0.1:{port}"
    quiet = {"cwd": HERE, "env": env, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL, "start_new_session": True}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "shop", "worker",
                               "-P", "prefork", "-c", "2", "-l", "WARNING"],
                              **{**quiet, "env": {**env, "SHOP_SERVICE_NAME": "shop-worker"}})
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                               f"127.0.0.1:{port}"], **quiet)
    stop = threading.Event()
    counts: dict[str, int] = {}
    numbers: dict[str, int] = {}
    broken: list[str] = []
    kept_errors = 0
    try:
        wait_until_up(base, server)
        started = time.monotonic()
        traffic = threading.Thread(target=drive_traffic, daemon=True,
                                   args=(base, stop, started, seconds or 600, counts))
        traffic.start()
        stopping = f"Stopping in {seconds:g} s." if seconds else "Ctrl-C stops everything."
        print(f"""
django-tracekit demo is running: a Django server and a Celery worker (prefork), SQLite and
the filesystem:// broker, with traffic in the background. {stopping}

  Feature usage:  {base}/admin/django_tracekit/feature/
  Traces:         {base}/admin/django_tracekit/trace/   errors, slow steps, N+1 on /videos/catalog/
  Admin login:    user "{USER}", password "{PASSWORD}" (demo only)
  The site:       {base}/videos/

Counts appear within {FLUSH_S:g} s; the "share" feature is being rolled out, watch it rise.
Spans are not exported in the demo: SHOP_TRACE_EXPORTER=console make demo prints them,
SHOP_TRACE_EXPORTER=otlp sends them to OTEL_EXPORTER_OTLP_ENDPOINT (Collector, Jaeger).
""", flush=True)
        if seconds:
            time.sleep(seconds)
            stop.set()
            time.sleep(3 * FLUSH_S)  # the server's and the worker's flushers write their counts
            page, traces_page = admin_pages(base)
            numbers, broken = usage_numbers(page), broken_assets(base, page)
            kept_errors = error_traces(traces_page)
        else:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        stop_process(server, signal.SIGINT)
        stop_process(worker, signal.SIGTERM)
    print(f"demo: responses by status {dict(sorted(counts.items()))}")
    if not seconds:
        return 0
    shown = {name: numbers.get(name, 0) for name in EXPECTED}
    print("demo: the usage page showed " + ", ".join(f"{k} = {v}" for k, v in shown.items()))
    failed = False
    if not all(shown.values()):
        print(f"demo: FAILED: no numbers for {[k for k, v in shown.items() if not v]}",
              file=sys.stderr)
        failed = True
    print(f"demo: the trace explorer listed {kept_errors} error traces")
    if not kept_errors:
        print("demo: FAILED: the trace explorer kept no error trace", file=sys.stderr)
        failed = True
    if broken:
        print(f"demo: FAILED: the usage page's styles/scripts did not load: {broken}",
              file=sys.stderr)
        failed = True
    else:
        print("demo: the usage page's stylesheets and scripts loaded")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
