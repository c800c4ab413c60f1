"""W030 names who imported a module before auto-tracing and the fix for that cause, checked
with real settings modules and ``manage.py check``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import clean_env
from tests.support.projects import SETTINGS as SETTINGS_TEXT
from tests.support.projects import CheckLine, check_lines, manage, write_project

FIRST_IN_APPS = "List 'django_tracekit' first in INSTALLED_APPS."
HELPERS = "def helper():\n    return 1\n"


def w030(root: Path) -> list[CheckLine]:
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in check_lines(result.stderr) if line.id == "django_tracekit.W030"]


def test_imported_by_settings_says_move_the_import(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/settings.py": "from proj.pricing import VAT\n",
        "proj/pricing.py": "from proj import money\nVAT = 0.2\n" + HELPERS,
        "proj/money.py": HELPERS,  # imported through pricing: the same cause
    })
    [line] = w030(root)
    assert "proj.money, proj.pricing" in line.msg
    assert "settings module 'proj.settings' imports them" in line.msg
    assert line.hint.startswith("Move these imports out of settings")
    assert FIRST_IN_APPS not in line.hint  # django_tracekit is first already


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
    assert by_fix.keys() == {"Move", "Keep"}  # manage.py prints them sorted
    assert "proj.pricing." in by_fix["Move"] and "proj.logs" not in by_fix["Move"]
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
    [line] = [one for one in check_lines(result.stderr) if one.id == "django_tracekit.W030"]
    assert "core.version" in line.msg
    assert "settings module 'proj.settings.ci' imports them" in line.msg, line.msg
    assert "manage.py" not in line.msg, line.msg
    # Every file of the chain with the line that imports the next.
    global_line = SETTINGS_TEXT.count("\n") + 1
    assert ("Import chain of core.version: proj/settings/ci.py line 1 imports "
            f"proj.settings_global; proj/settings_global.py line {global_line} imports core; "
            "core/__init__.py line 1 imports core.version") in line.msg, line.msg
    assert line.hint.startswith("Move these imports out of settings")


def test_a_base_settings_module_the_settings_star_import_is_not_warned_about(
        tmp_path: Path) -> None:
    """Misago's layout: ``devproject/settings.py`` star-imports the project's own base
    settings (``misago/settings.py``, which defines a helper): settings, not code a team
    wants auto-traced; a module they import for code still is."""
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
    [line] = w030(root)
    # The modules named: the code one alone (the chain still shows the settings line).
    assert line.msg.startswith("Not auto-traced, imported before auto-tracing was installed: "
                               "shopcore.pricing. "), line.msg
