"""`make demo`: the example project on embedded defaults (SQLite + Celery's filesystem://
broker), a real Celery worker, a real server and background traffic.

Runs until Ctrl-C, or for DEMO_SECONDS seconds; then it reads the admin's feature-usage page
like a person would (logged in as the demo user) and exits 0 only if that page served real
numbers for the pipeline's features and its stylesheets and scripts loaded (an unstyled
admin is a failed demo). Every process it started is stopped.
"""

from __future__ import annotations

import csv
import html
import http.cookiejar
import io
import json
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
from typing import Any

HERE = Path(__file__).resolve().parent
VAR = Path(os.environ.get("SHOP_VAR_DIR", HERE / "var"))
FLUSH_S = 2.0
USER, PASSWORD = "demo", "demo"
USERS = ("alice", "bob", "carol", "dave", "erin")  # the shop's customers (signed in)
RELEASES = ("1.4.0", "1.5.0")  # rolled out one after the other while the demo runs
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


def sign_in(base: str, username: str) -> urllib.request.OpenerDirector:
    """An opener holding ``username``'s session (its requests carry ``enduser.id``)."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD}).encode()
    opener.open(base + "/login/", data=form, timeout=10).read()
    return opener


def drive_traffic(base: str, stop: threading.Event, started: float, ramp_s: float,
                  counts: dict[str, int], up: threading.Event) -> None:
    """Realistic mixed traffic, anonymous and from signed-in users; the share feature is
    rolled out gradually (0 % -> 60 %). Paused while ``up`` is not set (a release is being
    rolled out)."""
    def count(status: str) -> None:
        if not counts:
            print("demo: traffic is flowing", flush=True)
        counts[status] = counts.get(status, 0) + 1

    openers = [urllib.request.build_opener()]
    while not stop.is_set() and len(openers) < 1 + len(USERS):
        if not up.wait(0.5):
            continue
        try:
            openers.append(sign_in(base, USERS[len(openers) - 1]))
            count("200")  # a sign-in is traffic too
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            stop.wait(0.5)  # a release being rolled out: the server is restarting
    cdn_upload_sent = False
    while not stop.is_set():
        if not up.wait(0.5):
            continue
        n = random.randint(1, 10)
        rollout = min(1.0, (time.monotonic() - started) / ramp_s) * 0.6
        if not cdn_upload_sent:  # video 7's CDN task fails every attempt: show it early
            method, path, cdn_upload_sent = "POST", "/videos/7/upload/", True
        elif random.random() < rollout:
            method, path = "GET", f"/videos/{n}/share/"
        else:
            method, path = random.choices(
                [("GET", "/videos/"), ("GET", f"/videos/{n}/"), ("GET", f"/videos/{n}/process/"),
                 ("POST", f"/videos/{n}/upload/"), ("GET", "/videos/99/"),
                 ("GET", f"/videos/{13 * random.randint(1, 4)}/process/"), ("GET", "/healthz"),
                 ("GET", "/videos/catalog/")],
                [3, 4, 4, 3, 1, 1, 1, 2])[0]
        request = urllib.request.Request(base + path, method=method,
                                         data=b"" if method == "POST" else None)
        try:
            status = random.choice(openers).open(request, timeout=10).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            status = 0
        count(str(status))
        stop.wait(0.05)


def admin_pages(base: str) -> tuple[str, str, str, str, str]:
    """Log in to the admin as the demo user; the feature-usage page's HTML (every kind),
    its CSV, the trace explorer's list of error traces and the error groups, all on the
    last hour, and the two releases compared."""
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
    table = opener.open(base + "/admin/django_tracekit/feature/?range=1h&kind=all&format=csv",
                        timeout=30).read().decode()
    traces = opener.open(base + "/admin/django_tracekit/trace/?status=error&range=1h",
                         timeout=30).read().decode()
    groups = opener.open(base + "/admin/django_tracekit/feature/errors/?range=1h",
                         timeout=30).read().decode()
    releases = opener.open(
        base + f"/admin/django_tracekit/feature/changes/?before={RELEASES[0]}"
        f"&after={RELEASES[1]}", timeout=30).read().decode()
    return str(usage), str(table), str(traces), str(groups), str(releases)


def most_users(table: str) -> int:
    """The largest Users figure of the usage CSV (distinct signed-in users of a feature)."""
    rows = list(csv.DictReader(io.StringIO(table)))
    return max((int(row.get("users") or 0) for row in rows), default=0)


STORED = """
import json
from django_tracekit.storage.usage_models import FeatureStats
from django_tracekit.storage.trace_models import TraceSpan
print(json.dumps({
    "versions": sorted(set(FeatureStats.objects.exclude(version="").values_list(
        "version", flat=True))),
    "retried": TraceSpan.objects.filter(attributes__contains='"celery.retries"').count()}))
"""


def error_traces(page: str) -> int:
    """Rows of the trace explorer's error list (traces whose entry point failed)."""
    return len(re.findall(r'<tr data-trace="[0-9a-f]{32}" data-status="failed"', page))


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


class Site:
    """The demo's server and worker, restarted as each release is rolled out."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port = env, port
        self.base = f"http://127.0.0.1:{port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.up = threading.Event()  # the traffic runs while set

    def start(self, version: str) -> None:
        env = {**self.env, "SHOP_VERSION": version}
        quiet: dict[str, Any] = {"cwd": HERE, "stdout": subprocess.DEVNULL,
                                 "stderr": subprocess.DEVNULL, "start_new_session": True}
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "shop", "worker", "-P", "prefork", "-c",
             "2", "-l", "WARNING"], env={**env, "SHOP_SERVICE_NAME": "shop-worker"}, **quiet)
        self.server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                                        f"127.0.0.1:{self.port}"], env=env, **quiet)
        wait_until_up(self.base, self.server)
        self.up.set()

    def stop(self) -> None:
        # SIGINT/SIGTERM: tracekit writes what it holds at exit.
        self.up.clear()
        if self.server is not None:
            stop_process(self.server, signal.SIGINT)
        if self.worker is not None:
            stop_process(self.worker, signal.SIGTERM)


def main() -> int:
    # Ctrl-C, and also SIGTERM (a supervisor, `kill`), stop every process the demo started;
    # installed explicitly because a shell may start background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    seconds = float(os.environ.get("DEMO_SECONDS", "0"))
    # The second release goes out halfway (or after a minute when running until Ctrl-C).
    release_after = seconds / 2 if seconds else float(os.environ.get("DEMO_RELEASE_S", "60"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "SHOP_VAR_DIR": str(VAR),
           "SHOP_STATS_FLUSH_S": str(FLUSH_S),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    VAR.mkdir(exist_ok=True)
    for stale in ("broker", "broker-control"):  # messages of an earlier run
        shutil.rmtree(VAR / stale, ignore_errors=True)

    def manage(*args: str) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=HERE, env=env,
                              check=True, stdout=subprocess.PIPE, text=True).stdout

    stop = threading.Event()
    counts: dict[str, int] = {}
    numbers: dict[str, int] = {}
    broken: list[str] = []
    kept_errors = users = 0
    stored: dict[str, Any] = {}
    groups_page = releases_page = ""
    interrupted = False
    site: Site | None = None
    try:
        manage("migrate", "--noinput")
        manage("collectstatic", "--noinput")  # the admin's CSS/JS, served by WhiteNoise
        manage("refresh_catalog")  # a management command: a root span and a "command" feature
        manage("shell", "-c", "from django.contrib.auth.models import User; "
               f"User.objects.filter(username='{USER}').exists() or "
               f"User.objects.create_superuser('{USER}', 'demo@example.com', '{PASSWORD}'); "
               f"[User.objects.filter(username=u).exists() or "
               f"User.objects.create_user(u, password='{PASSWORD}') for u in {USERS!r}]")
        port = free_port(int(os.environ.get("DEMO_PORT", "8000")))  # 0: any free port
        site = Site(env, port)
        base = site.base
        site.start(RELEASES[0])
        started = time.monotonic()
        traffic = threading.Thread(target=drive_traffic, daemon=True,
                                   args=(base, stop, started, seconds or 600, counts, site.up))
        traffic.start()
        stopping = f"Stopping in {seconds:g} s." if seconds else "Ctrl-C stops everything."
        admin = f"{base}/admin/django_tracekit"
        print(f"""
django-tracekit demo is running: a Django server and a Celery worker (prefork), SQLite and
the filesystem:// broker, with traffic in the background. {stopping}

  Feature usage:  {admin}/feature/?range=1h
  Traces:         {admin}/trace/?range=1h   errors, slow steps, retried tasks
  N+1:            {admin}/trace/?range=1h&feature=GET+/videos/catalog/
  Error groups:   {admin}/feature/errors/?range=1h
  Releases:       {admin}/feature/changes/?before={RELEASES[0]}&after={RELEASES[1]}
  Unused code:    {admin}/feature/unused/?range=1h
  Admin login:    user "{USER}", password "{PASSWORD}" (demo only)
  The site:       {base}/videos/   signed-in customers: {", ".join(USERS)}

Release {RELEASES[0]} runs now; {RELEASES[1]} (whose share links regress) is rolled out in \
{release_after:g} s.
Counts appear within {FLUSH_S:g} s; the "share" feature is being rolled out, watch it rise.
Spans are not exported in the demo: SHOP_TRACE_EXPORTER=console make demo prints them,
SHOP_TRACE_EXPORTER=otlp sends them to OTEL_EXPORTER_OTLP_ENDPOINT (Collector, Jaeger).
""", flush=True)
        time.sleep(release_after)
        site.stop()  # the new release: its processes replace the old ones
        site.start(RELEASES[1])
        print(f"demo: release {RELEASES[1]} rolled out", flush=True)
        if seconds:
            time.sleep(max(0.0, seconds - (time.monotonic() - started)))
            stop.set()
            time.sleep(3 * FLUSH_S)  # the server's and the worker's flushers write their counts
            page, table, traces_page, groups_page, releases_page = admin_pages(base)
            numbers, broken = usage_numbers(page), broken_assets(base, page)
            users, kept_errors = most_users(table), error_traces(traces_page)
            stored = json.loads(manage("shell", "-c", STORED).strip().splitlines()[-1])
        else:
            signal.pause()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stop.set()
        if site is not None:
            site.stop()
    print(f"demo: responses by status {dict(sorted(counts.items()))}")
    if interrupted or not seconds:
        return 0  # stopped by hand: nothing to check, nothing failed
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
    print(f"demo: versions recorded {stored.get('versions')}")
    if stored.get("versions") != sorted(RELEASES):
        print(f"demo: FAILED: not both releases recorded ({RELEASES})", file=sys.stderr)
        failed = True
    print(f"demo: the usage page's Users column went up to {users}")
    if not users:
        print("demo: FAILED: no signed-in user counted", file=sys.stderr)
        failed = True
    print(f"demo: kept spans of retried task attempts: {stored.get('retried', 0)}")
    groups = re.findall(r'<tr data-group="[0-9a-f]{16}" data-count="(\d+)"', groups_page)
    print(f"demo: the error groups page listed {len(groups)} groups "
          f"({sum(map(int, groups))} errors)")
    if not groups:
        print("demo: FAILED: the error groups page listed no group", file=sys.stderr)
        failed = True
    compared = len(re.findall(r'<tr data-change="', releases_page))
    print(f"demo: the releases page compared {compared} features "
          f"({RELEASES[0]} vs {RELEASES[1]})")
    if not compared:
        print("demo: FAILED: the releases page compared no feature", file=sys.stderr)
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
