"""Every Tracekit admin page in a real browser (Debian's Chromium via Playwright) at 1440 px,
at 390 px and in dark mode, with the data of a busy shop: the page never scrolls sideways
(a table scrolls inside its own box, a stack wraps or scrolls in its own), nothing is cut
off at the right, and what a cell says can be trusted (no "0 users" where users are not
measured, no blank "Kept for"). Screenshots in artifacts/screenshots/tour_*.png."""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse

from django_tracekit.core.fingerprint import Group
from django_tracekit.core.histogram import bucket_index
from django_tracekit.destinations.stats import groups_store, store
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence
from django_tracekit.storage.usage_models import Feature
from tests.reports.test_browser import _seed_release
from tests.stats.test_browser import ARGS, LONG, SHOTS, XSS, _login, server  # noqa: F401
from tests.support.traces import (
    SpanSpec,
    exception_event,
    make_trace,
    span_id,
    trace_id,
    web_and_worker,
)

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

FAILING = "shop/billing/tasks/charge_card"
ERROR_TRACE = trace_id(0xE1)
PENDING_TRACE = trace_id(0x9E)  # lost "slow", waits for a part from another service
ODD_TRACE = trace_id(0x0DD)  # a reason this version does not know (a newer writer)
FAIL_TRACE = trace_id(0xFA1)  # a task whose function raised a long-named exception
# The trial project's: services named after a package, functions with long last segments.
WORKER = "shop_storefront_example-celery-worker"
APP_ERROR = "shop_storefront_example.core.exceptions.ApplicationError"
LONG_FUNCTIONS = ["shop/api/exception_handlers/drf_default_with_modifications_exception_handler",
                  "shop/api/pagination/LimitOffsetPagination/get_paginated_response",
                  "shop/authentication/services/auth_user_get_jwt_secret_key"]
# A real project's stack: long paths and a long message with no space to break at.
STACK = ('Traceback (most recent call last):\n'
         '  File "/srv/shop/releases/2026-12-01T10-22-31/shop/orders/services/fulfilment/'
         'warehouse_reservations.py", line 412, in reserve_stock_for_every_order_line\n'
         '    raise StockMissing(f"{sku}:" + ",".join(str(w) for w in warehouses))\n'
         'shop.orders.services.fulfilment.StockMissing: SKU-00000000000000000000000000000000'
         '0000000000000000000000000000000000000000042:warehouse-eu-central-1,warehouse-us-1')
# The document's width and what sticks out of the viewport (a box that scrolls its own
# overflow is fine: only its own right edge counts).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const e of document.querySelectorAll('#content *')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    let clipped = false;
    for (let p = e.parentElement; p && p.id !== 'content'; p = p.parentElement) {
      const s = getComputedStyle(p);
      if (['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX)
          && p.getBoundingClientRect().right <= width + 1) { clipped = true; break; }
    }
    if (!clipped) out.push((e.id || e.tagName + '.' + e.className) + ':' + Math.round(r.right));
  }
  const scrolls = [...document.querySelectorAll('#content *')].filter(e =>
    ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)
    && e.scrollWidth > e.clientWidth + 1)
    .map(e => (e.id || e.tagName + '.' + e.className) + ':' + e.scrollWidth + '>' + e.clientWidth);
  return [document.documentElement.scrollWidth, width, out.slice(0, 8), scrolls];
}"""
DASH = "\u2013"  # what a page shows for a number it does not measure


def _seed() -> None:
    _seed_release()
    now_minute = int(time.time()) // 60
    ms = 10**6
    # Code outside the project (scope=all): Django's and Celery's own, long names, big numbers.
    store.write({
        (name, kind, service, now_minute - 5): [
            calls, calls // 50, calls * 120 * ms, 4_000 * ms, {bucket_index(120 * ms): calls},
            calls // 9, None, "1.5.0", calls // 20, calls // 25,
            0 if name == FAILING else calls // 30]
        for name, kind, service, calls in (
            ("celery/app/builtins/backend_cleanup", "task", "shop-celery-worker-default",
             1_234_567),
            ("django/contrib/sessions/management/commands/clearsessions/Command/handle",
             "command", "shop-cron", 24),
            ("django/contrib/admin/options/ModelAdmin/changelist_view", "function",
             "shop-web", 98_765),
            # Failed in the end, none passed after a retry: "failing", not "flaky".
            (FAILING, "task", "shop-worker", 3_000),
            *((name, "function", WORKER, 9_876_543) for name in LONG_FUNCTIONS))})
    missing = Group("7" * 16, "shop.orders.services.fulfilment.StockMissing",
                    "shop/orders/services/fulfilment/warehouse_reservations/reserve",
                    "shop/orders/services/fulfilment/warehouse_reservations.py", 412)
    batch = GroupBatch(groups={missing.fingerprint: missing})
    batch.counts = {(missing.fingerprint, "GET /orders/<int:pk>/", "request", "shop-web",
                     now_minute - 3): 2}
    batch.examples = [Example(missing.fingerprint, "GET /orders/<int:pk>/", "request",
                              "shop-web", Occurrence(
                                  missing, time.time_ns() - 180 * 10**9,
                                  STACK.rsplit(": ", 1)[1], STACK, ERROR_TRACE,
                                  "00f067aa0ba902b7"))]
    groups_store.write(batch)
    now = int(time.time() * 1e6)
    web_and_worker(ERROR_TRACE, start_us=now - 90_000_000)
    _seed_failed_task(now)
    for tid, reasons, ago in ((PENDING_TRACE, "", 40), (ODD_TRACE, "sample,pinned", 50)):
        make_trace(tid, [SpanSpec("GET /cart/", span_id(1), duration_ms=40, kind="server",
                                  attributes={"http.response.status_code": 200})],
                   start_us=now - ago * 1_000_000, reasons=reasons)


def _seed_failed_task(now: int) -> None:
    stack = ('Traceback (most recent call last):\n'
             '  File "/venv/bin/celery", line 8, in <module>\n'
             '  File "shop_storefront_example/emails/tasks.py", line 25, in email_send\n'
             '  File "python3.11/contextlib.py", line 81, in ContextDecorator.__call__.'
             '<locals>.inner\n'
             '  File "shop_storefront_example/emails/services.py", line 27, in email_send\n'
             f'{APP_ERROR}: Cannot send non-ready emails. Current status is READY')
    make_trace(FAIL_TRACE, [
        SpanSpec("shop/emails/tasks/email_send", span_id(1), duration_ms=3, service=WORKER,
                 kind="consumer", attributes={"messaging.system": "celery"}),
        SpanSpec("shop/emails/services/email_send", span_id(2), span_id(1), 1, 1,
                 service=WORKER, is_error=True,
                 status_message=f"{APP_ERROR}: Cannot send non-ready emails.",
                 events=[exception_event(APP_ERROR, "Cannot send non-ready emails.", stack,
                                         1_500)])],
        start_us=now - 30_000_000, reasons="error")


def _check(page: Any, name: str, problems: list[Any]) -> None:
    width, viewport, out, scrolls = page.evaluate(OVERFLOW)
    page.screenshot(path=str(SHOTS / f"tour_{name}.png"), full_page=True)
    if width > viewport or out:
        problems.append((name, width, viewport, out))
    if viewport > 1000 and scrolls:  # wide enough for every column: nothing hidden aside
        problems.append((name, "scrolls", scrolls))


def _pages(base: str) -> dict[str, str]:
    orders = Feature.objects.get(name="GET /orders/<int:pk>/").pk
    function = Feature.objects.get(name="shop/orders/services/Checkout/run").pk
    long = Feature.objects.get(name=LONG).pk  # a heading with no space to break at
    return {
        "usage": f"{reverse('admin:tracekit_usage')}?range=24h",
        "usage_all": f"{reverse('admin:tracekit_usage')}?range=24h&scope=all",
        "usage_all_kinds": f"{reverse('admin:tracekit_usage')}?range=24h&scope=all&kind=all",
        "usage_tasks_all": f"{reverse('admin:tracekit_usage')}?range=24h&scope=all&kind=task",
        "usage_functions": f"{reverse('admin:tracekit_usage')}?range=24h&kind=function",
        "feature": f"{reverse('admin:tracekit_usage_feature', args=[orders])}?range=24h",
        "feature_function": f"{reverse('admin:tracekit_usage_feature', args=[function])}"
                            "?range=24h",
        "feature_long": f"{reverse('admin:tracekit_usage_feature', args=[long])}?range=24h",
        "traces": reverse("admin:tracekit_traces"),
        "trace": reverse("admin:tracekit_trace", args=[ERROR_TRACE]),
        "trace_pending": reverse("admin:tracekit_trace", args=[PENDING_TRACE]),
        "trace_failed": reverse("admin:tracekit_trace", args=[FAIL_TRACE]),
        "errors": f"{reverse('admin:tracekit_errors')}?range=24h",
        "changes": f"{reverse('admin:tracekit_changes')}?range=24h",
        "unused": f"{reverse('admin:tracekit_unused')}?range=24h",
    }


def _open_details(page: Any) -> None:
    for summary in page.locator("details:not([open]) > summary").all()[:6]:
        if summary.is_visible():
            summary.click()


def _contexts(browser: Any) -> Iterator[tuple[str, Any]]:
    for suffix, viewport, scheme in (("1440", 1440, "light"), ("390", 390, "light"),
                                     ("1440_dark", 1440, "dark"), ("390_dark", 390, "dark")):
        context = browser.new_context(viewport={"width": viewport, "height": 900},
                                      color_scheme=scheme)
        try:
            yield suffix, context.new_page()
        finally:
            context.close()


def _right(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["x"] + box["width"])


# What in the waterfall sticks out of it where no scroll bar reaches it (clipped for good).
UNREACHABLE = """() => {
  const w = document.querySelector('.tk-waterfall');
  const box = w.getBoundingClientRect();
  const out = [];
  const inScrollBox = e => {
    for (let p = e; p && p !== w; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  for (const e of w.querySelectorAll('*')) {
    const r = e.getBoundingClientRect();
    // Its own text wider than it, not in a scroll box (an ellipsis says it is cut, the
    // title tells the rest; a 1-px screen-reader copy is not shown).
    const s = getComputedStyle(e);
    if (r.width > 1 && e.scrollWidth > e.clientWidth + 1 && s.textOverflow !== 'ellipsis'
        && !(e instanceof SVGElement) && !inScrollBox(e)) {
      out.push('text ' + e.tagName + '.' + e.className + ':' + e.scrollWidth + '>' + e.clientWidth);
    }
    if (r.width === 0 || r.right <= box.right + 1) continue;
    let scrolls = false;
    for (let p = e.parentElement; p && p !== w; p = p.parentElement) {
      if (['auto', 'scroll'].includes(getComputedStyle(p).overflowX)
          && p.getBoundingClientRect().right <= box.right + 1) { scrolls = true; break; }
    }
    if (!scrolls) out.push((e.tagName + '.' + e.className) + ':' + Math.round(r.right));
  }
  return [w.scrollWidth, w.clientWidth, out.slice(0, 8)];
}"""
# The characters a cell's text breaks after (one per line break): a break is between
# words ("-", "_", "."), never inside one.
BREAKS_AFTER = """e => {
  const out = [];
  let top = null, previous = '';
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    for (let i = 0; i < t.data.length; i++) {
      const range = document.createRange();
      range.setStart(t, i);
      range.setEnd(t, i + 1);
      const rect = range.getBoundingClientRect();
      if (top !== null && rect.top > top + 2) out.push(previous);
      top = rect.top;
      previous = t.data[i];
    }
  }
  return out;
}"""
USAGE_TABS = ("", "entry", "request", "task", "command", "function", "all")


def _usage_fits(page: Any, base: str) -> None:
    """Every tab of the usage list, project code and all code: at 1440 px with the admin's
    sidebar open the table fits its box (the trend in view) and a service name breaks
    between its words."""
    for scope, tab in itertools.product(("", "&scope=all"), USAGE_TABS):
        page.goto(f"{base}{reverse('admin:tracekit_usage')}?range=24h{scope}"
                  + (f"&kind={tab}" if tab else ""))
        where = f"kind={tab}{scope}"
        if not page.locator("#tk-features").count():
            continue
        results = page.locator("#tk-features").locator("xpath=..")
        assert results.evaluate("e => e.scrollWidth <= e.clientWidth"), where
        assert _right(page, "#tk-features thead th:last-child") <= _right(
            page, "#content-main"), where
        for svg in page.locator("#tk-features td.tk-col-trend svg").all():
            box = svg.bounding_box()
            assert box is not None and box["x"] + box["width"] <= page.viewport_size["width"]
        for cell in page.locator("#tk-features td.tk-col-service").all():
            breaks = cell.evaluate(BREAKS_AFTER)
            assert set(breaks) <= set("-_."), (where, cell.inner_text(), breaks)


def _fixes(page: Any, base: str, pages: dict[str, str], suffix: str) -> None:
    """The trial's findings, each checked where it was seen."""
    viewport = page.viewport_size["width"]
    # 1. At 390 px the feature page's stack wraps in its box, its tables scroll in theirs.
    page.goto(f"{base}{pages['feature']}")
    page.click("tr:has-text('StockMissing') summary")
    stack = page.locator("tr:has-text('StockMissing') pre.tk-stack")
    assert stack.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    assert stack.evaluate("e => e.scrollWidth <= e.clientWidth")  # nothing hidden aside
    assert _right(page, "tr:has-text('StockMissing') pre.tk-stack") <= viewport
    for box in ("#tk-versions .results", "#tk-error-groups .results"):
        assert page.locator(box).evaluate("e => getComputedStyle(e).overflowX") == "auto"
    assert _right(page, "#tk-error-groups tr:has-text('StockMissing') td.tk-num") <= viewport
    # ... and so does the waterfall's stack (its span opens by itself).
    page.goto(f"{base}{pages['trace']}")
    page.wait_for_selector("#tk-trace-tools:not([hidden])")  # trace.js ran
    stacks = [s for s in page.locator(".tk-span-body .tk-stack").all() if s.is_visible()]
    assert stacks
    for stack in stacks:
        assert stack.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        box = stack.bounding_box()
        assert box is not None and box["x"] + box["width"] <= viewport
    # ... and nothing in a failed function's span is cut off (a long exception name).
    page.goto(f"{base}{pages['trace_failed']}")
    page.wait_for_selector("#tk-trace-tools:not([hidden])")
    assert page.locator(".tk-span-body .tk-status-message").first.is_visible()
    scroll_width, client_width, unreachable = page.evaluate(UNREACHABLE)
    assert scroll_width <= client_width + 1 and not unreachable, (
        scroll_width, client_width, unreachable)
    # 2. With outside code the usage table's last column (the trend) is in view at 1440 px.
    page.goto(f"{base}{pages['usage_tasks_all']}")
    results = page.locator("#tk-features").locator("xpath=..")
    if viewport > 1000:
        assert results.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert _right(page, "tr[data-feature^='celery/'] td.tk-col-trend svg") <= _right(
            page, "#tk-features")
    # ... and the failing task says so, the flaky one too.
    assert page.locator(f"tr[data-feature='{FAILING}'] [data-flaky]").inner_text() == "failing"
    assert page.locator("tr[data-feature^='celery/'] [data-flaky]").inner_text() == "flaky"
    if viewport > 1000:
        _usage_fits(page, base)
    # 3. Users are measured for requests only: a dash with why, not 0 (data-users: a count).
    page.goto(f"{base}{pages['usage_functions']}")
    cell = page.locator("tr[data-kind='function']").first.locator("td[data-label='Users']")
    assert cell.inner_text().strip() == DASH
    assert "requests only" in (cell.locator("span").get_attribute("title") or "")
    # The sorted column keeps no room for the admin's sort options (none here).
    assert page.locator("table.tk-features th.sorted .text").evaluate(
        "e => getComputedStyle(e).paddingRight") == "0px"
    # The Functions tab's headline says "Raised" as its column does.
    assert page.locator("#tk-total-errors + .tk-label").inner_text() == "Raised (function)"
    page.goto(f"{base}{pages['usage']}")
    assert page.locator("tr[data-feature='GET /orders/<int:pk>/'] td[data-label='Users']"
                        ).inner_text().strip() == "420"
    page.goto(f"{base}{pages['feature_function']}")
    assert page.locator("#tk-users").inner_text().strip() == DASH
    assert page.locator("#tk-users-panel").count() == 0
    # Its versions table says "raised" as its summary does, not "errors".
    assert "Raised" in page.locator("#tk-errors").locator("xpath=..").inner_text()
    versions_head = page.locator("#tk-versions thead").inner_text()
    assert "RAISED" in versions_head.upper() and "ERROR" not in versions_head.upper(), (
        versions_head)
    # Its 2,461 errors were raised in code it called: the empty groups section says so.
    assert "raised in code it called" in page.locator("#tk-no-groups").inner_text()
    # Charts: the axis legible on a phone (not 4 px), the bars readable in the dark theme
    # (the admin's dark --primary is near the page's black).
    axis = page.locator(".tk-chart .tk-axis").first.bounding_box()
    assert axis is not None and axis["height"] >= 7, axis
    times = page.locator(".tk-chart").first.locator("text.tk-axis[y='212']")  # the x axis
    shown = sorted((b for b in (t.bounding_box() for t in times.all()) if b and b["width"]),
                   key=lambda b: b["x"])
    assert len(shown) >= 3, shown  # no time label overlaps the next
    assert all(a["x"] + a["width"] <= b["x"] for a, b in itertools.pairwise(shown)), shown
    fill = page.locator(".tk-chart rect.tk-calls").first.evaluate(
        "e => getComputedStyle(e).fill")
    assert fill == ("rgb(129, 212, 250)" if "dark" in suffix else "rgb(121, 174, 200)"), fill
    # 4. Every kept trace says why: none blank, a pending one and an unknown one say so.
    page.goto(f"{base}{pages['traces']}")
    kept = {r.get_attribute("data-trace"): r.locator("td.tk-kept-for").inner_text().strip()
            for r in page.locator("#tk-traces tbody tr").all()}
    assert all(kept.values()), kept
    assert kept[PENDING_TRACE] == "no reason yet"
    assert kept[ODD_TRACE] == "sample unknown: pinned"
    assert kept[ERROR_TRACE] == "error"
    if viewport < 768:  # a card: its bare numbers labelled (spans, user)
        row = page.locator(f"tr[data-trace='{ERROR_TRACE}']")
        for cell, label in (("td.tk-span-count", "Spans"), ("td.tk-user", "User")):
            assert row.locator(cell).evaluate(
                "e => getComputedStyle(e, '::before').content") == f'"{label} "'
    page.goto(f"{base}{pages['trace_pending']}")
    assert page.locator("#tk-kept-for").inner_text().strip() == "no reason yet"
    assert "another process" in page.locator("#tk-pending-note").inner_text()
    page.screenshot(path=str(SHOTS / f"tour_checked_{suffix}.png"), full_page=True)


def test_every_page_at_1440_and_390_px_light_and_dark(server: Any) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    _seed()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        codename__in=("view_feature", "view_trace")))
    SHOTS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    pages = _pages(server.url)
    problems: list[Any] = []
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for suffix, page in _contexts(browser):
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                _login(page, server.url, "viewer")
                for name, path in pages.items():
                    page.goto(f"{server.url}{path}")
                    page.wait_for_selector("#content-main")
                    _open_details(page)
                    _check(page, f"{name}_{suffix}", problems)
                _fixes(page, server.url, pages, suffix)
                # 5. The stats-off notice (metrics on): a long destination wraps, escaped.
                with override_settings(TRACEKIT={**settings.TRACEKIT, "METRICS": {
                        "ENABLED": True, "EXPORTER": "prometheus_remote_write",
                        "REMOTE_WRITE_URL": f"http://prometheus:9090/api/v1/write?{XSS}"}}):
                    page.goto(f"{server.url}{pages['usage']}")
                    notice = page.locator("#tk-stats-notice")
                    assert "TRACEKIT['STATS'] is off" in notice.inner_text()
                    assert XSS in notice.inner_text()  # shown as text
                    _check(page, f"stats_notice_{suffix}", problems)
        finally:
            browser.close()
    assert not problems, problems
    assert dialogs == []
