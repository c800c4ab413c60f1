"""Auto-tracing at process start-up (issue 12): import-time calls are not usage, and the
rewritten bytecode is cached between processes (safely: never stale, never fatal).

Each test runs a real Django process (``django.setup()``) on a project written to disk,
as ``manage.py``/gunicorn would import it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.scripts import ROOT, check, run_django

SERVICES = '''
import time


def register(name):
    """A decorator factory: called while the module is imported."""
    def decorate(func):
        return func
    return decorate


@register("handler")
def handler():
    return 1


def helper():
    return 2


def slow():
    time.sleep(0.02)
    return 3


CONSTANT = helper()
'''

APPS = '''
from django.apps import AppConfig


class ShopxConfig(AppConfig):
    name = "shopx"

    def ready(self):
        from shopx import services
        services.helper()
'''

# Like wsgi.py: not rewritten (imported before the hook), builds the application in its
# body once django.setup() has run (middleware factories called at import).
ENTRY = '''
import django
django.setup()
from shopx import services
services.helper()
'''

LAZY = '''
from shopx import services

SLOW = services.slow()
'''


def make_project(root: Path) -> Path:
    pkg = root / "shopx"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "services.py").write_text(SERVICES)
    (pkg / "apps.py").write_text(APPS)
    (pkg / "entry.py").write_text(ENTRY)
    (pkg / "lazy.py").write_text(LAZY)
    return root


def run(root: Path, code: str, tracekit: dict[str, Any] | None = None,
        env: dict[str, str] | None = None, setup: bool = True) -> Any:
    settings = {"BASE_DIR": str(root),
                "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                                   "django_tracekit", "shopx"],
                "TRACEKIT": {"EXPORTER": "tests.support.memory.processor",
                             "PROJECT_NAME": "shopx", **(tracekit or {})}}
    # Bytecode is written unless a test says otherwise (this environment may disable it).
    result = check(run_django(code, settings, setup=setup, env={
        "PYTHONPATH": os.pathsep.join([str(root), str(ROOT)]), "PYTHONDONTWRITEBYTECODE": "",
        **(env or {})}))
    return json.loads(result.stdout.strip().splitlines()[-1])


COUNTS = """
from django_tracekit.sources import autotrace
from django_tracekit.sources.autotrace import counters
from tests.support import memory
def report(**extra):
    state = autotrace.state()
    print(json.dumps({"counts": {k: v[0] for k, v in counters.snapshot().items()},
                      "spans": [s.name for s in memory.exporter.get_finished_spans()],
                      "cached": sorted(state.cached) if state else None, **extra}))
"""


def test_calls_made_while_modules_import_and_apps_load_are_not_usage(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    out = run(root, COUNTS + """
import shopx.entry
from shopx import services
services.helper()                 # the first call of the running program
from opentelemetry import trace
from django_tracekit.core.tracer import get_tracer
with get_tracer().start_as_current_span("request"):
    import shopx.lazy             # a module imported inside a recorded trace
    services.slow()               # a real call: counted and kept
report()
""", setup=False)
    assert out["counts"] == {"shopx/services/helper": 1, "shopx/services/slow": 1}, out
    # The slow call at import made no span; the real one did.
    assert sorted(out["spans"]) == ["request", "shopx/services/slow"], out


CACHED = COUNTS + """
from shopx import services
services.helper()
report(value=services.helper())
"""


def test_rewritten_bytecode_is_cached_and_reused_by_the_next_process(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    first = run(root, CACHED)
    assert first["cached"] == [] and first["value"] == 2
    cache_files = sorted(p.name for p in (root / "shopx" / "__pycache__").iterdir()
                         if "tracekit" in p.name)
    tag = sys.implementation.cache_tag
    assert f"services.{tag}-tracekit.pyc" in cache_files
    assert f"services.{tag}.pyc" not in cache_files  # the normal name stays uninstrumented
    second = run(root, CACHED)
    assert second["cached"] == ["shopx", "shopx.apps", "shopx.services"], second
    assert second["counts"] == first["counts"] == {"shopx/services/helper": 2}


def test_cache_invalidated_by_source_edit_and_by_exclude(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    run(root, CACHED)
    services = root / "shopx" / "services.py"
    # Same size, same mtime: only the content differs (a .pyc keyed on mtime+size would
    # serve the old code).
    st = services.stat()
    services.write_text(SERVICES.replace("return 2", "return 7"))
    os.utime(services, ns=(st.st_atime_ns, st.st_mtime_ns))
    edited = run(root, CACHED)
    assert edited["value"] == 7 and edited["cached"] == ["shopx", "shopx.apps"], edited
    excluded = run(root, CACHED, {"AUTOTRACE": {"EXCLUDE": ["shopx.services.helper"]}})
    assert excluded["cached"] == [] and excluded["counts"] == {}, excluded


def test_corrupt_cache_file_is_ignored(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    run(root, CACHED)
    for path in (root / "shopx" / "__pycache__").glob("*-tracekit.pyc"):
        data = path.read_bytes()
        path.write_bytes(data[:len(data) // 2] + b"\x00garbage")
    out = run(root, CACHED)
    assert out["cached"] == [] and out["value"] == 2
    assert out["counts"] == {"shopx/services/helper": 2}
    # The corrupt files were replaced by fresh ones.
    assert run(root, CACHED)["cached"] == ["shopx", "shopx.apps", "shopx.services"]


def test_unwritable_cache_location_and_dont_write_bytecode_use_the_user_cache_dir(
        tmp_path: Path) -> None:
    root = make_project(tmp_path)
    pkg = root / "shopx"
    user_cache = tmp_path / "xdg" / "django-tracekit"
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    # A read-only install: no __pycache__ directory can be made there (a file is in the
    # way; chmod would not stop root).
    (pkg / "__pycache__").write_text("")
    first = run(root, CACHED, env=env)
    assert first["cached"] == [] and first["value"] == 2
    again = run(root, CACHED, env=env)  # served from the user's cache directory
    assert again["cached"] == ["shopx", "shopx.apps", "shopx.services"]
    assert again["counts"] == {"shopx/services/helper": 2} and again["value"] == 2
    assert list(user_cache.rglob("services.*-tracekit.pyc"))
    (pkg / "__pycache__").unlink()
    for path in user_cache.rglob("*-tracekit.pyc"):
        path.unlink()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    run(root, CACHED, env=env)
    assert not (pkg / "__pycache__").exists()  # Python's wish kept for the source tree
    assert run(root, CACHED, env=env)["cached"] == ["shopx", "shopx.apps", "shopx.services"]


def test_cache_dir_setting_and_off(tmp_path: Path) -> None:
    root = make_project(tmp_path / "src")
    chosen = tmp_path / "image-cache"
    env = {"TRACEKIT_CACHE_DIR": str(chosen), "PYTHONDONTWRITEBYTECODE": "1",
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    run(root, CACHED, env=env)
    assert list(chosen.rglob("services.*-tracekit.pyc"))
    assert not (tmp_path / "xdg").exists()  # only there
    assert run(root, CACHED, env=env)["cached"] == ["shopx", "shopx.apps", "shopx.services"]
    off = {"TRACEKIT_CACHE_DIR": "off", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    for _ in range(2):
        out = run(root, CACHED, env=off)
        assert out["cached"] == [] and out["counts"] == {"shopx/services/helper": 2}
    assert not list((root / "shopx").rglob("*-tracekit.pyc")) and not (tmp_path / "xdg").exists()


def test_pycache_prefix_is_honoured(tmp_path: Path) -> None:
    root = make_project(tmp_path / "src")
    prefix = tmp_path / "pycache"
    env = {"PYTHONPYCACHEPREFIX": str(prefix)}
    run(root, CACHED, env=env)
    assert not (root / "shopx" / "__pycache__").exists()
    assert list(prefix.rglob("services.*-tracekit.pyc"))
    assert run(root, CACHED, env=env)["cached"] == ["shopx", "shopx.apps", "shopx.services"]


def test_instrumented_bytecode_never_reaches_a_normal_import(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    run(root, CACHED)
    # The same files imported without tracekit: plain functions.
    code = "import shopx.services as s; print('_tk_t' in s.helper.__code__.co_varnames)"
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(root)}, timeout=60)
    assert result.stdout.strip() == "False", result.stderr
