"""The default SERVICE_VERSION of a project that is not an installed distribution:
the providing distribution, ``__version__``, then the git commit read from ``.git``."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_tracekit.core import versions
from tests.support.processes import clean_env
from tests.support.projects import manage, write_project

SHA = "0123456789abcdef0123456789abcdef01234567"
OTHER = "fedcba9876543210fedcba9876543210fedcba98"


@pytest.fixture(autouse=True)
def _uncached() -> Iterator[None]:
    versions.detect.cache_clear()
    yield
    versions.detect.cache_clear()


def _status(root: Path) -> str:
    result = manage(root, "tracekit_status")
    assert result.returncode == 0, result.stderr
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("version:")]
    return line.removeprefix("version:").strip()


def test_a_project_with_a_dunder_version(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/__init__.py": '__version__ = "2.3.4"\n'})
    assert _status(root) == f"2.3.4 (__version__ in {root / 'proj' / '__init__.py'})"


def test_a_project_with_a_version_module(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/version.py": '__version__: str = "7.0rc1"\n'})
    assert _status(root).startswith("7.0rc1 (__version__ in ")


def test_a_project_with_only_git(tmp_path: Path) -> None:
    root = write_project(tmp_path, {})
    git = root / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    # The branch only in packed-refs (after git gc), the way git keeps it.
    (git / "packed-refs").write_text(f"# pack-refs with: peeled fully-peeled sorted\n"
                                     f"{OTHER} refs/heads/other\n{SHA} refs/heads/main\n")
    assert _status(root) == f"{SHA[:12]} (git commit of {root})"


def test_no_source_at_all(tmp_path: Path) -> None:
    root = write_project(tmp_path, {})
    assert _status(root).startswith("(none) (none found")


def test_an_explicit_setting_wins(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/__init__.py": '__version__ = "2.3.4"\n',
        "proj/settings.py": 'TRACEKIT["SERVICE_VERSION"] = "v9"\n'})
    assert _status(root) == "v9 (TRACEKIT['SERVICE_VERSION'])"


def test_the_environment_wins_over_the_default(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/__init__.py": '__version__ = "2.3.4"\n'})
    result = subprocess.run(
        [sys.executable, "manage.py", "tracekit_status"], cwd=root, capture_output=True,
        text=True, timeout=120,
        env=clean_env("proj.settings", pythonpath=(str(root),),
                      OTEL_RESOURCE_ATTRIBUTES="service.version=2.4.1"))
    assert result.returncode == 0, result.stderr
    assert "version:       2.4.1 (service.version in OTEL_RESOURCE_ATTRIBUTES)" in result.stdout


def test_git_refs_loose_detached_and_worktrees(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text(SHA + "\n")
    (git / "packed-refs").write_text(f"{OTHER} refs/heads/main\n")  # stale: loose wins
    (repo / "src" / "app").mkdir(parents=True)
    assert versions.git_commit(repo / "src" / "app") == SHA[:12]  # found above BASE_DIR
    # A worktree: a .git *file* pointing at its folder, whose refs are in the common dir.
    worktree_git = git / "worktrees" / "wt"
    worktree_git.mkdir(parents=True)
    (worktree_git / "HEAD").write_text("ref: refs/heads/feature\n")
    (worktree_git / "commondir").write_text("../..\n")
    (git / "refs" / "heads" / "feature").write_text(OTHER + "\n")
    checkout = tmp_path / "wt"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {worktree_git}\n")
    assert versions.git_commit(checkout) == OTHER[:12]
    # Detached HEAD (CI checkouts).
    (worktree_git / "HEAD").write_text(SHA + "\n")
    assert versions.git_commit(checkout) == SHA[:12]
    # Broken: nothing, never an exception.
    (worktree_git / "HEAD").write_text("garbage\n")
    assert versions.git_commit(checkout) is None
    (checkout / ".git").write_text("gitdir: /nonexistent\n")
    assert versions.git_commit(checkout) is None


def test_the_distribution_that_provides_the_package() -> None:
    # The package _pytest is installed by the distribution pytest.
    found = versions.detect("_pytest", None)
    assert found.value == pytest.__version__
    assert found.source == "distribution 'pytest' (provides package '_pytest')"
    assert versions.detect("django_tracekit", None).source == (
        "installed distribution 'django_tracekit'")


def test_settings_version_as_bookwyrm_and_netbox_set_it(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": 'VERSION = "0.7.5"\n'})
    # Before the git commit: a release number is what the release comparison needs.
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text(SHA + "\n")
    assert _status(root) == "0.7.5 (settings.VERSION)"


def test_settings_version_as_a_tuple(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": "VERSION = (1, 0, 12)\n"})
    assert _status(root) == "1.0.12 (settings.VERSION)"


def test_a_version_file_at_base_dir(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"VERSION": "0.7.5\nreleased 2026-01-01\n"})
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text(SHA + "\n")
    assert _status(root) == f"0.7.5 (VERSION file {root / 'VERSION'})"


def test_the_order_of_the_sources(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": 'VERSION = "3.0"\n', "VERSION": "2.0\n"})
    assert _status(root) == "3.0 (settings.VERSION)"  # the setting, then the file
    (root / "proj" / "__init__.py").write_text('__version__ = "4.0"\n')
    assert _status(root).startswith("4.0 (__version__ in ")  # the package's own first


@pytest.mark.parametrize("value", [
    None, True, "", "  ", "0.7.5 beta", "x" * 65, (), (1, None), {"major": 1}, print, 1.5])
def test_what_is_not_a_version(value: object) -> None:
    assert versions.from_settings_value(value) is None


def test_an_unreadable_or_empty_version_file_is_skipped(tmp_path: Path) -> None:
    assert versions.from_version_file(tmp_path) is None
    (tmp_path / "VERSION").write_text("\n")
    assert versions.from_version_file(tmp_path) is None
    (tmp_path / "VERSION").write_bytes(b"\xff\xfe")
    assert versions.from_version_file(tmp_path) is None


def test_a_package_in_a_checkout_is_not_looked_up_in_every_distribution(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pontoon trial: packages_distributions() read the file lists of all 160 installed
    distributions (about 0.5 s of CPU) at every process start, for a package in a checkout
    that no installed distribution provides."""
    from importlib import metadata

    def scan_everything() -> None:
        raise AssertionError("every distribution's file list was read")

    checkout = tmp_path / "checkout"
    (checkout / "proj").mkdir(parents=True)
    (checkout / "proj" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(checkout))
    monkeypatch.setattr(metadata, "packages_distributions", scan_everything)
    assert versions.from_providing_distribution("proj") is None
    # setup.py develop: the .egg-info beside the package is found by importlib.metadata.
    info = checkout / "proj.egg-info"
    info.mkdir()
    (info / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: proj-web\nVersion: 3.1\n")
    (info / "top_level.txt").write_text("proj\n")
    assert versions.from_providing_distribution("proj") == ("proj-web", "3.1")
    # An editable install (pip install -e): this checkout of tracekit itself.
    provided = versions.from_providing_distribution("django_tracekit")
    assert provided is not None and provided[0] == "django-tracekit"


def test_without_base_dir_the_git_commit_of_the_checkout(tmp_path: Path) -> None:
    """pontoon names its root ROOT: the commit of the checkout holding ROOT_URLCONF's
    package, and tracekit_status says where it came from (it said "none found")."""
    root = write_project(tmp_path, {"proj/settings.py": "del BASE_DIR\n"})
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text(SHA + "\n")
    assert _status(root) == f"{SHA[:12]} (git commit of {root.resolve()})"
