"""`make demo`'s smoke test: the example project from a clean copy, unattended, for real."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _processes_mentioning(marker: str) -> list[str]:
    """Processes whose command line or working directory is inside ``marker``: the demo,
    its server and its worker (started with relative paths from the project folder)."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if marker in cmdline or cwd.startswith(marker):
            found.append(f"{pid}: {cmdline} (in {cwd})")
    return found


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for the demo, dropped afterwards."""
    import psycopg

    name = f"tracekit_demo_{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 port=5432 user=postgres dbname=test"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.requires("celery")
def test_demo_runs_unattended_and_the_admin_shows_numbers(tmp_path: Path) -> None:
    run_demo(tmp_path, {})


@pytest.mark.requires("celery", "redis", "psycopg")
@pytest.mark.service("redis", "postgres")
def test_demo_on_redis_and_postgresql_by_environment_only(tmp_path: Path,
                                                          postgres_database: str) -> None:
    run_demo(tmp_path, {"CELERY_BROKER_URL": "redis://127.0.0.1:6379/7",
                        "DATABASE_URL": postgres_database})


@pytest.mark.requires("celery")
def test_demo_runs_until_interrupted_then_stops_everything(tmp_path: Path) -> None:
    copy = copy_demo(tmp_path)
    env = {**demo_env(), "DEMO_PORT": "0"}
    # SIGINT ignored at start, as a shell does for background jobs: the demo must still stop.
    demo = subprocess.Popen([sys.executable, str(copy / "demo.py")], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the banner, then traffic once worker and server are up
            if "demo: traffic is flowing" in line:
                break
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:  # the demo did not stop: clean up what it left behind
            demo.kill()
            for entry in _processes_mentioning(str(copy)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
    assert demo.returncode == 0, output
    assert "demo: responses by status {'" in output  # traffic flowed, then it stopped
    assert _processes_mentioning(str(copy)) == []


def demo_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "SENTRY_", "DJANGO_", "CELERY_", "DATABASE_URL",
                                "DEMO_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def copy_demo(tmp_path: Path) -> Path:
    copy = tmp_path / "example_project"
    shutil.copytree(ROOT / "example_project", copy,
                    ignore=shutil.ignore_patterns("var", "__pycache__"))
    return copy


def run_demo(tmp_path: Path, extra_env: dict[str, str]) -> None:
    copy = copy_demo(tmp_path)
    env = {**demo_env(), "DEMO_SECONDS": "30", "DEMO_PORT": "0", **extra_env}
    result = subprocess.run([sys.executable, str(copy / "demo.py")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Feature usage:  http://127.0.0.1:" in result.stdout
    (line,) = [ln for ln in result.stdout.splitlines()
               if ln.startswith("demo: the usage page showed")]
    # e.g. "shop/videos/tasks/transcode = 41": every pipeline feature counted > 0
    for feature in ("POST /videos/<int:pk>/upload/", "shop/videos/tasks/transcode",
                    "shop/videos/tasks/notify", "shop/videos/services/ProcessVideo/run"):
        count = int(line.split(f"{feature} = ", 1)[1].split(",", 1)[0])
        assert count > 0, line
    assert "demo: the usage page's stylesheets and scripts loaded" in result.stdout
    assert "demo: release 1.5.0 rolled out" in result.stdout
    assert "demo: versions recorded ['1.4.0', '1.5.0']" in result.stdout
    (users,) = [ln for ln in result.stdout.splitlines() if "Users column went up to" in ln]
    assert int(users.rsplit(" ", 1)[1]) > 0, users
    (retried,) = [ln for ln in result.stdout.splitlines() if "retried task attempts" in ln]
    assert int(retried.rsplit(" ", 1)[1]) > 0, retried
    assert "?range=1h" in result.stdout  # the printed links open on the last hour
    assert _processes_mentioning(str(copy)) == []  # the worker and the server are gone
    if "DATABASE_URL" not in extra_env:  # what the admin read, straight from the database
        with sqlite3.connect(copy / "var" / "db.sqlite3") as db:
            versions = {v for (v,) in db.execute(
                "SELECT version FROM tracekit_stats WHERE version <> ''")}
            retried_spans = db.execute(
                "SELECT COUNT(*) FROM tracekit_trace_span WHERE name = ? AND attributes "
                "LIKE ?", ("shop/videos/tasks/publish_to_cdn", '%"celery.retries"%')).fetchone()
        assert versions == {"1.4.0", "1.5.0"}
        assert retried_spans[0] > 0  # the task that fails every attempt was retried


@pytest.mark.requires("celery")
def test_ctrl_c_before_demo_seconds_end_stops_cleanly_with_exit_0(tmp_path: Path) -> None:
    copy = copy_demo(tmp_path)
    env = {**demo_env(), "DEMO_PORT": "0", "DEMO_SECONDS": "600"}
    demo = subprocess.Popen([sys.executable, str(copy / "demo.py")], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the banner is printed once worker and server are up
            if "Stopping in 600 s." in line:
                break
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            for entry in _processes_mentioning(str(copy)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(entry.split(":", 1)[0]), signal.SIGKILL)
    assert demo.returncode == 0, output
    assert "FAILED" not in output and "Traceback" not in output, output
    assert "demo: responses by status" in output
    assert _processes_mentioning(str(copy)) == []


@pytest.mark.requires("celery")
def test_demo_fails_when_the_admin_stylesheet_does_not_load(tmp_path: Path) -> None:
    """The demo's own check sees an unstyled admin (here: static files not served)."""
    copy = copy_demo(tmp_path)
    settings = copy / "shop" / "settings.py"
    served = '    "whitenoise.middleware.WhiteNoiseMiddleware",\n'
    assert served in settings.read_text()
    settings.write_text(settings.read_text().replace(served, ""))
    env = {**demo_env(), "DEMO_SECONDS": "5", "DEMO_PORT": "0"}
    result = subprocess.run([sys.executable, str(copy / "demo.py")], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    [failure] = [ln for ln in result.stderr.splitlines() if "styles/scripts did not load" in ln]
    assert "/static/admin/css/base." in failure and "404" in failure
    assert _processes_mentioning(str(copy)) == []
