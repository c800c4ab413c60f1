"""A real browser (Debian's Chromium via Playwright) on the usage pages; screenshots saved
under artifacts/screenshots/ and, for the docs, docs/screenshots/ (usage.png,
usage_feature.png, unused.png)."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from django_tracekit.core.histogram import bucket_index
from django_tracekit.core.sketch import Users, hash_user
from django_tracekit.destinations.stats import store

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS = "<script>alert(1)</script>"
# name, kind, service, calls per hour, users in the pool, error every n calls, N+1 every n
FEATURES = [
    ("GET /orders/<int:pk>/", "request", "shop-web", 900, 420, 40, 0),
    ("POST /checkout/", "request", "shop-web", 260, 180, 0, 0),
    ("GET /cart/", "request", "shop-web", 250, 300, 0, 25),
    ("GET (unmatched)", "request", "shop-web", 40, 0, 0, 0),
    ("shop/mail/tasks/send_receipt", "task", "shop-worker", 380, 0, 40, 0),
    ("shop/management/commands/import_catalog/Command/handle", "command", "shop-cron", 1,
     0, 0, 0),
    ("shop/orders/services/Checkout/run", "function", "shop-web", 1400, 0, 20, 0),
    ("shop/orders/selectors/order_lines", "function", "shop-web", 2600, 0, 0, 12),
    (XSS, "function", "shop-web", 7, 0, 0, 0),
]
UNUSED = [("shop/orders/legacy/export_xml", "shop.orders.legacy"),
          ("shop/orders/legacy/LegacyInvoice/render", "shop.orders.legacy"),
          ("shop/promotions/rules/apply_coupon_v1", "shop.promotions.rules"),
          ("shop/promotions/rules/stack_discounts", "shop.promotions.rules")]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    # Admin CSS/JS served by the live server (staticfiles), so screenshots look real.
    apps = ["django.contrib.staticfiles", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


def _seed() -> None:
    rng = random.Random(16)
    now_minute = int(time.time()) // 60
    increments: dict[Any, Any] = {}
    for i, (name, kind, service, per_hour, pool, error_every, n1_every) in enumerate(FEATURES):
        for minutes_ago in range(0, 8 * 24 * 60, 20):  # a week and a day of history
            wave = 1 + (minutes_ago // 60 % 24 in range(8, 20))  # busier by day
            calls = max(1, per_hour // 3 * wave + minutes_ago % 7 - 3)
            # Release 1.5.0 went out 6 hours ago: the order page got slower and failed more.
            version = "1.5.0" if minutes_ago < 360 else "1.4.2"
            slower = 3 if (version == "1.5.0" and i == 0) else 0
            errors = calls // error_every if error_every else 0
            if slower:
                errors *= 3
            fast = bucket_index((8 + 2 * i + 4 * slower) * 10**6)
            hist = {fast: calls - calls // 10, fast + 6 + minutes_ago % 5: calls // 10}
            users = None
            if pool:
                users = Users()
                for _ in range(min(calls, pool // 4)):
                    users.add(hash_user(str(rng.randrange(pool))))
            increments[(name, kind, service, now_minute - minutes_ago)] = [
                calls, errors, calls * (8 + 2 * i + 4 * slower) * 10**6,
                (40 + i + 20 * slower) * 10**6, hist, calls // n1_every if n1_every else 0,
                users, version]
    store.write(increments)
    from django_tracekit.destinations.stats.records import ErrorSample
    store.write({}, [ErrorSample("GET /orders/<int:pk>/", "request", "shop-web",
                                 time.time_ns() - 120 * 10**9, "shop.orders.OrderMissing",
                                 "order 42 not found", 'Traceback (most recent call last):\n'
                                 '  File "shop/orders/views.py", line 12, in detail\n'
                                 'shop.orders.OrderMissing: order 42 not found',
                                 "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "")])
    instrumented = [(name, name.rsplit("/", 1)[0].replace("/", "."))
                    for name, kind, *_ in FEATURES if kind == "function" and name != XSS]
    store.record_instrumented("shop-web", [*instrumented, *UNUSED],
                              now=int(time.time()) - 30 * 86400)
    store.record_instrumented("shop-web", [*instrumented, *UNUSED])


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")


def _shoot(page: Any, name: str, docs: bool = False) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)
    if docs:
        page.screenshot(path=str(DOCS / name), full_page=True)


def _rows(page: Any) -> list[tuple[str, str]]:
    return [(r.get_attribute("data-feature"), r.get_attribute("data-kind"))
            for r in page.locator("table#tk-features tbody tr").all()]


def test_usage_pages_in_a_real_browser(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    _seed()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_feature"))
    # The recent errors' messages and stacks are shown with view_trace (issue 21).
    viewer.user_permissions.add(Permission.objects.get(codename="view_trace"))
    User.objects.create_user("staffer", password="pw", is_staff=True)  # no permission
    SHOTS.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright's loop, our thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _login(page, server.url, "viewer")
            page.goto(f"{server.url}/admin/")
            page.get_by_role("link", name="Feature usage").first.click()
            page.wait_for_selector("#tk-features")
            # Entry points first: requests, tasks, commands; routes above busier functions.
            rows = _rows(page)
            assert {k for _, k in rows} == {"request", "task", "command"}
            assert rows[0] == ("GET /orders/<int:pk>/", "request")
            assert page.locator("a[data-kind-tab='entry'].tk-active").count() == 1
            users = page.locator("tr[data-feature='GET /orders/<int:pk>/']").get_attribute(
                "data-users")
            assert users is not None and int(users) >= 100
            _shoot(page, "usage.png", docs=True)

            page.click("a[data-kind-tab='function']")
            page.wait_for_selector("a[data-kind-tab='function'].tk-active")
            assert {k for _, k in _rows(page)} == {"function"}
            # The hostile span name is text on the page, and no script ran.
            assert page.get_by_text(XSS, exact=True).is_visible()
            assert dialogs == []
            _shoot(page, "usage_functions.png")

            page.click("a[data-kind-tab='entry']")
            page.get_by_role("link", name="Users").click()
            page.wait_for_selector("th.sorted a:text('Users')")
            counts = [int(r.get_attribute("data-users") or 0)
                      for r in page.locator("table#tk-features tbody tr").all()]
            assert counts == sorted(counts, reverse=True) and counts[0] > 0

            page.click("a[data-range='7d']")
            page.wait_for_selector("a[data-range='7d'].tk-active")
            assert page.locator(".tk-chart rect.tk-calls").count() > 100  # hourly bars
            _shoot(page, "usage_7d.png")

            page.get_by_role("link", name="GET /orders/<int:pk>/").click()
            page.wait_for_selector("#tk-versions")
            versions = [r.get_attribute("data-version")
                        for r in page.locator("#tk-versions tbody tr").all()]
            assert versions == ["1.5.0", "1.4.2"]
            assert page.locator("#tk-versions td.tk-delta-bad").count() >= 2
            assert page.locator(".tk-chart .tk-users").count() > 0  # users over time
            page.click("#tk-recent-errors summary")
            assert page.get_by_text("order 42 not found").first.is_visible()
            _shoot(page, "usage_feature.png", docs=True)
            page.emulate_media(color_scheme="dark")
            _shoot(page, "usage_feature_dark.png")
            page.emulate_media(color_scheme="light")

            page.go_back()
            page.click("#tk-unused-link")
            page.wait_for_selector("#tk-unused")
            listed = [r.get_attribute("data-function")
                      for r in page.locator("#tk-unused tr[data-function]").all()]
            assert listed == [name for name, _ in sorted(UNUSED, key=lambda u: (u[1], u[0]))]
            assert page.locator("details.tk-module").count() == 2
            _shoot(page, "unused.png", docs=True)

            refused = browser.new_page()
            _login(refused, server.url, "staffer")
            for path in ("", "unused/"):
                response = refused.goto(f"{server.url}/admin/django_tracekit/feature/{path}")
                assert response is not None and response.status == 403
            refused.screenshot(path=str(SHOTS / "refused_without_permission.png"))
        finally:
            browser.close()
