"""Worker memory, same-run A/B: `bench_memory.py`'s measure with several trees at once.

The example project without tracekit, and with tracekit from each tree given (e.g. an
export of the commit before a change, and this tree), each in its own real gunicorn (sync,
one worker), all alive at the same time and served in turns (100 requests each, round
robin), so the load of the machine is the same for every contender. RSS of each worker
read after 400, 1,400 and 2,400 requests, each time after a pause longer than the flush
interval (10 s by default), so every contender has flushed its stats and trace store as
often as the others (without it, whether the first flush fell inside the run decided the
figure); the heap and anonymous memory from ``/proc/<pid>/smaps`` at the end.

    python benchmarks/ab_memory.py before=/tmp/tree-before after=.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_memory import (  # noqa: E402
    WITHOUT_TRACEKIT,
    _rss_kib,
    _worker_pid,
    get,
    start_worker,
)

CHECKPOINTS = (400, 1400, 2400)
TURN = 100
SETTLE_S = 11.0  # > the default FLUSH_INTERVAL_S


def _smaps(pid: int) -> dict[str, int]:
    """Anonymous memory and the ``[heap]`` mapping's RSS (KiB)."""
    figures = {"anon": 0, "heap": 0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Anonymous:"):
            figures["anon"] = int(line.split()[1])
    in_heap = False
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if "-" in line.split(" ", 1)[0]:
            in_heap = line.rstrip().endswith("[heap]")
        elif in_heap and line.startswith("Rss:"):
            figures["heap"] += int(line.split()[1])
    return figures


def main(argv: list[str]) -> None:
    trees = [(name, Path(path).resolve()) for name, _, path in (a.partition("=") for a in argv)]
    if not trees:
        raise SystemExit(__doc__)
    var_root = Path(tempfile.mkdtemp(prefix="tracekit-ab-memory-"))
    (var_root / "shop_without_tracekit.py").write_text(WITHOUT_TRACEKIT)
    contenders = [("without tracekit", trees[0][1], "shop_without_tracekit")]
    contenders += [(name, tree, "shop.settings") for name, tree in trees]
    servers: list[subprocess.Popen[bytes]] = []
    try:
        started = []
        for i, (name, tree, module) in enumerate(contenders):
            server, port = start_worker(tree, module, var_root / f"c{i}")
            servers.append(server)
            started.append((name, _worker_pid(server.pid), port))
        rss: dict[str, list[int]] = {name: [] for name, _, _ in started}
        served = 0
        for checkpoint in CHECKPOINTS:
            while served < checkpoint:
                for _, _, port in started:
                    for i in range(served, served + TURN):
                        get(port, i)
                served += TURN
            time.sleep(SETTLE_S)  # every worker's flusher runs (an idle pause, not a wait)
            for name, worker, _ in started:
                rss[name].append(_rss_kib(worker))
        smaps = {name: _smaps(worker) for name, worker, _ in started}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
        shutil.rmtree(var_root, ignore_errors=True)
    print(f"\ngunicorn sync worker RSS, example project, served in turns of {TURN}; "
          f"load average {Path('/proc/loadavg').read_text().split()[:3]}")
    print(f"{'contender':<20}" + "".join(f"{f'after {n}':>16}" for n in CHECKPOINTS)
          + f"{'heap':>10}{'anon':>10}")
    base = rss["without tracekit"]
    for name, figures in rss.items():
        cells = "".join(f"{v / 1024:>8.1f} ({(v - b) / 1024:+5.1f})"
                        for v, b in zip(figures, base, strict=True))
        print(f"{name:<20}{cells}{smaps[name]['heap'] / 1024:>8.1f}MB"
              f"{smaps[name]['anon'] / 1024:>8.1f}MB")


if __name__ == "__main__":
    main(sys.argv[1:])
