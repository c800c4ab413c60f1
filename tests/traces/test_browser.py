"""The trace explorer in a real browser (Debian's Chromium via Playwright, a live server):
list -> filter errors -> open a trace -> expand a span -> the stack, search, collapse.
Screenshots are saved under artifacts/screenshots/ (the README's are copied from there)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import override_settings

from django_tracekit.stats.models import Feature
from django_tracekit.traces.models import TraceSpan
from tests.stats.test_browser import ARGS, SHOTS, XSS, _login
from tests.support.traces import (
    SpanSpec,
    make_trace,
    span_id,
    trace_id,
    web_and_worker,
    wide_trace,
)

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True)]

ERROR_TRACE = trace_id(0xE1)
HOSTILE_TRACE = trace_id(0xBAD)
BIG_TRACE = trace_id(0xB16)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[Any]:
    # Admin CSS/JS and tracekit's trace.js served by the live server (staticfiles).
    apps = ["django.contrib.staticfiles", *settings.INSTALLED_APPS]
    with override_settings(INSTALLED_APPS=apps, STATIC_URL="/static/"):
        yield request.getfixturevalue("live_server")


def _seed() -> None:
    now = int(time.time() * 1e6)
    web_and_worker(ERROR_TRACE, start_us=now - 90_000_000)
    for n in range(6):  # ok traces: requests of a few shapes, newest first on the page
        specs = [SpanSpec(("GET /cart/", "GET /orders/<int:pk>/", "POST /checkout/")[n % 3],
                          span_id(1), duration_ms=20 + n * 13, kind="server",
                          attributes={"http.response.status_code": 200}),
                 SpanSpec("shop/cart/views/show", span_id(2), span_id(1), 1, 15 + n * 10),
                 SpanSpec("SELECT shop_cart", span_id(3), span_id(2), 3, 4, kind="client")]
        make_trace(trace_id(0x100 + n), specs, start_us=now - n * 30_000_000,
                   user_id=str(n % 3 + 1), reasons="slow" if n % 2 else "sample")
    make_trace(HOSTILE_TRACE, [
        SpanSpec(XSS, span_id(1), duration_ms=5, kind="server",
                 attributes={"note": XSS, "img": '<img src=x onerror="alert(2)">'},
                 events=[{"name": XSS, "time_us": 10, "attributes": {"x": XSS}}])],
        start_us=now - 400_000_000)
    Feature.objects.create(name="shop/orders/views/detail", kind="function", service="shop-web")
    big, spans = wide_trace(BIG_TRACE, 2000, start_us=now - 600_000_000)
    big.save()
    for span in spans:
        span.trace = big
    TraceSpan.objects.bulk_create(spans)


def test_trace_explorer_in_a_real_browser(server: Any) -> None:
    from playwright.sync_api import expect, sync_playwright

    _seed()
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        codename__in=["view_trace", "view_feature"], content_type__app_label="django_tracekit"))
    User.objects.create_user("staffer", password="pw", is_staff=True)  # no permission
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # playwright's loop, our thread
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            _login(page, server.url, "viewer")
            page.goto(f"{server.url}/admin/")
            page.get_by_role("link", name="Traces", exact=True).first.click()
            page.wait_for_selector("#tk-traces")
            assert page.locator("#tk-traces tbody tr").count() == 9
            page.screenshot(path=str(SHOTS / "trace_list.png"), full_page=True)

            page.select_option("#tk-status", "error")
            page.click("#tk-trace-filter input[type=submit]")
            page.wait_for_url("**status=error**")
            rows = page.locator("#tk-traces tbody tr")
            assert rows.count() == 1 and rows.first.get_attribute("data-trace") == ERROR_TRACE
            page.screenshot(path=str(SHOTS / "trace_list_errors.png"), full_page=True)

            rows.first.get_by_role("link").first.click()
            page.wait_for_selector("#tk-waterfall")
            page.click("#toggle-nav-sidebar")  # the admin's sidebar: room for the waterfall
            page.wait_for_selector("#tk-trace-tools:not([hidden])")  # trace.js ran
            holder = page.locator(f"#span-{span_id(5)}")
            # The span holding the stack opens by itself, the stack preformatted inline.
            expect(holder.locator("pre.tk-stack")).to_be_visible()
            expect(holder.locator("pre.tk-stack")).to_contain_text("shop.mail.SmtpDown")
            page.screenshot(path=str(SHOTS / "trace_detail.png"), full_page=True)

            # Expand the task's span: its attributes, and a link to the stack.
            task = page.locator(f"#span-{span_id(4)}")
            expect(task.locator(".tk-attrs")).to_be_hidden()
            task.locator("summary").click()
            expect(task.locator(".tk-attrs")).to_be_visible()
            expect(task.locator(".tk-attrs")).to_contain_text("messaging.system")
            holder.locator("summary").click()  # close it, then jump to it from the reference
            expect(holder.locator("pre.tk-stack")).to_be_hidden()
            task.locator("a.tk-jump").click()
            expect(holder.locator("pre.tk-stack")).to_be_visible()
            assert "tk-target" in (holder.get_attribute("class") or "")

            # N+1 flag, and the feature link to the usage page.
            view = page.locator(f"#span-{span_id(2)}")
            view.locator("summary").click()
            expect(view.locator(".tk-event-n_plus_one")).to_contain_text("N+1 ×12")  # noqa: RUF001
            expect(view.locator("a.tk-feature-link")).to_be_visible()

            # Search within the trace: only matches and their ancestors stay.
            page.fill("#tk-span-search", "deliver")
            expect(page.locator("#tk-search-count")).to_have_text("1 / 8")
            visible = page.locator(".tk-span:visible")
            assert [visible.nth(i).get_attribute("id") for i in range(visible.count())] == [
                f"span-{span_id(n)}" for n in (1, 2, 3, 4, 5)]
            page.screenshot(path=str(SHOTS / "trace_search.png"), full_page=True)
            page.fill("#tk-span-search", "")
            expect(page.locator(".tk-span:visible")).to_have_count(8)

            # Collapse the view span's subtree (SQL spans and the worker part), expand it.
            view.locator(".tk-toggle").click()
            expect(page.locator(".tk-span:visible")).to_have_count(2)
            expect(view.locator(".tk-hidden-count")).to_have_text("+6")  # spans hidden
            expect(page.locator(f"#span-{span_id(5)}")).to_be_hidden()
            view.locator(".tk-toggle").click()
            expect(page.locator(".tk-span:visible")).to_have_count(8)
            page.click("#tk-collapse-all")
            expect(page.locator(".tk-span:visible")).to_have_count(2)  # the root and its child
            page.click("#tk-expand-all")
            expect(page.locator(".tk-span:visible")).to_have_count(8)

            page.emulate_media(color_scheme="dark")
            page.screenshot(path=str(SHOTS / "trace_detail_dark.png"), full_page=True)
            page.emulate_media(color_scheme="light")

            # Hostile values are text: no dialog, no element made from them.
            page.goto(f"{server.url}/admin/django_tracekit/trace/{HOSTILE_TRACE}/")
            span = page.locator(f"#span-{span_id(1)}")
            span.locator("summary").click()
            expect(span.locator(".tk-span-name")).to_have_text(XSS)
            expect(span.locator(".tk-attrs")).to_contain_text(XSS)
            assert page.locator("#tk-waterfall script, #tk-waterfall img").count() == 0
            assert dialogs == []

            # A 2,000-span trace: readable (collapse, search) and quick to filter.
            page.goto(f"{server.url}/admin/django_tracekit/trace/{BIG_TRACE}/")
            page.wait_for_selector("#tk-trace-tools:not([hidden])")
            expect(page.locator(".tk-span")).to_have_count(2000)
            page.screenshot(path=str(SHOTS / "trace_2000_spans.png"))
            page.fill("#tk-span-search", "Section7/render")
            matches = page.locator(".tk-span.tk-match")
            expect(page.locator("#tk-search-count")).to_have_text(f"{matches.count()} / 2000")
            assert 0 < matches.count() < page.locator(".tk-span:visible").count() < 2000
            page.fill("#tk-span-search", "")
            page.click("#tk-collapse-all")
            top = page.locator(".tk-span:visible").count()
            assert top == 1 + int(page.locator(".tk-span").first.get_attribute(
                "data-children") or 0)
            page.screenshot(path=str(SHOTS / "trace_2000_spans_collapsed.png"))

            # Without JavaScript: every span shown, each still expands, the stack is open.
            plain = browser.new_context(java_script_enabled=False).new_page()
            _login(plain, server.url, "viewer")
            plain.goto(f"{server.url}/admin/django_tracekit/trace/{ERROR_TRACE}/")
            expect(plain.locator(".tk-span:visible")).to_have_count(8)
            expect(plain.locator("#tk-trace-tools")).to_be_hidden()
            expect(plain.locator(f"#span-{span_id(5)} pre.tk-stack")).to_be_visible()
            plain.locator(f"#span-{span_id(4)} summary").click()
            expect(plain.locator(f"#span-{span_id(4)} .tk-attrs")).to_be_visible()
            plain.screenshot(path=str(SHOTS / "trace_detail_no_js.png"), full_page=True)

            refused = browser.new_page()
            _login(refused, server.url, "staffer")
            response = refused.goto(f"{server.url}/admin/django_tracekit/trace/")
            assert response is not None and response.status == 403
        finally:
            browser.close()
