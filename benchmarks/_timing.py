"""Shared timing helpers: every benchmark times its contenders in one process, one run,
and prints a table of per-operation costs and ratios against a baseline contender."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable


def per_call_seconds(func: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Median over ``repeat`` rounds of the mean time of ``number`` calls (GC off while timing)."""
    func()  # warm caches (names, imports) outside the measurement
    rounds = []
    for _ in range(repeat):
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            start = time.perf_counter()
            for _ in range(number):
                func()
            rounds.append((time.perf_counter() - start) / number)
        finally:
            if gc_was_enabled:
                gc.enable()
    return statistics.median(rounds)


def interleaved(contenders: dict[str, Callable[[], object]], number: int,
                rounds: int = 5) -> dict[str, float]:
    """Time contenders in alternating rounds so machine noise hits them alike; medians."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, func in contenders.items():
            samples[name].append(per_call_seconds(func, number, repeat=3))
    return {name: statistics.median(values) for name, values in samples.items()}


def print_table(title: str, results: dict[str, float], baseline: str,
                unit: str = "µs", note: str = "") -> None:
    """Rows: contender, cost per op, ratio to ``baseline``."""
    scale = {"µs": 1e6, "ms": 1e3, "ns": 1e9}[unit]
    base = results[baseline]
    width = max(len(name) for name in results)
    print(f"\n## {title}")
    if note:
        print(note)
    print(f"| {'contender'.ljust(width)} | {unit}/op | ratio vs {baseline} |")
    print(f"|{'-' * (width + 2)}|--------:|------:|")
    for name, seconds in results.items():
        print(f"| {name.ljust(width)} | {seconds * scale:8.3f} | {seconds / base:6.3f}x |")


def calibrate(func: Callable[[], object], seconds: float) -> int:
    """How many calls of ``func`` take about ``seconds`` (at least 1)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            func()
        elapsed = time.perf_counter() - start
        if elapsed >= seconds / 8 or number >= 1 << 22:
            return max(1, round(number * seconds / max(elapsed, 1e-9)))
        number *= 4


def interleaved_samples(contenders: dict[str, Callable[[], object]], seconds_per_round: float,
                        rounds: int = 5) -> dict[str, list[float]]:
    """Like :func:`interleaved`, but each contender gets its own call count (calibrated so a
    round of it takes about ``seconds_per_round``) and the per-round medians are returned,
    so callers can take medians and also look at round-by-round ratios."""
    numbers = {name: calibrate(func, seconds_per_round / 3) for name, func in contenders.items()}
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, func in contenders.items():
            samples[name].append(per_call_seconds(func, numbers[name], repeat=3))
    return samples
