"""Same-process A/B of the in-trace fast path: a below-threshold call made under a pending
auto-traced call (as a view's calls are), the shipped fast path against the previous shape
(a pending frame pushed and popped per call, hand-written here), interleaved rounds.

    .venv/bin/python benchmarks/ab_fastpath.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import types
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_autotrace as bench
from benchmarks._timing import interleaved_samples

OLD = """
def f(x):
    _tk_t = _tk_top()
    _tk_t = _tk_clock() if _tk_t is None else _tk_push(_tk_c0, _tk_t)
    try:
        return x
    except BaseException as _tk_e:
        _tk_raise(_tk_c0, _tk_t, _tk_e)
        raise
    finally:
        if _tk_t.__class__ is _tk_float:
            _tk_t = _tk_clock() - _tk_t
            _tk_c0.n += 1
            _tk_c0.t += _tk_t
            if _tk_t > _tk_c0.m:
                _tk_c0.m = _tk_t
        else:
            _tk_pop(_tk_c0, _tk_t)
"""
def main() -> None:
    bench._setup_django(Path(tempfile.mkdtemp()))
    from django_tracekit.core.tracer import get_tracer
    from django_tracekit.sources.autotrace import rewrite, runtime, sites

    runtime.set_threshold(0.001)
    runtime.hook_context()
    new = bench._module("ab_new", bench.SUBJECT, traced=True)
    old = types.ModuleType("ab_old")
    old.__dict__.update(rewrite.module_globals(rewrite.Result()))
    old.__dict__["_tk_c0"] = sites.new_site("ab_old", "f", "/srv/bench/ab_old.py", 2).counter
    exec(compile(OLD, "/srv/bench/ab_old.py", "exec"), old.__dict__)
    plain = bench._module("ab_plain", bench.SUBJECT, traced=False)
    outer = bench._module("ab_outer", "def outer(loop):\n    return loop()\n", traced=True)
    t = get_tracer()

    def under(loop: Callable[[], None]) -> Callable[[], None]:
        return bench._in_trace(lambda: outer.outer(loop), t)

    c = {"plain": under(bench._ten(plain.f)), "old (push/pop)": under(bench._ten(old.f)),
         "new (fast path)": under(bench._ten(new.f)), "plain, no trace": bench._ten(plain.f),
         "new, no trace": bench._ten(new.f)}
    s = interleaved_samples(c, 0.4, rounds=7)
    m = {k: statistics.median(v) / 10 for k, v in s.items()}
    for k in ("old (push/pop)", "new (fast path)"):
        print(f"{k}: {(m[k] - m['plain']) * 1e6:.3f} µs added per call")
    print(f"new, no trace: {(m['new, no trace'] - m['plain, no trace']) * 1e6:.3f} µs added; "
          f"plain call {m['plain, no trace'] * 1e6:.3f} µs")
    print(f"counted: old {old.__dict__['_tk_c0'].n}, new {new.__dict__['_tk_c0'].n}")


if __name__ == "__main__":
    main()
