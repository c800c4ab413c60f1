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

from django_tracekit.storage.trace_models import TraceSpan
from django_tracekit.storage.usage_models import Feature
from tests.stats.test_browser import ARGS, SHOTS, XSS, _login
from tests.support.traces import (
    SpanSpec,
    handled_trace,
    make_trace,
    span_id,
    trace_id,
    unsent_tasks_trace,
    upload_trace,
    web_and_worker,
    wide_trace,
)

pytestmark = [pytest.mark.service("chromium"), pytest.mark.requires("playwright"),
              pytest.mark.django_db(transaction=True)]

ERROR_TRACE = trace_id(0xE1)
HOSTILE_TRACE = trace_id(0xBAD)
BIG_TRACE = trace_id(0xB16)
UPLOAD_TRACE = trace_id(0x0B1)
HANDLED_TRACE = trace_id(0x4A7)
UNSENT_TRACE = trace_id(0x5E7)


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
                   user_id=str(n % 3 + 1),
                   reasons="slow" if n % 2 else "n_plus_one" if n == 4 else "sample")
    make_trace(HOSTILE_TRACE, [
        SpanSpec(XSS, span_id(1), duration_ms=5, kind="server",
                 attributes={"note": XSS, "img": '<img src=x onerror="alert(2)">'},
                 events=[{"name": XSS, "time_us": 10, "attributes": {"x": XSS}}])],
        start_us=now - 400_000_000)
    upload_trace(UPLOAD_TRACE, start_us=now - 200_000_000)
    handled_trace(HANDLED_TRACE, start_us=now - 300_000_000)
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
            assert page.locator("#tk-traces tbody tr").count() == 11
            page.screenshot(path=str(SHOTS / "trace_list.png"), full_page=True)

            # Kept for an N+1: the badge says so, with its tooltip, and the filter finds it.
            page.select_option("#tk-reason", "n_plus_one")
            page.click("#tk-trace-filter input[type=submit]")
            page.wait_for_url("**reason=n_plus_one**")
            rows = page.locator("#tk-traces tbody tr")
            assert rows.count() == 1 and rows.first.get_attribute("data-trace") == trace_id(
                0x104)
            badge = rows.first.locator('.tk-reason[data-reason="n_plus_one"]')
            expect(badge).to_have_text("N+1")
            assert "N+1 query" in (badge.get_attribute("title") or "")
            page.goto(f"{server.url}/admin/django_tracekit/trace/")

            page.select_option("#tk-status", "error")
            page.click("#tk-trace-filter input[type=submit]")
            page.wait_for_url("**status=error**")
            rows = page.locator("#tk-traces tbody tr")
            assert rows.count() == 2 and rows.first.get_attribute("data-trace") == ERROR_TRACE
            page.screenshot(path=str(SHOTS / "trace_list_errors.png"), full_page=True)

            rows.first.get_by_role("link").first.click()
            page.wait_for_selector("#tk-waterfall")
            page.click("#toggle-nav-sidebar")  # the admin's sidebar: room for the waterfall
            page.wait_for_selector("#tk-trace-tools:not([hidden])")  # trace.js ran
            holder = page.locator(f"#span-{span_id(5)}")
            # The span holding the stack opens by itself, the stack preformatted inline.
            expect(holder.locator(".tk-stack")).to_be_visible()
            expect(holder.locator(".tk-stack")).to_contain_text("shop.mail.SmtpDown")
            page.screenshot(path=str(SHOTS / "trace_detail.png"), full_page=True)

            # Expand the task's span: its attributes, and a link to the stack.
            task = page.locator(f"#span-{span_id(4)}")
            expect(task.locator(".tk-attrs")).to_be_hidden()
            task.locator("summary").click()
            expect(task.locator(".tk-attrs")).to_be_visible()
            expect(task.locator(".tk-attrs")).to_contain_text("messaging.system")
            holder.locator("summary").click()  # close it, then jump to it from the reference
            expect(holder.locator(".tk-stack")).to_be_hidden()
            task.locator("a.tk-jump").click()
            expect(holder.locator(".tk-stack")).to_be_visible()
            assert "tk-target" in (holder.get_attribute("class") or "")

            # N+1 flag, and the feature link to the usage page.
            view = page.locator(f"#span-{span_id(2)}")
            view.locator("summary").click()
            expect(view.locator(".tk-event-n_plus_one")).to_contain_text("N+1 ×12")  # noqa: RUF001
            expect(view.locator("a.tk-feature-link")).to_be_visible()

            # Search within the trace: only matches and their ancestors stay.
            page.fill("#tk-span-search", "deliver")
            # The span, and the task that carries its error ("Carries the error of …").
            expect(page.locator("#tk-search-count")).to_have_text("2 / 9")
            visible = page.locator(".tk-span:visible")
            assert [visible.nth(i).get_attribute("id") for i in range(visible.count())] == [
                f"span-{span_id(n)}" for n in (1, 2, 3, 4, 5)]
            page.screenshot(path=str(SHOTS / "trace_search.png"), full_page=True)
            page.fill("#tk-span-search", "")
            # The three identical SELECTs are one folded row: its members show when it opens.
            expect(page.locator(".tk-span:visible")).to_have_count(6)

            # Collapse the view span's subtree (SQL spans and the worker part), expand it.
            view.locator(".tk-toggle").click()
            expect(page.locator(".tk-span:visible")).to_have_count(2)
            expect(view.locator(".tk-hidden-count")).to_have_text("+7")  # spans hidden
            expect(page.locator(f"#span-{span_id(5)}")).to_be_hidden()
            expect(view.locator(".tk-below-error")).to_be_visible()  # an error is hidden below
            view.locator(".tk-toggle").click()
            expect(view.locator(".tk-below-error")).to_be_hidden()
            expect(page.locator(".tk-span:visible")).to_have_count(6)
            page.click("#tk-collapse-all")
            expect(page.locator(".tk-span:visible")).to_have_count(2)  # the root and its child
            page.click("#tk-expand-all")
            expect(page.locator(".tk-span:visible")).to_have_count(6)

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
            expect(plain.locator(".tk-span:visible")).to_have_count(6)
            expect(plain.locator("#tk-trace-tools")).to_be_hidden()
            expect(plain.locator(f"#span-{span_id(5)} .tk-stack")).to_be_visible()
            expect(plain.locator(".tk-copy").first).to_be_hidden()  # copy needs the script
            plain.locator(f"#span-{span_id(4)} summary").click()
            expect(plain.locator(f"#span-{span_id(4)} .tk-attrs")).to_be_visible()
            plain.screenshot(path=str(SHOTS / "trace_detail_no_js.png"), full_page=True)

            refused = browser.new_page()
            _login(refused, server.url, "staffer")
            response = refused.goto(f"{server.url}/admin/django_tracekit/trace/")
            assert response is not None and response.status == 403
        finally:
            browser.close()


STRICT_CSP = "default-src 'self'; img-src 'self' data:"


def _with_strict_csp(route: Any) -> None:
    response = route.fetch()
    route.fulfill(response=response,
                  headers={**response.headers, "content-security-policy": STRICT_CSP})


def _no_horizontal_overflow(page: Any) -> None:
    sizes = page.evaluate("() => [document.documentElement.scrollWidth,"
                          " document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], sizes


def _cut_names(page: Any) -> list[str]:
    """The visible span names not shown whole: text differing from the full name (the
    title), or wider than their box (clipped)."""
    return list(page.evaluate("""() => [...document.querySelectorAll('.tk-span-name')]
        .filter(el => el.offsetParent !== null)
        .filter(el => [...el.childNodes].filter(n => !(n.classList
                && n.classList.contains('tk-host'))).map(n => n.textContent).join('').trimEnd()
            !== el.title || el.scrollWidth > el.clientWidth + 1)
        .map(el => el.title)"""))


def test_n_plus_one_errors_and_a_retried_task_at_every_width(server: Any) -> None:
    """A request with an N+1, a Celery task retried once whose second attempt failed in the
    team's code: at 1440 px, at 390 px (no horizontal overflow) and in dark mode."""
    from playwright.sync_api import expect, sync_playwright

    now = int(time.time() * 1e6)
    upload_trace(UPLOAD_TRACE, start_us=now - 20_000_000)
    handled_trace(HANDLED_TRACE, start_us=now - 10_000_000)
    web_and_worker(ERROR_TRACE, start_us=now - 30_000_000)
    unsent_tasks_trace(UNSENT_TRACE, start_us=now - 40_000_000)
    User.objects.create_superuser("root", password="pw")
    SHOTS.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    detail = f"{server.url}/admin/django_tracekit/trace/{UPLOAD_TRACE}/"
    violations: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.grant_permissions(["clipboard-read", "clipboard-write"],
                                      origin=server.url)
            # Every page under a strict Content-Security-Policy (django-csp's default: no
            # inline script or style); nothing of the page may be refused.
            context.route("**/*", _with_strict_csp)
            page = context.new_page()
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            _login(page, server.url, "root")
            page.goto(f"{server.url}/admin/django_tracekit/trace/")
            statuses = page.locator("#tk-traces tbody tr .tk-outcome .tk-status")
            expect(statuses).to_have_text(["handled error", "failed after 1 retry", "failed",
                                           "ok"])
            # Slow traces are chosen when their window ends: the list says when.
            expect(page.locator("#tk-slow-note")).to_contain_text("the current one ends at")
            expect(page.locator(f'tr[data-trace="{UPLOAD_TRACE}"] .tk-n1')).to_have_text(
                "N+1 ×12")  # noqa: RUF001
            page.screenshot(path=str(SHOTS / "trace_list_1440.png"), full_page=True)

            response = page.goto(detail)
            assert response is not None
            assert response.headers.get("content-security-policy") == STRICT_CSP
            page.wait_for_selector("#tk-trace-tools:not([hidden])")
            expect(page.locator("#tk-outcome")).to_have_text("failed after 1 retry")
            expect(page.locator("#tk-error-count")).to_have_text("1")
            expect(page.locator("#tk-sql")).to_contain_text("13 queries, 3.68 ms")
            # The timeline takes at least 55 % of the row.
            widths = page.evaluate("""() => {
                const row = document.querySelector('.tk-span > details > summary');
                const track = row.querySelector('.tk-span-track');
                return [track.getBoundingClientRect().width, row.getBoundingClientRect().width];
            }""")
            assert widths[0] >= 0.55 * widths[1], widths
            # The twelve identical SELECTs: one row, opening to the twelve.
            fold = page.locator(f"#span-{span_id(10)}-x12")
            expect(fold.locator(".tk-fold-count")).to_have_text("×12")  # noqa: RUF001
            expect(page.locator(f"#span-{span_id(11)}")).to_be_hidden()
            fold.locator("summary").first.click()
            expect(page.locator(f"#span-{span_id(11)}")).to_be_visible()
            # The raising span holds the stack: library frames folded, the team's marked.
            holder = page.locator(f"#span-{span_id(43)}")
            expect(holder.locator(".tk-lib > summary").first).to_have_text("6 library frames")
            expect(holder.locator(".tk-frame-lib").first).to_be_hidden()
            expect(holder.locator(".tk-frame-team")).to_have_count(2)
            holder.locator(".tk-lib summary").first.click()
            expect(holder.locator(".tk-frame-lib").first).to_be_visible()
            # Copy buttons copy the original text.
            holder.locator("button[data-copy-stack]").click()
            copied = page.evaluate("() => navigator.clipboard.readText()")
            assert copied.startswith("Traceback (most recent call last):\n  File \"/srv/venv")
            page.locator("#tk-trace-id + .tk-copy").click()
            assert page.evaluate("() => navigator.clipboard.readText()") == UPLOAD_TRACE
            # The retried attempt: its badge and the queue wait before it.
            first = page.locator(f"#span-{span_id(40)}")
            expect(first.locator(".tk-badge-retry")).to_contain_text("retried: Retry in 1s")
            expect(first.locator(".tk-wait-text")).to_have_text("queued 60 ms")
            # The resize handle moves the split; the timeline keeps at least 55 %.
            handle = page.locator("#tk-resize")
            handle.focus()
            for _ in range(10):
                page.keyboard.press("ArrowRight")
            assert handle.get_attribute("aria-valuenow") == "45"
            page.keyboard.press("ArrowLeft")
            assert handle.get_attribute("aria-valuenow") == "43"
            # Every span name whole (wrapped when long), however deep and however many badges.
            assert page.locator(".tk-span-name").count() > 10
            assert _cut_names(page) == []
            page.screenshot(path=str(SHOTS / "trace_upload_1440.png"), full_page=True)
            page.emulate_media(color_scheme="dark")
            page.screenshot(path=str(SHOTS / "trace_upload_dark.png"), full_page=True)
            bar = page.evaluate("""() => getComputedStyle(
                document.querySelector('.tk-bar')).fill""")
            assert bar != "rgb(59, 130, 196)", bar  # lifted from the mid blue on dark
            page.goto(f"{server.url}/admin/django_tracekit/trace/")
            page.screenshot(path=str(SHOTS / "trace_list_dark.png"), full_page=True)
            assert violations == []

            phone = browser.new_context(viewport={"width": 390, "height": 844},
                                        device_scale_factor=2).new_page()
            _login(phone, server.url, "root")
            phone.goto(f"{server.url}/admin/django_tracekit/trace/")
            phone.wait_for_selector("#tk-traces")
            _no_horizontal_overflow(phone)
            phone.screenshot(path=str(SHOTS / "trace_list_390.png"), full_page=True)
            phone.goto(detail)
            phone.wait_for_selector("#tk-trace-tools:not([hidden])")
            _no_horizontal_overflow(phone)
            phone.locator(f"#span-{span_id(10)}-x12 summary").first.click()
            _no_horizontal_overflow(phone)
            assert _cut_names(phone) == []
            phone.screenshot(path=str(SHOTS / "trace_upload_390.png"), full_page=True)

            # An outgoing call reads "GET cdn.example"; publish spans whose task's run is
            # not in the store say so, and the page says why (trial 9).
            for view, width in ((page, "1440"), (phone, "390")):
                view.emulate_media(color_scheme="light")
                view.goto(f"{server.url}/admin/django_tracekit/trace/{HANDLED_TRACE}/")
                call = view.locator(f"#span-{span_id(3)} .tk-span-name")
                expect(call).to_have_text("GET cdn.example")
                expect(call.locator(".tk-host")).to_be_visible()
                assert _cut_names(view) == []
                view.screenshot(path=str(SHOTS / f"trace_outgoing_call_{width}.png"))
                view.goto(f"{server.url}/admin/django_tracekit/trace/{UNSENT_TRACE}/")
                expect(view.locator(".tk-unconsumed:visible")).to_have_count(2)
                expect(view.locator("#tk-unconsumed-note")).to_contain_text(
                    "had dropped its part before this trace was kept")
                _no_horizontal_overflow(view)
                assert _cut_names(view) == []
                view.screenshot(path=str(SHOTS / f"trace_unsent_tasks_{width}.png"),
                                full_page=True)
        finally:
            browser.close()
