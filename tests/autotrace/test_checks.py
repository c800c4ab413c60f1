"""W030 names who imported a module before auto-tracing and the fix for that cause, checked
with real settings modules and ``manage.py check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import clean_env
from tests.support.projects import SETTINGS as SETTINGS_TEXT
from tests.support.projects import CheckLine, check_lines, manage, write_project

FIRST_IN_APPS = "List 'django_tracekit' first in INSTALLED_APPS."
HELPERS = "def helper():\n    return 1\n"


def w030(root: Path) -> list[CheckLine]:
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in check_lines(result.stderr) if line.id == "django_tracekit.W030"]


def test_what_the_settings_import_while_they_load_is_not_warned_about(tmp_path: Path) -> None:
    """django-environ's layout (the Styleguide trial): settings import an env helper module
    and the enums they read, directly and through another module: values and helpers that
    necessarily load before any hook, not warned about (at start-up or by W030)."""
    root = write_project(tmp_path, {
        "proj/settings.py": "from proj.env import env\nfrom proj.pricing import VAT\n",
        "proj/env.py": "def env(name, default=None):\n    return default\n",
        "proj/pricing.py": "from proj import enums\nVAT = 0.2\n" + HELPERS,
        "proj/enums.py": "import enum\n\nclass Status(enum.Enum):\n    READY = 1\n",
    })
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W030" not in result.stderr and "not auto-traced" not in result.stderr, result.stderr


def test_logging_handler_says_import_lazily(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/settings.py": """
            LOGGING = {"version": 1, "handlers": {"audit": {"class": "proj.logs.AuditHandler"}},
                       "root": {"handlers": ["audit"]}}
        """,
        "proj/logs.py": """
            import logging
            from proj.audit import store

            class AuditHandler(logging.Handler):
                def emit(self, record):
                    store(record)
        """,
        "proj/audit.py": "def store(record):\n    pass\n",
    })
    [line] = w030(root)
    assert "proj.audit, proj.logs" in line.msg
    assert "LOGGING names 'proj.logs.AuditHandler'" in line.msg
    assert "imports project code inside its methods (lazily)" in line.hint
    assert FIRST_IN_APPS not in line.hint


def test_app_listed_before_tracekit_says_list_it_first(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/settings.py": 'INSTALLED_APPS = ["proj.early", *INSTALLED_APPS]\n',
        "proj/early/__init__.py": "",
        "proj/early/apps.py": """
            from django.apps import AppConfig
            from proj.early import signals

            class EarlyConfig(AppConfig):
                name = "proj.early"
        """,
        "proj/early/signals.py": HELPERS,
    })
    [line] = w030(root)
    assert "proj.early.apps, proj.early.signals" in line.msg
    assert "before 'django_tracekit' in INSTALLED_APPS import them: proj.early" in line.msg
    assert line.hint == FIRST_IN_APPS


def test_entry_point_import_says_import_after_setup(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/boot.py": HELPERS})
    manage_py = root / "manage.py"
    manage_py.write_text("import proj.boot\n" + manage_py.read_text())
    [line] = w030(root)
    assert "proj.boot." in line.msg and "manage.py" in line.msg
    assert line.hint.startswith("Import project code in that entry point only after")
    # The start-up line says so itself: `manage.py check` run apart would not import it.
    [logged] = [s for s in manage(root, "check").stderr.splitlines() if "not auto-traced" in s]
    assert "entry point imported them" in logged and "manage.py check" not in logged


@pytest.mark.requires("celery")
def test_the_celery_app_module_names_the_real_cause(tmp_path: Path) -> None:
    """The standard Django + Celery layout: ``celery -A proj.tasks`` imports the app module
    (with its signal receivers) before Django is set up. Here the entry point imports it
    first, as Celery's does in the worker."""
    root = write_project(tmp_path, {
        "proj/tasks/__init__.py": "",
        "proj/tasks/celery.py": """
            from celery import Celery
            from celery.signals import setup_logging

            app = Celery("proj")

            @setup_logging.connect
            def config_loggers(*args, **kwargs):
                pass
        """,
    })
    manage_py = root / "manage.py"
    manage_py.write_text("import proj.tasks.celery\n" + manage_py.read_text())
    result = manage(root, "check")
    [line] = [one for one in check_lines(result.stderr) if one.id == "django_tracekit.W030"]
    assert line.msg.startswith("Not auto-traced, imported before auto-tracing was installed: "
                               "proj.tasks.celery. Celery imports the app module"), line.msg
    assert "AppConfig.ready()" in line.hint and "autodiscover_tasks" in line.hint
    [logged] = [s for s in result.stderr.splitlines() if "not auto-traced" in s]
    assert "the Celery app module proj.tasks.celery" in logged
    assert "manage.py check" not in logged


def test_causes_are_reported_apart(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/settings.py": """
            import proj.pricing
            LOGGING = {"version": 1, "filters": {"f": {"()": "proj.logs.Quiet"}}}
        """,
        "proj/pricing.py": HELPERS,
        "proj/logs.py": "class Quiet:\n    def filter(self, record):\n        return True\n",
    })
    by_fix = {line.hint.split(" ")[0]: line.msg for line in w030(root)}
    assert by_fix.keys() == {"Keep"}  # what the settings imported is not warned about
    assert "proj.logs." in by_fix["Keep"] and "proj.pricing" not in by_fix["Keep"]


def test_settings_split_over_several_files_are_followed_to_the_real_line(
        tmp_path: Path) -> None:
    """A real project's layout (issue 21, item 11): ``settings/ci.py`` star-imports
    ``settings_global.py``, which imports the project's core package for its version; the
    package's ``__init__`` imports the version module. None of the modules in between is
    auto-traced (settings, an ``__init__`` that defines nothing), so the chain used to stop
    at the first of them and W030 blamed manage.py."""
    root = write_project(tmp_path, {
        "proj/settings/__init__.py": "",
        "proj/settings/ci.py": (
            "from proj.settings_global import *  # noqa\n"
            "DEBUG = False\n"),
        "proj/settings_global.py": "\n".join([
            *(line for line in SETTINGS_TEXT.splitlines()),
            "import core",
            "VERSION = core.__version__",
            ""]),
        "core/__init__.py": "from core.version import __version__\n",
        "core/version.py": "__version__ = '1.2'\n\ndef describe():\n    return __version__\n",
    })
    (root / "proj/settings.py").unlink()  # the settings are the package above
    manage_py = root / "manage.py"
    manage_py.write_text(manage_py.read_text().replace('"proj.settings"', '"proj.settings.ci"'))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, capture_output=True, text=True,
        env=clean_env("proj.settings.ci", pythonpath=(str(root),)), timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # Followed through every file of the chain: imported while the settings loaded, so not
    # warned about (it used to blame manage.py, then the settings).
    assert not [one for one in check_lines(result.stderr) if one.id == "django_tracekit.W030"]
    assert "core.version" not in result.stderr, result.stderr


def test_a_base_settings_module_the_settings_star_import_is_not_warned_about(
        tmp_path: Path) -> None:
    """Misago's layout: ``devproject/settings.py`` star-imports the project's own base
    settings (``misago/settings.py``, which defines a helper): settings, not code a team
    wants auto-traced; nor is a module they import while loading (Styleguide trial)."""
    root = write_project(tmp_path, {
        "proj/settings.py": "from shopcore.settings import *  # noqa\nDEBUG = True\n",
        "shopcore/__init__.py": "",
        "shopcore/settings.py": "\n".join([
            *SETTINGS_TEXT.splitlines(),
            'TRACEKIT = {**TRACEKIT, "AUTOTRACE": {"INCLUDE": ["proj", "shopcore"]}}',
            "from shopcore.pricing import VAT",
            "",
            "def env_list(name):",
            "    return [name]",
            ""]),
        "shopcore/pricing.py": "VAT = 0.2\n" + HELPERS,
    })
    # Neither the base settings nor what they import while loading is warned about.
    assert w030(root) == []


def test_no_project_folder_says_auto_tracing_includes_nothing(tmp_path: Path) -> None:
    """No BASE_DIR and a ROOT_URLCONF outside the project (the pontoon trial names its root
    ROOT): auto-tracing would silently trace nothing; W032 says so, with the fix."""
    root = write_project(tmp_path, {
        "proj/settings.py": "del BASE_DIR\nROOT_URLCONF = 'django.contrib.auth.urls'\n"})
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [c for c in check_lines(result.stderr) if c.id == "django_tracekit.W032"]
    assert "Auto-tracing includes nothing" in line.msg and "BASE_DIR" in line.hint
    with_base_dir = write_project(tmp_path / "ok", {})
    assert "W032" not in manage(with_base_dir, "check").stderr
