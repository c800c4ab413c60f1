"""Usage pages before/after in one run: the code of a git ref against the working tree, on
one seeded database, page views interleaved (server CPU ms, median).

Run: .venv/bin/python benchmarks/bench_pages_compare.py [REF] [ROUNDS]
  (REF default ``HEAD~1``; TK_BENCH_DB=postgres for PostgreSQL on 127.0.0.1:5432, else
  SQLite; TK_BENCH_KEEP=path (SQLite) or =name (an existing PostgreSQL database) reuses a
  database seeded before.)

Each tree runs in its own process (``_page_worker.py``: Django configured once per process),
both on the same rows (``bench_stats.seed_light`` + ``tracekit_prune``, seeded by the
working tree's code); each round asks both for every page, in alternating order, so load
from other jobs falls on both alike. Server CPU = the worker process + the PostgreSQL
backend (``_postgres.backend_cpu_s``).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from contextlib import ExitStack
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

U = "/admin/django_tracekit/feature/"
CASES = {
    **{f"list, {k}": f"{U}?range={k}" for k in ("1h", "24h", "7d", "30d", "90d")},
    "list, 90 d, all kinds": f"{U}?range=90d&kind=all",
    **{f"{k}, all kinds, sorted by {s}": f"{U}?range={k}&kind=all&sort={s}"
       for k in ("24h", "7d", "90d") for s in ("-p95", "p50", "-users")},
    "list, 90 d, page 20": f"{U}?range=90d&kind=all&page=20",
    "90 d sorted by -p95, page 20": f"{U}?range=90d&kind=all&sort=-p95&page=20",
    "CSV export, 90 d, all kinds": f"{U}?range=90d&kind=all&format=csv",
    "CSV export, 7 d, all kinds": f"{U}?range=7d&kind=all&format=csv",
    "detail, 7 d": f"{U}{{feature}}/usage/?range=7d",
    "unused code, 90 d": f"{U}unused/?range=90d",
}


def _tree(ref: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def _seed(database: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "_page_worker.py"),
                    str(ROOT), database, "--seed"], check=True)


def _worker(tree: Path, database: str) -> tuple[subprocess.Popen[str], str]:
    """A worker for ``tree`` and the id of a feature (its detail page)."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "benchmarks" / "_page_worker.py"), str(tree), database],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline().split()
    assert len(first) == 2 and first[0] == "ready", first
    return process, first[1]


def _get(process: subprocess.Popen[str], url: str) -> float:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(url + "\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def compare(database: str, ref: str, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"before": _tree(ref, Path(tmp) / "before"), "after": ROOT}
        workers = {}
        feature = ""
        for name, tree in trees.items():  # one at a time: the first creates the user
            workers[name], feature = _worker(tree, database)
        times: dict[str, dict[str, list[float]]] = {c: {n: [] for n in workers} for c in CASES}
        urls = {case: url.replace("{feature}", feature) for case, url in CASES.items()}
        for url in urls.values():  # warm both (templates, connections, caches)
            for process in workers.values():
                _get(process, url)
        for r in range(rounds):
            for case, url in urls.items():
                order = list(workers.items())
                for name, process in order if r % 2 == 0 else order[::-1]:
                    times[case][name].append(_get(process, url))
        for process in workers.values():
            assert process.stdin is not None
            process.stdin.close()
            process.wait()
    print(f"\n## Usage pages, {ref} (before) vs working tree (after), {database.split(':')[0]}, "
          f"server CPU ms, median of {rounds}, load average {os.getloadavg()[0]:.1f}")
    print("| page | before | after | after / before |")
    print("|---|---:|---:|---:|")
    for case in CASES:
        before = statistics.median(times[case]["before"])
        after = statistics.median(times[case]["after"])
        print(f"| {case} | {before:.0f} | {after:.0f} | {after / before:.2f} |")


def main() -> None:
    ref = sys.argv[1] if len(sys.argv) > 1 else "HEAD~1"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    kept = os.environ.get("TK_BENCH_KEEP")
    with ExitStack() as stack:
        if os.environ.get("TK_BENCH_DB") == "postgres":
            if kept:
                database = f"pg:{kept}"
            else:
                from _postgres import scratch_database

                settings = stack.enter_context(scratch_database("tracekit_pages"))
                if settings is None:
                    return
                database = f"pg:{settings['NAME']}"
                _seed(database)
        else:
            path = Path(kept) if kept else Path(stack.enter_context(
                tempfile.TemporaryDirectory())) / "pages.sqlite3"
            database = str(path)
            if not path.exists():
                _seed(database)
        compare(database, ref, rounds)


if __name__ == "__main__":
    main()
