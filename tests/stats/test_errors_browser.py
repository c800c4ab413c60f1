"""The error-groups page in a real browser (Debian's Chromium via Playwright) at 1440 px,
390 px and in dark mode; screenshots under artifacts/screenshots/ (errors*.png) and
docs/screenshots/errors.png."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse

from django_tracekit.core.fingerprint import Group
from django_tracekit.destinations.stats import groups_store, store
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
XSS = '<img src=x onerror="alert(1)"> order 42 not found'
STACK = ('Traceback (most recent call last):\n'
         '  File "/srv/shop/shop/orders/views.py", line 31, in detail\n'
         '  File "/srv/shop/shop/orders/services.py", line 12, in find_order\n'
         'shop.orders.services.OrderMissing: order 42 not found')
# fingerprint, type, location, line, {entry point: errors per hour}, messages
GROUPS = [
    ("a1" * 8, "shop.orders.services.OrderMissing", "shop/orders/services/find_order", 12,
     {("GET /orders/<int:pk>/", "request", "shop-web"): 9,
      ("shop/mail/tasks/send_receipt", "task", "shop-worker"): 2},
     [XSS, "order 7 not found", "order 1093 not found"]),
    ("b2" * 8, "RuntimeError", "shop/videos/tasks/transcode", 88,
     {("shop/videos/tasks/transcode", "task", "shop-worker"): 4}, ["unlucky video"]),
    ("c3" * 8, "django.db.utils.IntegrityError", "shop/cart/views/add_item", 40,
     {("POST /cart/items/", "request", "shop-web"): 1},
     ['duplicate key value violates unique constraint "cart_item_unique"']),
]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    apps = ["django.contrib.staticfiles", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


def _seed() -> None:
    now_minute = int(time.time()) // 60
    features = {key for *_, entries, _m in GROUPS for key in entries}
    store.write({(f, k, s, now_minute): [100, 10, 10**9, 10**8, {40: 100}]
                 for f, k, s in features})
    for fingerprint, error_type, location, line, entries, messages in GROUPS:
        group = Group(fingerprint, error_type, location, f"/srv/{location}.py", line)
        batch = GroupBatch(groups={fingerprint: group})
        for hours_ago in range(0, 30):
            wave = 1 + (hours_ago % 24 in range(8, 20)) + (hours_ago < 4) * 3
            for (feature, kind, service), per_hour in entries.items():
                batch.counts[(fingerprint, feature, kind, service,
                              now_minute - hours_ago * 60)] = per_hour * wave
        feature, kind, service = next(iter(entries))
        for n, message in enumerate(messages):
            batch.examples.append(Example(fingerprint, feature, kind, service, Occurrence(
                group, (now_minute - n) * 60 * 10**9, message, STACK, f"{n:032x}", "")))
        groups_store.write(batch)


def _shoot(page: Any, name: str, docs: bool = False) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)
    if docs:
        page.screenshot(path=str(DOCS / name), full_page=True)


def test_errors_page_in_a_real_browser(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    _seed()
    User.objects.create_superuser("root", password="pw")
    counts = User.objects.create_user("counts", password="pw", is_staff=True)
    counts.user_permissions.add(Permission.objects.get(codename="view_feature"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    DOCS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(f"{server.url}/admin/login/")
            page.fill("#id_username", "root")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            page.get_by_role("link", name="Error groups").first.click()
            page.wait_for_selector("#tk-groups")
            rows = [r.get_attribute("data-group")
                    for r in page.locator("#tk-groups tbody tr").all()]
            assert rows == ["a1" * 8, "b2" * 8, "c3" * 8]  # by count
            assert page.get_by_text(XSS).first.is_visible() and dialogs == []
            _shoot(page, "errors.png", docs=True)

            page.click("#tk-groups tr[data-group='a1a1a1a1a1a1a1a1'] a.tk-name >> nth=0")
            page.wait_for_selector("#tk-error-groups")
            assert page.locator("#tk-error-groups tr[data-group]").count() == 1
            _shoot(page, "errors_feature.png")
            page.go_back()

            page.emulate_media(color_scheme="dark")
            page.wait_for_selector("#tk-groups")
            _shoot(page, "errors_dark.png")
            page.emulate_media(color_scheme="light")

            # "Last hour": two hour buckets, drawn as bars (a burst is not a ramp, F6).
            page.goto(f"{server.url}{reverse('admin:tracekit_errors')}?range=1h")
            trends = page.locator("#tk-groups svg.tk-spark").all()
            assert len(trends) == 3
            for trend in trends:
                assert trend.get_attribute("data-buckets") == "2"
                assert trend.locator("path.tk-spark-bars").count() == 1
                assert trend.locator("polyline, polygon").count() == 0
            _shoot(page, "errors_1h.png")
            page.go_back()

            narrow = context.new_page()  # the same login
            narrow.set_viewport_size({"width": 390, "height": 844})
            narrow.goto(page.url)
            narrow.wait_for_selector("#tk-groups")
            # Nothing wider than the screen: the table becomes cards.
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            _shoot(narrow, "errors_390.png")

            limited = browser.new_page(viewport={"width": 1440, "height": 900})
            limited.goto(f"{server.url}/admin/login/")
            limited.fill("#id_username", "counts")
            limited.fill("#id_password", "pw")
            limited.click("input[type=submit]")
            limited.goto(page.url)
            limited.wait_for_selector("#tk-groups")
            assert limited.locator("#tk-no-messages").is_visible()
            assert limited.get_by_text("order 7 not found").count() == 0
            _shoot(limited, "errors_counts_only.png")
        finally:
            browser.close()
