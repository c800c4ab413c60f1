"""A query's span: a CLIENT span through auto-tracing's SDK shortcut where the SDK would
decide the same (:mod:`django_tracekit.core.client_spans`, shared with the cache source).

A query span has a local parent (the current span) and no children, and it is never made
current: the shortcut skips the SDK's per-span sampler call, locks and attribute copies
(about a third of a query span's cost, see benchmarks/bench_db.py).
"""

from __future__ import annotations

from django_tracekit.core.client_spans import ClientSpan as QuerySpan
from django_tracekit.core.client_spans import start

__all__ = ["QuerySpan", "start"]
