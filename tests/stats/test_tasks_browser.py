"""A flaky task's feature page and the Tasks tab, and a request's SQL statements, in a real
browser (Chromium) at 1440 px, 390 px and in dark mode; screenshots in
artifacts/screenshots/ (task_feature*.png, tasks_tab.png, statements*.png)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.urls import reverse

from django_tracekit.destinations.stats import store
from django_tracekit.storage.usage_models import Feature
from tests.reports.test_statements import ROUTE
from tests.reports.test_statements import _seed as seed_traces

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
TASK = "shop/videos/tasks/transcode"


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    apps = ["django.contrib.staticfiles", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


def _seed() -> None:
    minute = int(time.time()) // 60
    store.write({
        (TASK, "task", "shop-worker", minute - 3):
            [300, 3, 300 * 40_000_000, 900_000_000, {60: 250, 70: 50}, 9, None, "", 14, 15, 12],
        ("shop/mail/tasks/send_receipt", "task", "shop-worker", minute - 2):
            [120, 0, 120 * 5_000_000, 20_000_000, {40: 120}, 0, None, "", 0, 0, 0],
        (ROUTE, "request", "shop-web", minute - 1):
            [40, 0, 40 * 30_000_000, 60_000_000, {55: 40}, 36, None, ""],
    })
    seed_traces(3)


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width


def test_task_and_statement_sections_in_a_real_browser(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    _seed()
    User.objects.create_superuser("root", password="pw")
    SHOTS.mkdir(parents=True, exist_ok=True)
    task_url = server.url + reverse("admin:tracekit_usage_feature",
                                    args=[Feature.objects.get(name=TASK).pk]) + "?range=1h"
    route_url = server.url + reverse("admin:tracekit_usage_feature",
                                     args=[Feature.objects.get(name=ROUTE).pk]) + "?range=1h"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{server.url}/admin/login/")
            page.fill("#id_username", "root")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            page.goto(f"{server.url}{reverse('admin:tracekit_usage')}?range=1h&kind=task")
            cell = page.locator(f'tr[data-feature="{TASK}"] td[data-retries]')
            assert cell.inner_text().startswith("14") and "flaky" in cell.inner_text()
            page.screenshot(path=str(SHOTS / "tasks_tab.png"), full_page=True)
            page.goto(task_url)
            assert page.locator("#tk-retries").inner_text() == "14"
            assert page.locator("#tk-failed-attempts").inner_text() == "15"
            assert "12 of 300 tasks passed only after a retry; 3 failed in the end" in page.locator(
                "#tk-task-outcomes").inner_text()
            assert page.locator("#tk-statements").count() == 0  # no trace of it was kept
            # A task's N+1 count is per task run, not per request (trial 9, F3b).
            card = page.locator("#tk-n-plus-one").locator("xpath=..").inner_text()
            assert "statement × task run" in card and "request" not in card  # noqa: RUF001
            page.screenshot(path=str(SHOTS / "task_feature.png"), full_page=True)
            page.emulate_media(color_scheme="dark")
            page.screenshot(path=str(SHOTS / "task_feature_dark.png"), full_page=False)
            page.goto(route_url)
            page.locator("#tk-statements").scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "statements_dark.png"), full_page=False)
            page.emulate_media(color_scheme="light")
            page.screenshot(path=str(SHOTS / "statements.png"), full_page=True)
            rows = page.locator("#tk-statements tbody tr")
            assert rows.count() == 2
            assert rows.first.get_attribute("data-statement-location") == (
                "shop/videos/services/channel_names")
            badge = rows.first.locator(".tk-n1")
            assert badge.inner_text() == "N+1 ×12"  # noqa: RUF001
            assert rows.nth(1).locator(".tk-n1").count() == 0

            narrow = browser.new_page(viewport={"width": 390, "height": 844})
            narrow.context.add_cookies(page.context.cookies())
            narrow.goto(task_url)
            _no_sideways_scroll(narrow)
            narrow.locator("#tk-task-outcomes").scroll_into_view_if_needed()
            narrow.screenshot(path=str(SHOTS / "task_feature_390.png"), full_page=False)
            narrow.goto(route_url)
            narrow.locator("#tk-statements").scroll_into_view_if_needed()
            narrow.screenshot(path=str(SHOTS / "statements_390.png"), full_page=False)
            _no_sideways_scroll(narrow)
            # Each statement is a card: its numbers (Total, Count, Per trace, Average) are on
            # the screen, labelled, not cut at its edge or behind a sideways scroll (F10).
            for row in narrow.locator("#tk-statements tbody tr").all():
                for cell in row.locator("td.tk-num").all():
                    box = cell.bounding_box()
                    assert box is not None and box["width"] > 0
                    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
                    assert cell.evaluate("c => c.scrollWidth <= c.clientWidth + 1")
                total = row.locator("td.tk-stmt-total")
                label = total.evaluate("c => getComputedStyle(c, '::before').content")
                assert label == '"Total"', label
            # The badge stays inside its cell at 390 px (no overflow over the next column).
            cell = narrow.locator("#tk-statements tbody tr").first.locator("td").first
            box, inner = cell.bounding_box(), cell.locator(".tk-n1").bounding_box()
            assert box is not None and inner is not None
            assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box[
                "width"]
        finally:
            browser.close()
