"""The error-groups page's server time: 300 groups x 3 entry points with hourly counts for
35 days and daily ones for 90 (what ``tracekit_prune`` keeps), on SQLite, against the
200 ms goal.

Run: .venv/bin/python benchmarks/bench_errors.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_stats import configure

GROUPS = 300
ENTRY_POINTS = 3
GOAL_MS = 200.0


def seed() -> None:
    from django_tracekit.storage.usage_models import (
        DAY,
        HOUR,
        ErrorGroup,
        ErrorGroupBucket,
        ErrorGroupExample,
        Feature,
    )

    now = int(time.time())
    features = Feature.objects.bulk_create([Feature(name=f"GET /shop/section{i}/", kind="request",
                                                    service="shop-web") for i in range(60)])
    groups = ErrorGroup.objects.bulk_create([ErrorGroup(
        fingerprint=f"{g:016x}", type=f"shop.errors.Error{g % 40}",
        location=f"shop/module{g % 25}/function{g}", file_path="f.py", line=g,
        first_seen=now - 90 * DAY, last_seen=now, count=1000) for g in range(GROUPS)])
    rows = []
    for n, group in enumerate(groups):
        for e in range(ENTRY_POINTS):
            feature = features[(n + e * 7) % len(features)]
            for resolution, count in ((HOUR, 35 * 24), (DAY, 90)):
                start = now - now % resolution
                rows.extend(ErrorGroupBucket(group=group, feature=feature,
                                             resolution=resolution,
                                             bucket_start=start - k * resolution,
                                             count=1 + (n + k) % 9) for k in range(count))
        if len(rows) > 50_000:
            ErrorGroupBucket.objects.bulk_create(rows, batch_size=2_000)
            rows = []
    ErrorGroupBucket.objects.bulk_create(rows, batch_size=2_000)
    ErrorGroupExample.objects.bulk_create([ErrorGroupExample(
        group=group, feature=features[0], time=(now - k) * 10**6, message=f"order {k} not found",
        stacktrace="Traceback ...\n" * 20, trace_id=f"{k:032x}")
        for group in groups for k in range(5)], batch_size=2_000)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        configure({"ENGINE": "django.db.backends.sqlite3", "NAME": str(Path(tmp) / "b.db")})
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.test import Client

        from django_tracekit.storage.usage_models import ErrorGroupBucket

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        seed()
        call_command("tracekit_prune", "--dry-run", verbosity=0, stdout=sys.stderr)
        from django.db import connection

        with connection.cursor() as cursor:  # planner statistics, as the daily prune makes
            cursor.execute("ANALYZE")
        print(f"\n## Error groups page server time (SQLite): {GROUPS} groups x {ENTRY_POINTS} "
              f"entry points, {ErrorGroupBucket.objects.count():,} count rows (seeded in "
              f"{time.perf_counter() - started:.0f} s)")
        client = Client()
        client.force_login(User.objects.create_superuser("bench"))
        url = "/admin/django_tracekit/feature/errors/"
        print("| page | wall ms (median of 5) | CPU ms (median of 5) | CPU / 200 ms goal |")
        print("|---|---:|---:|---:|")
        for key in ("1h", "24h", "7d", "30d", "90d"):
            for sort in ("", "&sort=-last_seen"):
                page = f"{url}?range={key}{sort}"
                assert client.get(page).status_code == 200
                walls, cpus = [], []
                for _ in range(5):
                    cpu, start = time.process_time(), time.perf_counter()
                    assert client.get(page).status_code == 200
                    walls.append(time.perf_counter() - start)
                    cpus.append(time.process_time() - cpu)
                walls.sort()
                cpus.sort()
                print(f"| {key}{sort.replace('&', ', ')} | {walls[2] * 1000:.1f} | "
                      f"{cpus[2] * 1000:.1f} | {cpus[2] * 1000 / GOAL_MS:.2f} |")


if __name__ == "__main__":
    main()
