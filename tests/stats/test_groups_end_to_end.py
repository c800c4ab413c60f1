"""The real thing: a gunicorn process serves a view that raises one error type from one
place with a message per order; its stats flusher writes the group, and the errors page,
served by that same process to a logged-in user, shows one group with both messages and a
link to the kept trace; the trace list's ``?group=`` finds that trace."""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port

SETTINGS = "tests.stats.errors_project.settings"
LOCATION = "tests/stats/urls/find_order"


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as connection:
        try:
            return list(connection.execute(sql, params))
        except sqlite3.OperationalError:  # not migrated yet
            return []


def _wait(condition: Any, what: str, server: GroupProcess) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}\n{server.log()[-4000:]}")
        time.sleep(0.1)


def test_two_messages_from_one_place_are_one_group(tmp_path: Path) -> None:
    db = tmp_path / "errors.sqlite3"
    env = clean_env(SETTINGS, TK_ERRORS_DB=str(db))
    for command in (["migrate", "-v", "0"],
                    ["shell", "-c", "from django.contrib.auth.models import User; "
                     "User.objects.create_superuser('root', password='pw')"]):
        done = subprocess.run([sys.executable, "-m", "django", *command], env=env,
                              capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = GroupProcess("gunicorn", [sys.executable, "-m", "gunicorn", "-w", "1", "-b",
                                       f"127.0.0.1:{port}",
                                       "tests.stats.errors_project.wsgi:application"],
                          env, tmp_path / "gunicorn.log")
    try:
        server.wait_http(f"{base}/orders/1/")
        for pk in (4, 7):
            try:
                urllib.request.urlopen(f"{base}/missing/{pk}/", timeout=30)
            except urllib.error.HTTPError as exc:
                assert exc.code == 500
            else:
                raise AssertionError("the view did not fail")

        group = _wait(lambda: _rows(db, "SELECT id, fingerprint, type, count FROM "
                                    "tracekit_error_group WHERE location = ? AND count >= 2",
                                    LOCATION), "the group was not written", server)
        group_id, fingerprint, error_type, count = group[0]
        assert (error_type, count) == ("tests.stats.urls.OrderMissing", 2)
        assert _rows(db, "SELECT COUNT(*) FROM tracekit_error_group") == [(1,)]
        assert _rows(db, "SELECT f.name, b.resolution, b.count FROM "
                     "tracekit_error_group_bucket b JOIN tracekit_feature f ON "
                     "f.id = b.feature_id WHERE b.group_id = ? ORDER BY b.resolution",
                     group_id) == [("GET /missing/<int:pk>/", 3600, 2),
                                   ("GET /missing/<int:pk>/", 86400, 2)]
        messages = sorted(m for (m,) in _rows(
            db, "SELECT message FROM tracekit_error_group_example WHERE group_id = ?",
            group_id))
        assert messages == ["order 4 not found", "order 7 not found"]
        # Error traces are kept whole, with the group on the raising span's exception event.
        _wait(lambda: len(_rows(db, "SELECT DISTINCT trace_id FROM tracekit_trace_span "
                                "WHERE events LIKE ?", f'%"{fingerprint}"%')) == 2,
              "the error traces were not kept", server)

        # The pages, from the same server, as a logged-in user.
        jar = http.cookiejar.CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = browser.open(f"{base}/admin/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)
        assert token is not None
        browser.open(urllib.request.Request(
            f"{base}/admin/login/?next=/admin/", data=urllib.parse.urlencode({
                "username": "root", "password": "pw", "next": "/admin/",
                "csrfmiddlewaretoken": token.group(1)}).encode(),
            headers={"Referer": f"{base}/admin/login/"}), timeout=30)
        page = browser.open(f"{base}/admin/django_tracekit/feature/errors/?range=1h",
                            timeout=30).read().decode()
        assert re.findall(r'<tr data-group="([0-9a-f]{16})" data-count="(\d+)">', page) == [
            (fingerprint, "2")]
        assert "order 4 not found" in page and "order 7 not found" in page
        assert 'class="tk-latest-trace"' in page
        listed = browser.open(f"{base}/admin/django_tracekit/trace/?group={fingerprint}",
                              timeout=30).read().decode()
        assert len(set(re.findall(r'data-trace="(\w+)"', listed))) == 2
    finally:
        server.stop()
