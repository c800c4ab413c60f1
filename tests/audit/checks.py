"""One audited number: quantity, truth, what the admin shows, its error, and whether it is
within the tolerance docs/usage.md ("The audit") gives for its kind."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

#: The latency estimator's relative error alpha (docs/usage.md, "Changes that mean
#: something": histogram buckets of x1.19, 8.64 %): an estimate x of a true t has
#: t * (1 - alpha) <= x <= t * (1 + alpha).
ALPHA = 0.0864
USERS_EXACT_UP_TO = 768
USERS_RELATIVE = 0.02


@dataclass(frozen=True)
class Check:
    quantity: str
    truth: str
    shown: str
    error: str
    ok: bool
    tolerance: str


def exact(quantity: str, truth: object, shown: object) -> Check:
    error = "0" if truth == shown else (
        f"{shown - truth:+}" if isinstance(truth, int) and isinstance(shown, int) else "≠")
    return Check(quantity, str(truth), str(shown), error, truth == shown, "exact")


def users(quantity: str, truth: int, shown: int) -> Check:
    if truth <= USERS_EXACT_UP_TO:
        return exact(quantity, truth, shown)
    rel = shown / truth - 1
    return Check(quantity, str(truth), str(shown), f"{rel:+.2%}", abs(rel) <= USERS_RELATIVE,
                 "±2 %")


def percentile(quantity: str, bounds: tuple[float, float], shown: float | None) -> Check:
    lo, hi = bounds
    truth = f"{lo:.2f}" if lo == hi else f"{lo:.2f}…{hi:.2f}"
    if shown is None:
        return Check(quantity, truth, "-", "missing", False, f"±{ALPHA:.2%}")
    mid = (lo + hi) / 2
    # Shown to 3 significant figures (the CSV and the pages): half a unit of the third
    # figure is the display's, on top of the histogram's own error.
    slack = 0.5 * 10 ** (math.floor(math.log10(abs(shown))) - 2) if shown else 0.0
    ok = lo * (1 - ALPHA) - slack <= shown <= hi * (1 + ALPHA) + slack
    return Check(quantity, truth, f"{shown:.2f}", f"{shown / mid - 1:+.2%}", ok,
                 f"±{ALPHA:.2%}")


def within_sigma(quantity: str, n: int, p: float, shown: int, k: float = 3.0) -> Check:
    mean, sigma = n * p, math.sqrt(n * p * (1 - p))
    z = (shown - mean) / sigma if sigma else 0.0
    return Check(quantity, f"{mean:.1f} (sigma {sigma:.1f})", str(shown),
                 f"{z:+.2f} sigma", abs(z) <= k, f"{k:g} sigma")


def rate(quantity: str, errors: int, calls: int, shown: str) -> Check:
    """An error rate shown as text ("25 %", "4.76 %"): exact up to its printed digits."""
    truth = 100 * errors / calls if calls else 0.0
    number = re.search(r"[\d.]+", shown.replace(",", "."))
    if not number:
        return Check(quantity, f"{truth:.2f} %", shown, "missing", False, "exact")
    value = float(number.group())
    digits = len(number.group().split(".")[1]) if "." in number.group() else 0
    ok = abs(value - truth) <= 0.5 * 10 ** -digits + 1e-9
    return Check(quantity, f"{truth:.2f} %", shown, f"{value - truth:+.2f} pp", ok,
                 "exact (printed digits)")


def significance(quantity: str, before: float, after: float, shown: str) -> Check:
    """A latency change label. Shown as significant, the true change must go the same way
    (the estimates' intervals do not overlap); it must be shown as significant when the
    true change is beyond the band squared (then no two estimates can overlap)."""
    band = (1 - ALPHA) / (1 + ALPHA)
    ratio = after / before
    said = bool(shown) and "no significant" not in shown
    must = not band ** 2 <= ratio <= 1 / band ** 2
    down = "\u2212" in shown or shown.lstrip().startswith("-")
    ok = (said and down == (ratio < 1)) if must else (not said or down == (ratio < 1))
    truth = f"{ratio - 1:+.1%} ({'must be significant' if must else 'either'})"
    return Check(quantity, truth, shown or "-", "0" if ok else "wrong label", ok,
                 "significant, right sign")


def table(checks: list[Check]) -> str:
    lines = ["| quantity | truth | shown | error | tolerance | ok |",
             "|---|---:|---:|---:|---|---|"]
    lines += [f"| {c.quantity} | {c.truth} | {c.shown} | {c.error} | {c.tolerance} | "
              f"{'yes' if c.ok else '**NO**'} |" for c in checks]
    return "\n".join(lines) + "\n"
