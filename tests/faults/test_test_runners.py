"""A project's own test suite with tracekit at its defaults (issue 12, item 1): under
``manage.py test`` and pytest-django no stats thread writes into the test database while
tests run, nothing reaches the real database (not even at exit), and the project's tests
assert on spans and counts with ``django_tracekit.testing``.

The project (tests/faults/projects/runner) flushes every 50 ms, so a background writer, if
there were one, would write throughout the run.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.faults.projects import copy_project, output
from tests.faults.projects import run as run_in


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project("runner", tmp_path)


def run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_in(project, *args, TK_FLUSH_S="0.05")


def real_database(project: Path, name: str = "db.sqlite3") -> dict[str, int]:
    """Feature name -> calls in the developer's own database."""
    with sqlite3.connect(project / name) as db:
        return dict(db.execute(
            "SELECT f.name, COALESCE(SUM(u.calls), 0) FROM tracekit_feature f LEFT JOIN "
            "tracekit_stats u ON u.feature_id = f.id AND u.resolution = 60 GROUP BY f.name"))


def migrated(project: Path) -> dict[str, int]:
    result = run(project, "manage.py", "migrate", "-v", "0")
    assert result.returncode == 0, output(result)
    return real_database(project)


def test_manage_py_test_writes_to_no_database(project: Path) -> None:
    before = migrated(project)
    result = run(project, "manage.py", "test", "-v", "2", "shop")
    text = output(result)
    # The exit flush runs after Django restored the real database: nothing written there.
    assert real_database(project) == before, text
    assert result.returncode == 0, text
    assert "Ran 42 tests" in result.stderr, text
    assert "locked" not in text and "Traceback" not in text, text


def test_pytest_django_writes_to_no_database(project: Path) -> None:
    before = migrated(project)
    result = run(project, "-m", "pytest", "-q", "shop")
    text = output(result)
    assert real_database(project) == before, text
    assert result.returncode == 0, text
    assert "32 passed" in result.stdout, text
    assert "locked" not in text, text


def test_manage_py_test_writes_to_no_database_with_tables_on_their_own(project: Path) -> None:
    """STATS['DATABASE'] on a second database: the test run still writes to neither."""
    for args in (("migrate", "-v", "0"), ("migrate", "--database=tracekit", "-v", "0")):
        done = run_in(project, "manage.py", *args, TK_STATS_DB="stats.sqlite3")
        assert done.returncode == 0, output(done)
    before = real_database(project, "stats.sqlite3")
    result = run_in(project, "manage.py", "test", "-v", "2", "shop", TK_FLUSH_S="0.05",
                    TK_STATS_DB="stats.sqlite3")
    text = output(result)
    assert real_database(project, "stats.sqlite3") == before, text
    with sqlite3.connect(project / "db.sqlite3") as db:  # the project's own: none of them
        assert not db.execute("SELECT name FROM sqlite_master WHERE name LIKE 'tracekit%'"
                              ).fetchall()
    assert result.returncode == 0, text
    assert "Ran 42 tests" in result.stderr, text
