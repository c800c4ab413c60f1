"""A real browser (Debian's Chromium via Playwright) on the usage pages; screenshots saved
under artifacts/screenshots/ for people to look at."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from django_tracekit.stats import store

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS = "<script>alert(1)</script>"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    # Admin CSS/JS served by the live server (staticfiles), so screenshots look real.
    apps = ["django.contrib.staticfiles", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


def _seed() -> None:
    now_minute = int(time.time()) // 60
    increments: dict[Any, Any] = {}
    features = [("GET /orders/<int:pk>/", "request", "shop-web", 900),
                ("shop/orders/services/Checkout/run", "function", "shop-web", 400),
                ("shop/mail/tasks/send_receipt", "task", "shop-worker", 380),
                ("GET /cart/", "request", "shop-web", 250), (XSS, "function", "shop-web", 7)]
    for i, (name, kind, service, per_hour) in enumerate(features):
        for minutes_ago in range(0, 8 * 24 * 60, 20):  # a week and a day of history
            wave = 1 + (minutes_ago // 60 % 24 in range(8, 20))  # busier by day
            calls = per_hour // 3 * wave + minutes_ago % 7
            errors = calls // 40 if i in (0, 2) else 0
            hist = {36 + i: calls - calls // 10, 44 + i + minutes_ago % 5: calls // 10}
            increments[(name, kind, service, now_minute - minutes_ago)] = [
                calls, errors, calls * (2 + i) * 10**6, (40 + i) * 10**6, hist]
    store.write(increments)
    from django_tracekit.stats.records import ErrorSample
    store.write({}, [ErrorSample("GET /orders/<int:pk>/", "request", "shop-web",
                                 time.time_ns() - 120 * 10**9, "shop.orders.OrderMissing",
                                 "order 42 not found", 'Traceback (most recent call last):\n'
                                 '  File "shop/orders/views.py", line 12, in detail\n'
                                 'shop.orders.OrderMissing: order 42 not found',
                                 "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "")])


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


def test_usage_pages_in_a_real_browser(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    _seed()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_feature"))
    User.objects.create_user("staffer", password="pw", is_staff=True)  # no permission
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright's loop, our thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _login(page, server.url, "viewer")
            page.goto(f"{server.url}/admin/")
            page.get_by_role("link", name="Feature usage").first.click()
            page.wait_for_selector("#tk-features")
            assert page.locator("table#tk-features tbody tr").count() == 5
            page.screenshot(path=str(SHOTS / "usage_24h.png"), full_page=True)

            page.click("a[data-range='7d']")
            page.wait_for_selector("a[data-range='7d'].tk-active")
            assert page.locator(".tk-chart rect.tk-calls").count() > 100  # hourly bars
            page.screenshot(path=str(SHOTS / "usage_7d.png"), full_page=True)

            # The hostile span name is text on the page, and no script ran.
            assert page.get_by_text(XSS, exact=True).is_visible()
            assert dialogs == []

            page.get_by_role("link", name="GET /orders/<int:pk>/").click()
            page.wait_for_selector("#tk-recent-errors")
            page.click("#tk-recent-errors summary")
            assert page.get_by_text("order 42 not found").first.is_visible()
            assert page.locator(".tk-chart .tk-line").count() >= 3  # p50/p95/p99 lines
            page.screenshot(path=str(SHOTS / "feature_detail.png"), full_page=True)

            page.emulate_media(color_scheme="dark")
            page.screenshot(path=str(SHOTS / "feature_detail_dark.png"), full_page=True)
            page.emulate_media(color_scheme="light")

            page.goto(f"{server.url}/admin/django_tracekit/feature/?q=script")
            assert page.get_by_text(XSS, exact=True).is_visible()
            assert dialogs == []

            refused = browser.new_page()
            _login(refused, server.url, "staffer")
            response = refused.goto(f"{server.url}/admin/django_tracekit/feature/")
            assert response is not None and response.status == 403
            refused.screenshot(path=str(SHOTS / "refused_without_permission.png"))
        finally:
            browser.close()
