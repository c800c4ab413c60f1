"""`make demo`: the example project on embedded defaults (SQLite), with traffic.

Runs until Ctrl-C, or for DEMO_SECONDS seconds and then exits 0 only if the expected spans
were produced. Stops every process it started.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
VAR = Path(os.environ.get("SHOP_VAR_DIR", HERE / "var"))
SPANS = VAR / "spans.jsonl"
EXPECTED = {"GET /videos/<int:pk>/process/", "shop/videos/views/process",
            "shop/videos/services/ProcessVideo/run", "shop/videos/views/VideoList/get"}


def free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=HERE, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def wait_until_up(base: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
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


def drive_traffic(base: str, stop: threading.Event, counts: dict[str, int]) -> None:
    paths = ["/videos/", "/videos/{n}/", "/videos/{n}/process/", "/videos/{n}/process/",
             "/videos/99/", "/videos/13/process/", "/healthz"]
    weights = [3, 4, 5, 5, 1, 1, 1]
    while not stop.is_set():
        path = random.choices(paths, weights)[0].format(n=random.randint(1, 10))
        try:
            status = urllib.request.urlopen(base + path, timeout=5).status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, ConnectionError):
            status = 0
        counts[str(status)] = counts.get(str(status), 0) + 1
        stop.wait(0.05)


def span_names() -> dict[str, int]:
    names: dict[str, int] = {}
    if SPANS.exists():
        for line in SPANS.read_text().splitlines():
            name = json.loads(line)["name"]
            names[name] = names.get(name, 0) + 1
    return names


def main() -> int:
    seconds = float(os.environ.get("DEMO_SECONDS", "0"))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop.settings", "SHOP_VAR_DIR": str(VAR),
           "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    VAR.mkdir(exist_ok=True)
    SPANS.unlink(missing_ok=True)
    manage("migrate", "--noinput", env=env)
    manage("shell", "-c", "from django.contrib.auth.models import User; "
           "User.objects.filter(username='demo').exists() or "
           "User.objects.create_superuser('demo', 'demo@example.com', 'demo')", env=env)
    port = free_port(int(os.environ.get("DEMO_PORT", "8000")))
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                               f"127.0.0.1:{port}"], cwd=HERE, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    stop = threading.Event()
    counts: dict[str, int] = {}
    try:
        wait_until_up(base, server)
        traffic = threading.Thread(target=drive_traffic, args=(base, stop, counts), daemon=True)
        traffic.start()
        stopping = f"Stopping in {seconds:g} s." if seconds else "Ctrl-C to stop."
        print(f"""
django-tracekit demo is running.
  site:   {base}/videos/
  admin:  {base}/admin/   (user: demo  password: demo — demo only)
  spans:  {SPANS}   (one JSON span per line: tail -f it)
Traffic is flowing in the background. {stopping}
""", flush=True)
        if seconds:
            time.sleep(seconds)
        else:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.send_signal(signal.SIGINT)  # lets the SDK flush buffered spans at exit
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    names = span_names()
    print(f"demo: responses by status {dict(sorted(counts.items()))}; "
          f"{sum(names.values())} spans, top: "
          + ", ".join(f"{n} x{c}" for n, c in sorted(names.items(), key=lambda i: -i[1])[:6]))
    missing = EXPECTED - set(names)
    if missing:
        print(f"demo: expected spans missing: {sorted(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
