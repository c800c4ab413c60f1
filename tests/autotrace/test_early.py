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
