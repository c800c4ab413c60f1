"""The unused-code page at a real project's size: 700 functions in 75 modules open as 75
collapsed groups with their counts, under 100 KB; a group's rows come with its module's page
(``?module=``) when it is opened; the search narrows it. Then in a real browser
(Chromium): usable at once at 1440 px, 390 px and in dark mode (screenshots in
artifacts/screenshots/)."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.destinations.stats.store import record_instrumented
from tests.stats.test_admin import viewer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("tests.stats.urls")]

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
MODULES = 75
FUNCTIONS = 700
FIRST_VIEW_BYTES = 100_000
GROUP = re.compile(r'<details class="module tk-module" data-module="([^"]+)"'
                   r'(?: data-src="([^"]+)")?( open)?>')
COUNT = re.compile(r'data-count="(\d+)"')
ROW = re.compile(r'<tr data-function="([^"]+)">')


def _seed() -> dict[str, int]:
    """700 functions over 75 modules of uneven size (a few big ones, many small); {module:
    functions}."""
    functions: list[tuple[str, str]] = []
    sizes: dict[str, int] = {}
    for m in range(MODULES):
        sizes[f"bookshelf.{('catalog', 'imports', 'accounts', 'api')[m % 4]}.module_{m:02d}"] = 0
    names = sorted(sizes)
    for i in range(FUNCTIONS):
        # Skewed: module i*i % 75 gets more of them (the big modules of a real project).
        module = names[i if i < MODULES else (i * i + i // 3) % MODULES]
        sizes[module] += 1
        prefix = module.replace(".", "/")
        functions.append((f"{prefix}/Handler{i % 7}/handle_event_{i:03d}", module))
    record_instrumented("bookshelf-web", functions, now=int(time.time()))
    record_instrumented("bookshelf-worker", functions[::3], now=int(time.time()))
    assert all(sizes.values())
    return sizes


def test_the_first_view_is_small_grouped_and_collapsed() -> None:
    sizes = _seed()
    client = Client()
    client.force_login(viewer())
    url = reverse("admin:tracekit_unused")
    response = client.get(url, {"range": "24h"})
    assert response.status_code == 200
    page = response.content.decode()
    assert len(response.content) < FIRST_VIEW_BYTES, len(response.content)
    assert f'id="tk-unused-total">{FUNCTIONS}<' in page
    assert f'id="tk-unused-modules">{len(sizes)}<' in page
    groups = GROUP.findall(page)
    # Every module, collapsed, sorted, with its count; rows are loaded when one is opened.
    assert len(groups) == len(sizes) and not any(opened for _, _, opened in groups)
    assert [m for m, _, _ in groups] == sorted(sizes)
    assert [int(c) for c in COUNT.findall(page)] == [sizes[m] for m, _, _ in groups]
    assert not ROW.findall(page)

    # One module alone (what opening its group loads): all its functions, opened.
    listed: list[str] = []
    for module, src, _ in groups:
        assert html.unescape(src) == f"?range=24h&module={module}"
        alone = client.get(url, {"range": "24h", "module": module}).content.decode()
        assert [(m, o) for m, _, o in GROUP.findall(alone)] == [(module, " open")]
        listed += ROW.findall(alone)
    assert len(listed) == len(set(listed)) == FUNCTIONS
    # The search matches the module (dots) as well as the function name; few functions
    # found: their rows are in the page.
    found = client.get(url, {"range": "24h", "q": "module_07"}).content.decode()
    assert {m for m, _, _ in GROUP.findall(found)} == {m for m in sizes if "module_07" in m}
    assert len(ROW.findall(found)) == sum(n for m, n in sizes.items() if "module_07" in m)
    found = client.get(url, {"range": "24h", "q": "handle_event_042"}).content.decode()
    assert [f.rsplit("/", 1)[1] for f in ROW.findall(found)] == ["handle_event_042"]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    apps = ["django.contrib.staticfiles", *__import__("django.conf").conf.settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


@pytest.mark.service("chromium")
@pytest.mark.requires("playwright")
def test_in_a_real_browser_at_1440_and_390_px_and_dark(server: Any) -> None:
    from playwright.sync_api import sync_playwright

    sizes = _seed()
    viewer("viewer")
    SHOTS.mkdir(parents=True, exist_ok=True)
    url = f"{server.url}{reverse('admin:tracekit_unused')}?range=24h"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{server.url}/admin/login/")
            page.fill("#id_username", "viewer")
            page.fill("#id_password", "pw")
            page.click("input[type=submit]")
            page.goto(url)
            groups = page.locator("details.tk-module")
            assert groups.count() == len(sizes)
            page.screenshot(path=str(SHOTS / "unused_700.png"), full_page=True)
            # Opening a group loads and shows its functions.
            first = groups.first
            first.locator("summary").click()
            first.locator("tr[data-function]").first.wait_for()
            assert first.locator("tr[data-function]").count() == sizes[
                str(first.get_attribute("data-module"))]
            page.screenshot(path=str(SHOTS / "unused_700_open.png"), full_page=False)
            page.fill("#tk-q", "module_07")
            page.click("#tk-filter input[type=submit]")
            page.wait_for_url(re.compile(r"q=module_07"))
            assert {g.get_attribute("data-module") for g in
                    page.locator("details.tk-module").all()} == {
                m for m in sizes if "module_07" in m}
            page.emulate_media(color_scheme="dark")
            page.goto(url)
            page.locator("details.tk-module summary").first.click()
            page.locator("tr[data-function]").first.wait_for()
            page.screenshot(path=str(SHOTS / "unused_700_dark.png"), full_page=False)
            page.emulate_media(color_scheme="light")

            narrow = browser.new_page(viewport={"width": 390, "height": 844})
            narrow.context.add_cookies(page.context.cookies())
            narrow.goto(url)
            narrow.locator("details.tk-module summary").first.click()
            narrow.locator("tr[data-function]").first.wait_for()
            # Nothing wider than the screen: no sideways scrolling on a phone.
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, width
            narrow.screenshot(path=str(SHOTS / "unused_700_390.png"), full_page=False)
        finally:
            browser.close()
