"""Auto-tracing is on by default for the project's own modules (those under BASE_DIR), and
never touches tests, migrations, third-party or stdlib code."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.support.scripts import check, run_django

PROBE = """
import importlib
from django_tracekit.sources import autotrace
shop_services = importlib.import_module("shop.services")
shop_tests = importlib.import_module("shop.tests")
shop_migration = importlib.import_module("shop.migrations.0001_initial")
import json as stdlib_json
print(json.dumps({
    "installed": autotrace.state() is not None,
    "services": autotrace.is_instrumented(shop_services.checkout),
    "tests": autotrace.is_instrumented(shop_tests.test_checkout),
    "migration": autotrace.is_instrumented(shop_migration.forwards),
    "stdlib": autotrace.is_instrumented(stdlib_json.dumps),
}))
"""


def make_project(root: Path) -> Path:
    shop = root / "shop"
    (shop / "migrations").mkdir(parents=True)
    for init in (shop / "__init__.py", shop / "migrations" / "__init__.py"):
        init.write_text("")
    (shop / "services.py").write_text("def checkout():\n    return 1\n")
    (shop / "tests.py").write_text("def test_checkout():\n    assert True\n")
    (shop / "migrations" / "0001_initial.py").write_text("def forwards():\n    pass\n")
    return root


def probe(tmp_path: Path, tracekit: dict[str, object]) -> dict[str, bool]:
    root = make_project(tmp_path)
    result = check(run_django(PROBE, {"BASE_DIR": str(root), "TRACEKIT": tracekit},
                              env={"PYTHONPATH": os.pathsep.join([str(root), str(
                                  Path(__file__).resolve().parents[2])])}))
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_on_by_default_for_the_projects_modules_only(tmp_path: Path) -> None:
    assert probe(tmp_path, {"EXPORTER": "none"}) == {
        "installed": True, "services": True, "tests": False, "migration": False,
        "stdlib": False}


def test_include_empty_turns_it_off(tmp_path: Path) -> None:
    assert probe(tmp_path, {"EXPORTER": "none", "AUTOTRACE": {"INCLUDE": []}}) == {
        "installed": False, "services": False, "tests": False, "migration": False,
        "stdlib": False}


def test_without_base_dir_the_urlconfs_checkout_is_the_project(tmp_path: Path) -> None:
    """pontoon's settings name their root ``ROOT``, not ``BASE_DIR``: auto-tracing included
    nothing (and the Unused code page said every function was called). The folder holding
    ROOT_URLCONF's top package stands in for BASE_DIR."""
    root = make_project(tmp_path)
    result = check(run_django(PROBE, {"BASE_DIR": None, "ROOT_URLCONF": "shop.urls",
                                      "TRACEKIT": {"EXPORTER": "none"}},
                              env={"PYTHONPATH": os.pathsep.join([str(root), str(
                                  Path(__file__).resolve().parents[2])])}))
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "installed": True, "services": True, "tests": False, "migration": False,
        "stdlib": False}
