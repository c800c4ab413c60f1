"""Modules imported before the hook that are no module of the project: gunicorn loads its
config file (``gunicorn.conf.py`` beside manage.py, under BASE_DIR) as ``__config__``: the
Styleguide trial's every web process listed it as not auto-traced."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_tracekit.sources import autotrace
from django_tracekit.sources.autotrace.hook import Rules
from tests.support.projects import manage, write_project

CONFIG = "def post_fork(server, worker):\n    pass\n\nbind = '127.0.0.1:8000'\n"


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[Path]:
    """gunicorn's way of loading its config file, and one project module loaded normally."""
    names = []
    for name, file in (("__config__", "gunicorn.conf.py"), ("earlyproj_boot", "boot.py")):
        path = tmp_path / file
        path.write_text(CONFIG)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
    yield tmp_path
    for name in names:
        sys.modules.pop(name, None)


def test_gunicorns_config_module_is_not_listed(loaded: Path) -> None:
    found = autotrace._imported_before(Rules(None, (), str(loaded)))
    assert "earlyproj_boot" in found  # the control: a project module is listed
    assert "__config__" not in found


def test_what_split_settings_components_import_is_not_warned_about(tmp_path: Path) -> None:
    """django-split-settings (the DefectDojo trial): the settings module runs
    ``include("settings.dist.py")`` in its own namespace, and that file imports project
    modules for its values. They load with the settings, before any hook, like a settings
    import: no W030 and no start-up line blaming "this process's entry point"."""
    root = write_project(tmp_path, {
        "proj/settings.py": """
            from split_settings.tools import include
            include("settings.dist.py")
        """,
        "proj/settings.dist.py": "from proj.pricing import VAT\n",
        "proj/pricing.py": "VAT = 0.2\n\ndef helper():\n    return 1\n",
    })
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "W030" not in result.stderr and "not auto-traced" not in result.stderr, result.stderr
