"""A throwaway Django project on disk (settings module, manage.py, packages) and its
``manage.py`` commands run as a user runs them: a fresh interpreter, a clean environment."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import clean_env

MANAGE_PY = """\
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
from django.core.management import execute_from_command_line
execute_from_command_line(sys.argv)
"""

SETTINGS = """\
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "x"
USE_TZ = True
INSTALLED_APPS = ["django_tracekit", "django.contrib.contenttypes", "django.contrib.auth"]
MIDDLEWARE = ["django_tracekit.middleware.TracekitMiddleware",
              "django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "proj.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR / "db.sqlite3"}}
TRACEKIT = {"EXPORTER": "none", "STATS": {"ENABLED": False}}
SILENCED_SYSTEM_CHECKS = ["django_tracekit.W023"]  # no admin here: the pages are not tested
"""


@dataclass(frozen=True)
class CheckLine:
    """One system check message as ``manage.py`` prints it."""

    id: str
    msg: str
    hint: str


def write_project(root: Path, files: dict[str, str]) -> Path:
    """``root`` with manage.py, package ``proj`` (settings, urls) and ``files`` (relative
    path -> source; a "proj/settings.py" entry is appended to the default settings)."""
    sources = {"manage.py": MANAGE_PY, "proj/__init__.py": "", "proj/urls.py": "urlpatterns = []\n",
               "proj/settings.py": SETTINGS}
    for path, text in files.items():
        text = textwrap.dedent(text)
        sources[path] = sources[path] + text if path == "proj/settings.py" else text
    for path, text in sources.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def manage(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=root,
                          env=clean_env("proj.settings", pythonpath=(str(root),)),
                          capture_output=True, text=True, timeout=timeout)


def check_lines(output: str, prefix: str = "django_tracekit.") -> list[CheckLine]:
    """The check messages with ids starting with ``prefix`` in a command's output."""
    found = re.findall(r"^\S+: \((" + re.escape(prefix) + r"\w+)\) (.*?)(?:\n\tHINT: (.*))?$",
                       output, flags=re.MULTILINE)
    return [CheckLine(id_, msg, hint) for id_, msg, hint in found]
