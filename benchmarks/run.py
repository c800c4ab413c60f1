"""Run every benchmarks/bench_*.py in its own process (isolated globals and providers), then
print the overhead budget: issue 24's and 26's rows, each with its goal, the peer measured
in the same run and a verdict (``_summary.py``; the benches record their figures there).

    .venv/bin/python benchmarks/run.py                    every bench, then the summary
    .venv/bin/python benchmarks/run.py --summary          only the benches the summary needs
    .venv/bin/python benchmarks/run.py bench_drf ...      the benches named
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks import _summary  # noqa: E402


def main() -> int:
    selected = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--summary" in sys.argv:
        selected = sorted({row.source for row in _summary.ROWS})
    failures = 0
    with tempfile.TemporaryDirectory(prefix="tk-bench-summary-") as tmp:
        # TRACEKIT_BENCH_SUMMARY=file keeps the figures (appended: runs of several benches
        # at different times make one table).
        figures_file = Path(os.environ.get(_summary.ENV) or Path(tmp) / "figures.jsonl")
        env = {**os.environ, _summary.ENV: str(figures_file)}
        for script in sorted(HERE.glob("bench_*.py")):
            if selected and script.stem not in selected:
                continue
            print(f"\n# {script.stem}", flush=True)
            result = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, env=env)
            failures += result.returncode != 0
        figures = _summary.load(figures_file)
    load = os.getloadavg()
    print("\n# Overhead budget (default configuration; peers measured in this run)")
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} "
          f"CPUs; Python {sys.version.split()[0]}")
    print(_summary.table(figures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
