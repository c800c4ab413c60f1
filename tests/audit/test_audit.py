"""The ground-truth audit (issue 25; docs/usage.md "The audit"): real gunicorn (3 workers)
and a Celery prefork worker on Redis, on a fresh PostgreSQL database, two releases; every
number the admin shows a staff user is compared with the truth the harness measured.
Not timed. The table goes to artifacts/audit.md."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.audit import pages
from tests.audit.checks import (
    Check,
    exact,
    percentile,
    rate,
    significance,
    table,
    users,
    within_sigma,
)
from tests.audit.harness import Stack
from tests.audit.plan import (
    COMMAND_RUNS,
    N_PLUS_ONE_PER_CATALOG,
    TASK_FEATURE,
    TASKS,
    USERS,
    VERSIONS,
    WINDOW_US,
    Truth,
    plan,
    quantile_bounds,
    task_steps,
)
from tests.support.databases import fresh_database
from tests.support.processes import REPO

ARTIFACT = REPO / "artifacts" / "audit.md"
WEB, WORKER = "audit-web", "audit-worker"
SAMPLE_RATE = 0.1
ROUTES = ("GET /const/", "GET /lognorm/", "GET /bimodal/", "GET /pay/", "GET /me/",
          "GET /catalog/", "GET /enqueue/<str:name>/")
LATENCY_ROUTES = ROUTES[:3]
#: Checks the audit found wrong and that are not fixed here: quantity -> (diagnosis, strict).
#: Each is its own xfail (test_known_finding), so the integrator sees it and its fix shows;
#: strict unless the wrong number depends on timing (then a run may get it right).
SLOW_RACE = (
    "Found by the audit (3 runs in 7 on a loaded 2-core machine, all on GET /const/): a "
    "10-minute window's slow list was not the true 3 slowest although every process saw 34-46 "
    "roots of it (docs/trace_store.md guarantees ranks 1-3 from 21): ranks [1, 2, 4, 5], "
    "[1, 2, 4] and [1, 3, 6, 7]. Fixed: each writer ranked the window inside its own write "
    "transaction, blind to another's uncommitted rows, so two workers exiting together each "
    "kept theirs (the 4 labelled); the ranking now runs after the commit (traces/store.py). "
    "Still possible, timing-dependent: a worker's final decision of a window is written at "
    "its exit within the 1 s exit deadline, and a loaded database can miss it (the exit line "
    "says so), leaving a true top-3 trace out. Hence not strict.")
KNOWN: dict[str, tuple[str, bool]] = {
    f"traces {route} slow = the true slowest": (SLOW_RACE, False) for route in LATENCY_ROUTES}


def _ms(text: str) -> float | None:
    return float(text) if text else None


def _run(tmp: Path) -> tuple[list[Check], str]:
    with fresh_database("postgres", prefix="tracekit_audit") as database:
        stack = Stack(database, tmp, users=USERS)
        stack.prepare()
        hits = []
        try:
            for seed, version in enumerate(VERSIONS):
                stack.start(version)
                hits += stack.drive(plan(version, seed), version)
                sent = stack.drive(task_steps(version), version)
                hits += sent
                stack.wait_tasks([pages.json_id(h.body) for h in sent])
                stack.stop_generation()
            for _ in range(COMMAND_RUNS):
                stack.manage("audit_job", version=VERSIONS[-1])
            stack.start(VERSIONS[-1], workers=1)  # the reader: admin pages are excluded
            checks = audit(stack, Truth(hits))
        except BaseException:
            print(stack.logs())
            raise
        finally:
            stack.stop_generation()
    return checks, table(checks)


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Check]]:
    tmp = tmp_path_factory.mktemp("audit")
    try:
        checks, text = _run(tmp)
    finally:  # the processes' logs (tracekit's warnings) beside the table
        logs = ARTIFACT.parent / "audit-logs"
        logs.mkdir(parents=True, exist_ok=True)
        for log in tmp.glob("*.log"):
            shutil.copy(log, logs / log.name)
    ARTIFACT.write_text("# Ground-truth audit\n\n" + text)
    print("\n" + text)
    yield {c.quantity: c for c in checks}


def slow_check(route: str, truth: Truth, slow: dict[str, int]) -> Check:
    """The explorer's slow list of a route, window by window, against the true slowest: the
    true 3 slowest where every process saw >= 21 roots; else none outside them and none
    faster than the window's p90 (docs/trace_store.md, "What it guarantees")."""
    truths, shown, ok = [], [], True
    for window, (top, exact_rule, p90) in sorted(truth.slow_truth(route).items()):
        hits = [h for h in truth.of(route) if h.start_us - h.start_us % WINDOW_US == window]
        ranked = [h.trace_id for h in sorted(hits, key=lambda h: -h.server_us)]
        ranks = sorted(ranked.index(t) + 1 for t in slow if t in ranked)
        minute = window // 60_000_000
        at = f"{minute % 1440 // 60:02d}:{minute % 60:02d}"
        if exact_rule:
            truths.append(f"{at} ranks {[1, 2, 3][:len(top)]}")
            ok = ok and ranks == [1, 2, 3][:len(top)]
        else:
            slow_ms = {h.trace_id: h.server_us / 1000 for h in hits}
            truths.append(f"{at} ranks ⊆ [1, 2, 3], ≥ p90 {p90:.1f} ms")
            ok = ok and set(ranks) <= {1, 2, 3} and all(
                slow_ms[ranked[r - 1]] >= p90 for r in ranks)
        # The true top 5 (ms, release, process): what the integrator needs to diagnose.
        top5 = ", ".join(f"{h.server_us / 1000:.1f} v{h.version} pid {h.pid}"
                         for h in sorted(hits, key=lambda h: -h.server_us)[:5])
        truths[-1] += f" (top 5: {top5})"
        shown.append(f"{at} ranks {ranks}")
    return Check(f"traces {route} slow = the true slowest", "; ".join(truths),
                 "; ".join(shown), "0" if ok else "≠", ok, "exact")


def audit(stack: Stack, truth: Truth) -> list[Check]:
    checks: list[Check] = []
    rows = pages.csv_rows(stack, kind="all")
    task_calls = {name: sum(n[name] for n in TASKS.values()) for name in ("ok", "flaky", "doomed")}
    # --- requests: the CSV ---------------------------------------------------------------
    for route in ROUTES:
        row = rows.get((route, "request", WEB), {})
        checks.append(exact(f"CSV {route} calls", truth.calls(route), int(row.get("calls", -1))))
        checks.append(exact(f"CSV {route} errors", truth.errors(route),
                            int(row.get("errors", -1))))
        checks.append(users(f"CSV {route} users", truth.users(route), int(row.get("users", -1))))
        if route in ("GET /const/", "GET /lognorm/", "GET /bimodal/", "GET /pay/"):
            values = truth.durations_ms(route)
            for q, column in ((0.5, "p50_ms"), (0.95, "p95_ms"), (0.99, "p99_ms")):
                checks.append(percentile(f"CSV {route} {column}", quantile_bounds(values, q),
                                         _ms(row.get(column, ""))))
            shown_max = _ms(row.get("max_ms", ""))  # exact: the slowest span, to the µs
            checks.append(Check(f"CSV {route} max_ms", f"{values[-1]:.3f}", str(shown_max),
                                "0" if shown_max == round(values[-1], 3) else "≠",
                                shown_max == round(values[-1], 3), "exact (µs)"))
    n_plus_one = truth.calls("GET /catalog/") * N_PLUS_ONE_PER_CATALOG
    catalog = rows.get(("GET /catalog/", "request", WEB), {})
    checks.append(exact("CSV GET /catalog/ n_plus_one (rolled up)", n_plus_one,
                        int(catalog.get("n_plus_one", -1))))
    function = rows.get(("tests/audit/project/views/load_catalog", "function", WEB), {})
    checks.append(exact("CSV views/load_catalog n_plus_one (its own)", n_plus_one,
                        int(function.get("n_plus_one", -1))))
    # --- tasks: calls count tasks; retries and failed attempts beside them ----------------
    # retried_tasks: tasks that passed only after a retry (a doomed task failed in the end).
    expected = {"ok": (0, 0, 0, 0), "flaky": (0, 2, 2, 1), "doomed": (1, 2, 3, 0)}
    for name, (errors, retries, failed, retried) in expected.items():
        n = task_calls[name]
        row = rows.get((TASK_FEATURE + name, "task", WORKER), {})
        for column, value in (("calls", n), ("errors", errors * n), ("retries", retries * n),
                              ("failed_attempts", failed * n), ("retried_tasks", retried * n)):
            checks.append(exact(f"CSV task {name} {column}", value, int(row.get(column, -1))))
    commands = [r for (name, kind, _), r in rows.items()
                if kind == "command" and "audit_job" in name]
    checks.append(exact("CSV command audit_job calls", COMMAND_RUNS,
                        int(commands[0]["calls"]) if commands else -1))
    # --- the ranges agree: last hour, 24 hours (above), 7 days -----------------------------
    for key in ("1h", "7d"):
        other_range = pages.csv_rows(stack, kind="all", range=key)
        for route in ROUTES:
            row = other_range.get((route, "request", WEB), {})
            checks.append(exact(f"CSV range={key} {route} calls", truth.calls(route),
                                int(row.get("calls", -1))))
    # --- the usage page: headline, tabs, chart ---------------------------------------------
    page = pages.usage_page(stack)
    other = sum(int(r["calls"]) for (name, kind, _), r in rows.items()
                if kind == "command" and "audit_job" not in name)  # migrate
    entry_calls = len(truth.hits) + sum(task_calls.values()) + COMMAND_RUNS + other
    entry_errors = sum(truth.errors(r) for r in ROUTES) + task_calls["doomed"]
    checks.append(exact("usage headline calls (entry points)", entry_calls, page["calls"]))
    checks.append(exact("usage headline errors (entry points)", entry_errors, page["errors"]))
    checks.append(exact("usage chart total calls", entry_calls, page["chart"][0]))
    checks.append(exact("usage chart total errors", entry_errors, page["chart"][1]))
    checks.append(exact("Tasks tab calls (tasks sent)", sum(task_calls.values()),
                        page["tabs"].get("task", (-1, -1))[0]))
    checks.append(exact("Tasks tab errors (tasks failed)", task_calls["doomed"],
                        page["tabs"].get("task", (-1, -1))[1]))
    checks.append(exact("Requests tab calls", len(truth.hits),
                        page["tabs"].get("request", (-1, -1))[0]))
    tasks_tab = pages.usage_page(stack, kind="task")["rows"]
    for name in ("flaky", "doomed"):
        row = tasks_tab.get(TASK_FEATURE + name, {})
        checks.append(exact(f"Tasks tab {name} retries", 2 * task_calls[name],
                            int(row.get("retries", -1))))
        checks.append(exact(f"Tasks tab {name} flaky", task_calls[name] if name == "flaky"
                            else 0, int(row.get("flaky", -1))))
    # --- feature pages ----------------------------------------------------------------------
    for route in ROUTES:
        link = page["rows"].get(route, {}).get("link")
        if not link:
            checks.append(exact(f"feature page {route} listed", True, False))
            continue
        found = pages.feature_page(stack, link)
        checks.append(exact(f"page {route} calls", truth.calls(route), found["calls"]))
        checks.append(exact(f"page {route} errors", truth.errors(route), found["errors"]))
        checks.append(users(f"page {route} users", truth.users(route), found["users"]))
        checks.append(exact(f"page {route} chart calls", truth.calls(route), found["chart"][0]))
        checks.append(exact(f"page {route} chart errors", truth.errors(route), found["chart"][1]))
        if route == "GET /catalog/":
            checks.append(exact(f"page {route} N+1", n_plus_one, found["n_plus_one"]))
        for version in VERSIONS:
            shown = found["versions"].get(version, {})
            checks.append(exact(f"page {route} v{version} calls", truth.calls(route, version),
                                shown.get("calls", -1)))
            checks.append(users(f"page {route} v{version} users", truth.users(route, version),
                                shown.get("users", -1)))
            checks.append(rate(f"page {route} v{version} error rate",
                               truth.errors(route, version), truth.calls(route, version),
                               shown.get("error_rate", "")))
    for name in ("flaky", "doomed"):
        link = tasks_tab.get(TASK_FEATURE + name, {}).get("link", "")
        found = pages.feature_page(stack, link) if link else {}
        n = task_calls[name]
        checks.append(exact(f"page task {name} calls", n, found.get("calls", -1)))
        checks.append(exact(f"page task {name} errors", expected[name][0] * n,
                            found.get("errors", -1)))
        checks.append(exact(f"page task {name} retries", expected[name][1] * n,
                            found.get("tk-retries", -1)))
        checks.append(exact(f"page task {name} failed attempts", expected[name][2] * n,
                            found.get("tk-failed-attempts", -1)))
    # --- error groups ------------------------------------------------------------------------
    groups = pages.error_groups(stack)
    checks.append(exact("errors page PaymentDeclined count", truth.errors("GET /pay/"),
                        groups.get("tests.audit.project.views.PaymentDeclined",
                                   groups.get("PaymentDeclined", -1))))
    checks.append(exact("errors page ConnectionError count (doomed tasks)",
                        task_calls["doomed"], groups.get("ConnectionError", -1)))
    # --- releases ----------------------------------------------------------------------------
    changed = pages.changes(stack, *VERSIONS)
    for route in ROUTES:
        row = changed.get(route)
        before, after = (truth.calls(route, v) for v in VERSIONS)
        checks.append(exact(f"changes {route} calls", f"{before} → {after}",
                            row["calls"] if row else "-"))
        if not row:
            continue
        for version, text in zip(VERSIONS, row["error_rate"].split("→"), strict=False):
            checks.append(rate(f"changes {route} v{version} error rate",
                               truth.errors(route, version), truth.calls(route, version), text))
        if route in LATENCY_ROUTES:
            shown = [float(x) for x in re.findall(r"[\d.]+", row["p95"])[:2]]
            trues = [quantile_bounds(truth.durations_ms(route, v), 0.95) for v in VERSIONS]
            for version, bounds, value in zip(VERSIONS, trues, [*shown, None, None], strict=False):
                checks.append(percentile(f"changes {route} v{version} p95", bounds, value))
            before_ms, after_ms = (sum(b) / 2 for b in trues)
            checks.append(significance(f"changes {route} p95 change", before_ms, after_ms,
                                       row["p95_change"]))
    pay = changed.get("GET /pay/", {})
    checks.append(exact("changes GET /pay/ error rate change significant (5 → 25 %)", True,
                        bool(pay.get("rate_change")) and "no significant" not in
                        pay.get("rate_change", "no significant")))
    # --- the trace explorer -----------------------------------------------------------------
    failing = truth.failing_traces("GET /pay/")
    count, listed = pages.traces(stack, feature="GET /pay/", status="error")
    checks.append(exact("traces GET /pay/ error traces kept", len(failing), count))
    checks.append(exact("traces GET /pay/ error traces = the failing requests",
                        len(failing), len(failing & set(listed))))
    # A failed task's trace is an error trace, kept whole: its worker part (the task's
    # final failure) was written, in the trace of the request that enqueued it.
    doomed = {h.trace_id for h in truth.hits if h.path == "/enqueue/doomed/"}
    _, errors_listed = pages.traces(stack, status="error")
    checks.append(exact("traces of failed tasks kept as errors (worker part written)",
                        len(doomed), len(doomed & set(errors_listed))))
    # The truth's own check: each span's duration lies between the clock inside it and
    # the WSGI call around it, and the explorer shows the kept traces' durations exactly.
    checks.append(exact("requests whose span is outside [inner clock, WSGI call]", 0,
                        sum(not h.clock_us <= h.server_us <= h.wsgi_us for h in truth.hits)))
    spans = {h.trace_id: h.server_us for h in truth.hits}
    checks.append(exact("traces GET /pay/ kept durations ≠ the span's (µs)", 0,
                        sum(listed[t] != spans[t] for t in listed if t in spans)))
    for route in LATENCY_ROUTES:
        _, slow = pages.traces(stack, feature=route, reason="slow")
        checks.append(slow_check(route, truth, slow))
    roots = len(truth.hits) + COMMAND_RUNS
    count, _ = pages.traces(stack, reason="sample")
    checks.append(within_sigma(f"traces sampled (rate {SAMPLE_RATE})", roots, SAMPLE_RATE, count))
    return checks


@pytest.mark.requires("celery", "gunicorn")
@pytest.mark.service("postgres", "redis")
def test_every_number_is_true(audited: dict[str, Check]) -> None:
    wrong = [c for c in audited.values() if not c.ok and c.quantity not in KNOWN]
    assert not wrong, "numbers outside their tolerance:\n" + table(wrong)


@pytest.mark.requires("celery", "gunicorn")
@pytest.mark.service("postgres", "redis")
@pytest.mark.parametrize("quantity", [
    pytest.param(q, marks=pytest.mark.xfail(strict=strict, reason=why))
    for q, (why, strict) in KNOWN.items()
] or [pytest.param("", marks=pytest.mark.skip(reason="no known wrong number"))])
def test_known_finding(audited: dict[str, Check], quantity: str) -> None:
    """A number the audit found wrong, not fixed yet: an xfail until it is."""
    assert audited[quantity].ok, KNOWN[quantity][0]
