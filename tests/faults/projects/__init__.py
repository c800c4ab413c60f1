"""Small Django projects the fault tests run as a user runs them (``manage.py``, pytest)
in a fresh interpreter with a clean environment, each test on its own copy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.processes import clean_env

HERE = Path(__file__).resolve().parent


def copy_project(name: str, into: Path) -> Path:
    root = into / name
    shutil.copytree(HERE / name, root, ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return root


def run(project: Path, *args: str, timeout: float = 600,
        **env: str) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``project`` (e.g. ``"manage.py", "check"``)."""
    return subprocess.run([sys.executable, *args], cwd=project, capture_output=True, text=True,
                          env=clean_env("proj.settings", pythonpath=(str(project),), **env),
                          timeout=timeout)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
