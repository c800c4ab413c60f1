"""``STATS['DATABASE']`` end to end (issue 23, item 2): tracekit's tables on a database of
their own, on real PostgreSQL (two fresh databases) and on SQLite (two files).

``migrate`` puts tracekit's tables on the "tracekit" alias only and the project's own on
"default" only; the checks say first that the alias is not migrated (with the command to
run) and then nothing; a gunicorn server's traffic is counted and its traces kept on the
tracekit database; the admin pages, served by that server, show them; ``tracekit_status``
and ``tracekit_prune`` use that database.
"""

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
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.stats.helpers import usage_rows
from tests.support.databases import fresh_database
from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port
from tests.support.projects import check_lines

SETTINGS = "tests.stats.alias_project.settings"


@dataclass(frozen=True)
class Databases:
    vendor: str  # "postgres" | "sqlite"
    default: str  # database name or file path
    tracekit: str

    def env(self, **extra: str) -> dict[str, str]:
        return clean_env(SETTINGS, TK_DB_VENDOR=self.vendor, TK_DEFAULT_DB=self.default,
                         TK_TRACEKIT_DB=self.tracekit, **extra)

    def rows(self, which: str, sql: str) -> list[tuple[Any, ...]]:
        name = self.default if which == "default" else self.tracekit
        if self.vendor == "postgres":
            import psycopg

            with psycopg.connect(host="127.0.0.1", user="postgres", dbname=name) as db:
                return [tuple(row) for row in db.execute(sql)]  # type: ignore[arg-type]
        with sqlite3.connect(name, timeout=30) as connection:
            return list(connection.execute(sql))

    def tables(self, which: str) -> set[str]:
        if self.vendor == "postgres":
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {name for (name,) in self.rows(which, sql)}


@pytest.fixture(params=["postgres", "sqlite"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    if request.param == "sqlite":
        yield Databases("sqlite", str(tmp_path / "app.sqlite3"), str(tmp_path / "tk.sqlite3"))
        return
    with ExitStack() as stack:
        yield Databases("postgres", stack.enter_context(fresh_database("postgres", "tk_app")),
                        stack.enter_context(fresh_database("postgres", "tk_stats")))


def django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "django", *args], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def wait(condition: Any, what: str, server: GroupProcess) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}\n{server.log()[-4000:]}")
        time.sleep(0.1)
    return value


def logged_in(base: str) -> urllib.request.OpenerDirector:
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    login = browser.open(f"{base}/admin/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login)
    assert token is not None
    browser.open(urllib.request.Request(
        f"{base}/admin/login/?next=/admin/", data=urllib.parse.urlencode({
            "username": "root", "password": "pw", "next": "/admin/",
            "csrfmiddlewaretoken": token.group(1)}).encode(),
        headers={"Referer": f"{base}/admin/login/"}), timeout=30)
    return browser


def test_tables_traffic_and_pages_on_their_own_database(databases: Databases,
                                                         tmp_path: Path) -> None:
    env = databases.env()
    # Not migrated yet: the exact command to run (and no database file created by asking).
    before = check_lines(django(env, "check").stderr)
    assert [(line.id, line.hint) for line in before] == [
        ("django_tracekit.W040", "Run: python manage.py migrate --database=tracekit")]
    assert "'tracekit'" in before[0].msg
    if databases.vendor == "sqlite":
        assert not Path(databases.tracekit).exists()

    django(env, "migrate", "-v", "0")
    django(env, "migrate", "--database=tracekit", "-v", "0")
    on_default, on_tracekit = databases.tables("default"), databases.tables("tracekit")
    ours = {"tracekit_feature", "tracekit_stats", "tracekit_trace", "tracekit_trace_span",
            "tracekit_error_group"}
    assert ours <= on_tracekit and not {t for t in on_default if t.startswith("tracekit_")}
    assert {"auth_user", "django_session"} <= on_default
    assert not {t for t in on_tracekit if t.startswith(("auth_", "django_session",
                                                        "django_admin", "django_content"))}
    assert check_lines(django(env, "check").stderr) == []
    django(env, "shell", "-c", "from django.contrib.auth.models import User; "
           "User.objects.create_superuser('root', password='pw')")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = GroupProcess("gunicorn", [sys.executable, "-m", "gunicorn", "-w", "1", "-b",
                                       f"127.0.0.1:{port}",
                                       "tests.stats.alias_project.wsgi:application"],
                          env, tmp_path / "gunicorn.log")
    try:
        server.wait_http(f"{base}/orders/1/")
        for pk in (2, 3):
            assert urllib.request.urlopen(f"{base}/orders/{pk}/", timeout=30).status == 200
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{base}/fail/", timeout=30)
        assert failed.value.code == 500

        def calls(feature: str) -> int:
            found = databases.rows("tracekit", (
                "SELECT COALESCE(SUM(u.calls), 0) FROM tracekit_stats u JOIN tracekit_feature f "
                f"ON f.id = u.feature_id WHERE u.resolution = 60 AND f.name = '{feature}'"))
            return int(found[0][0])

        # wait_http's own request counts as one call of the orders route.
        wait(lambda: calls("GET /orders/<int:pk>/") == 3 and calls("GET /fail/") == 1,
             "the stats were not written to the tracekit database", server)
        error_traces = wait(lambda: databases.rows(
            "tracekit", "SELECT trace_id FROM tracekit_trace WHERE error_count > 0"),
            "the error trace was not kept on the tracekit database", server)

        browser = logged_in(base)
        usage = browser.open(f"{base}/admin/django_tracekit/feature/?range=1h",
                             timeout=30).read().decode()
        assert usage_rows(usage)[("GET /orders/<int:pk>/", "request")] == (3, 0)
        assert usage_rows(usage)[("GET /fail/", "request")] == (1, 1)
        listed = browser.open(f"{base}/admin/django_tracekit/trace/",
                              timeout=30).read().decode()
        assert error_traces[0][0] in set(re.findall(r'data-trace="(\w+)"', listed))
        # Every other page reads there too (the default database has no tracekit table, so
        # a read from it would fail the page).
        [(feature_id,)] = databases.rows(
            "tracekit", "SELECT id FROM tracekit_feature WHERE name = 'GET /fail/'")
        for page in (f"feature/{feature_id}/usage/?range=1h", "feature/errors/?range=1h",
                     "feature/unused/", "feature/changes/", "feature/?kind=task",
                     f"trace/{error_traces[0][0]}/"):
            shown = browser.open(f"{base}/admin/django_tracekit/{page}", timeout=30)
            assert shown.status == 200, page
        assert "kaboom" in browser.open(f"{base}/admin/django_tracekit/trace/{error_traces[0][0]}/",
                                        timeout=30).read().decode()
    finally:
        server.stop()
    # The default database never had tracekit's tables, and still has none.
    assert not {t for t in databases.tables("default") if t.startswith("tracekit_")}
    assert "database:      tracekit" in django(env, "tracekit_status").stdout
    pruned = django(env, "tracekit_prune", "--dry-run", "--trace-hours", "0.000001",
                    "--no-analyze").stdout
    assert re.search(r"^tracekit_trace \(older than the retention\): would delete [1-9]",
                     pruned, flags=re.MULTILINE), pruned
