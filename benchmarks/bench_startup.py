"""Start-up cost: ``manage.py check`` with and without tracekit, with the project's
bytecode written and with ``PYTHONDONTWRITEBYTECODE=1`` (how Docker images often run).

    .venv/bin/python benchmarks/bench_startup.py [--quick]

On a copy of example_project (auto-tracing ``shop.videos``), and on the same with an app
the size of a real project added (its ``ready()`` imports every module; all auto-traced).
One process per measurement, contenders in interleaved rounds, medians. Wall time is the
figure; the process's CPU time (user + system, from ``getrusage``) is recorded beside it
(``..._cpu``): on a shared, loaded machine the wall time of a process mostly measures its
wait for a core, its CPU time what it costs.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._summary import record  # noqa: E402
from benchmarks._timing import print_table  # noqa: E402

NO_TRACEKIT_SETTINGS = """
from shop.settings import *  # noqa: F403
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "django_tracekit"]  # noqa: F405
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("django_tracekit")]  # noqa: F405
"""

# A larger project for the start-up figures: an app of BULK_MODULES modules of
# BULK_FUNCTIONS functions, imported by its ready() (a real project measured in issue 12
# had 69 rewritten modules).
BULK_MODULES, BULK_FUNCTIONS = 60, 40
BULK_FUNCTION = '''
def f{i}(items, factor=2):
    """Function {i}."""
    total = 0
    for item in items:
        if item % factor:
            total += item * {i}
        else:
            total -= item
    return total
'''


def _startup_project(tmp: Path) -> Path:
    project = tmp / "example_project"
    shutil.copytree(ROOT / "example_project", project,
                    ignore=shutil.ignore_patterns("__pycache__", "var", "*.pyc"))
    shop = project / "shop"
    (shop / "settings_no_tracekit.py").write_text(NO_TRACEKIT_SETTINGS)
    bulk = shop / "bulk"
    bulk.mkdir()
    (bulk / "__init__.py").write_text("")
    for m in range(BULK_MODULES):
        (bulk / f"m{m}.py").write_text("".join(BULK_FUNCTION.format(i=i)
                                               for i in range(BULK_FUNCTIONS)))
    (bulk / "apps.py").write_text(
        "from django.apps import AppConfig\n\n\nclass BulkConfig(AppConfig):\n"
        "    name = 'shop.bulk'\n\n    def ready(self):\n"
        + "".join(f"        import shop.bulk.m{m}  # noqa: F401\n" for m in range(BULK_MODULES)))
    for name, base in (("settings_bulk", "shop.settings"),
                       ("settings_bulk_no_tracekit", "shop.settings_no_tracekit")):
        (shop / f"{name}.py").write_text(
            f"from {base} import *  # noqa: F403\n"
            "INSTALLED_APPS = [*INSTALLED_APPS, 'shop.bulk']  # noqa: F405\n"
            "TRACEKIT = {**TRACEKIT, 'AUTOTRACE': {  # noqa: F405\n"
            "    **TRACEKIT['AUTOTRACE'], 'INCLUDE': ['shop.videos', 'shop.bulk']}}\n")
    return project


SETTINGS = {("example", False): "shop.settings_no_tracekit", ("example", True): "shop.settings",
            ("bulk", False): "shop.settings_bulk_no_tracekit",
            ("bulk", True): "shop.settings_bulk"}


def startup(rounds: int) -> dict[str, float]:
    """Wall time of one ``manage.py check`` process per contender, interleaved rounds."""
    tmp = Path(tempfile.mkdtemp(prefix="tk-startup-"))
    project = _startup_project(tmp)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "DJANGO_", "PYTHONDONTWRITEBYTECODE"))}
    env.update(SHOP_VAR_DIR=str(tmp / "var"), PYTHONPATH=str(ROOT))

    def check(settings: str, written: bool) -> tuple[float, float]:
        """(wall, CPU) seconds of one process."""
        run_env = {**env, "DJANGO_SETTINGS_MODULE": settings}
        if not written:
            # An image built with PYTHONDONTWRITEBYTECODE=1: no .pyc of the project (nor
            # tracekit's rewrite cache) exists and none is written; installed packages
            # keep theirs (pip compiles them at install).
            run_env["PYTHONDONTWRITEBYTECODE"] = "1"
            for cache in project.rglob("__pycache__"):
                shutil.rmtree(cache)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "check"], cwd=project, env=run_env,
                       check=True, capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime

    contenders = {(size, tracekit, written): (SETTINGS[size, tracekit], written)
                  for size in ("example", "bulk") for written in (True, False)
                  for tracekit in (False, True)}
    samples: dict[tuple[str, bool, bool], list[float]] = {name: [] for name in contenders}
    cpu_samples: dict[tuple[str, bool, bool], list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (settings, written) in contenders.items():
            if written:
                check(settings, True)  # the .pyc (and the rewrite cache) written
            wall, cpu = check(settings, written)
            samples[name].append(wall)
            cpu_samples[name].append(cpu)
    shutil.rmtree(tmp, ignore_errors=True)
    results = {name: statistics.median(values) for name, values in samples.items()}
    cpu_results = {name: statistics.median(values) for name, values in cpu_samples.items()}
    figures: dict[str, float] = {}
    for size, label in (("example", "example project"),
                        ("bulk", f"example project + {BULK_MODULES} modules x "
                                 f"{BULK_FUNCTIONS} functions")):
        for written, how in ((True, "bytecode written"), (False, "PYTHONDONTWRITEBYTECODE=1")):
            base, ours = results[size, False, written], results[size, True, written]
            print_table(f"Start-up, {label}, {how} (ms/process; ratio vs without tracekit)",
                        {"without tracekit": base, "tracekit": ours}, "without tracekit",
                        unit="ms", note=f"{rounds} interleaved rounds, medians.")
            cpu_base, cpu_ours = cpu_results[size, False, written], cpu_results[size, True, written]
            print(f"CPU time (user + system): without tracekit {cpu_base * 1e3:.0f} ms, "
                  f"tracekit {cpu_ours * 1e3:.0f} ms, {cpu_ours / cpu_base:.3f}x")
            key = f"startup.{size}.{'written' if written else 'dontwrite'}"
            figures.update({key: ours / base, key + "_base": base,
                            key + "_cpu": cpu_ours / cpu_base})
    record(**figures)
    return figures


def main() -> None:
    startup(3 if "--quick" in sys.argv else 7)


if __name__ == "__main__":
    main()
