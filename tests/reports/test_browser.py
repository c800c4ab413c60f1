"""The releases page and the feature page's traces/tasks section in a real browser
(Debian's Chromium via Playwright), at 1440 px, at 390 px and in dark mode; screenshots in
artifacts/screenshots/ (and docs/screenshots/changes.png)."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from django_tracekit.core.histogram import bucket_index
from django_tracekit.destinations.stats import edges, store
from tests.stats.test_browser import ARGS, DOCS, SHOTS, _login, _seed, server  # noqa: F401

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

WIDTHS = {"": 1440, "_390": 390}
# Elements of this work (the releases page, the feature page's section) that stick out of
# the viewport: a table may scroll inside its own box, the page itself must not.
WIDER_THAN_PAGE = """() => [...document.querySelectorAll(
    '#tk-work, #tk-work .results, #tk-changed, #tk-changed .results, .tk-compare, .tk-summary, '
    + '#tk-versions, #tk-versions .results')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => (e.id || e.className) + ':' + Math.round(e.getBoundingClientRect().right))"""


def _seed_release() -> None:
    _seed()
    minute = int(time.time()) // 60
    ns = 30 * 10**6
    # 1.5.0 broke the refund endpoint: every call fails (none did under 1.4.2).
    for version, ago, errors in (("1.4.2", 600, 0), ("1.5.0", 60, 50)):
        store.write({("POST /refunds/<int:pk>/", "request", "shop-web", minute - ago): [
            50, errors, 50 * ns, ns, {bucket_index(ns): 50}, 0, None, version]})
    checkout = ("request", "shop-web", "POST /checkout/")
    edges.write({(*checkout, "shop/mail/tasks/send_receipt", "shop-worker", minute): [
                    250, 34, 12],
                 (*checkout, "shop/orders/tasks/reserve_stock", "shop-worker", minute): [
                    250, 0, 0]})


def _shoot(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_changes_and_feature_pages_in_a_real_browser(server: Any) -> None:  # noqa: F811
    from playwright.sync_api import sync_playwright

    store.clear_cache()
    _seed_release()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        codename__in=("view_feature", "view_trace")))
    SHOTS.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            for suffix, width in WIDTHS.items():
                page = browser.new_page(viewport={"width": width, "height": 900})
                _login(page, server.url, "viewer")
                # From the feature page's version table to the comparison.
                page.goto(f"{server.url}/admin/django_tracekit/feature/")
                page.get_by_role("link", name="POST /checkout/").first.click()
                page.wait_for_selector("#tk-work")
                enqueued = [r.get_attribute("data-edge")
                            for r in page.locator("#tk-enqueued tbody tr").all()]
                assert enqueued == ["shop/mail/tasks/send_receipt",
                                    "shop/orders/tasks/reserve_stock"]
                assert page.locator("#tk-enqueued td.tk-delta-bad").inner_text() == "13.6 %"
                assert page.locator("#tk-error-traces").is_visible()
                _shoot(page, f"feature_work{suffix}.png")
                wide = page.evaluate(WIDER_THAN_PAGE)
                assert wide == [], f"{wide} at {width} px"
                page_width = page.evaluate("document.documentElement.scrollWidth")
                assert page_width <= width + 1, f"the page is {page_width} px at {width} px"
                if not suffix:
                    page.emulate_media(color_scheme="dark")
                    _shoot(page, "feature_work_dark.png")
                    page.emulate_media(color_scheme="light")
                page.click("#tk-changes-link")
                page.wait_for_selector("#tk-changed")
                rows = [r.get_attribute("data-change")
                        for r in page.locator("#tk-changed tbody tr").all()]
                assert rows[0] == "POST /refunds/<int:pk>/"  # 0 % -> 100 % errors first
                assert rows[1] == "GET /orders/<int:pk>/"  # slower, failing more
                assert page.locator("#tk-before-version").inner_text() == "1.4.2"
                assert page.locator("#tk-after-version").inner_text() == "1.5.0"
                _shoot(page, f"changes{suffix}.png")
                wide = page.evaluate(WIDER_THAN_PAGE)
                assert wide == [], f"{wide} at {width} px"
                if not suffix:
                    page.screenshot(path=str(DOCS / "changes.png"), full_page=True)
                    page.emulate_media(color_scheme="dark")
                    _shoot(page, "changes_dark.png")
                    page.emulate_media(color_scheme="light")
                    # Both versions are chosen in the page.
                    page.select_option("#tk-before", "1.5.0")
                    page.select_option("#tk-after", "1.4.2")
                    page.click("#tk-versions-form input[type=submit]")
                    page.wait_for_selector("#tk-after-version:text('1.4.2')")
                    # Reversed, the broken endpoint is the biggest improvement: last.
                    last = page.locator("#tk-changed tbody tr").last
                    assert last.get_attribute("data-change") == "POST /refunds/<int:pk>/"
                    assert last.get_attribute("data-score") == "-100"
                page.close()
        finally:
            browser.close()
    store.clear_cache()
