"""The trace explorer's pages through Django's test client on SQLite: permissions, the
list's filters and pagination, the waterfall's server-rendered HTML (parsed), 404s,
escaping, the capped-trace note, links to and from other pages."""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import formats

from django_tracekit.core.fingerprint import Group
from django_tracekit.destinations.stats import groups_store, store
from django_tracekit.destinations.stats.groups import Example, GroupBatch, Occurrence
from django_tracekit.pages.traces.views import PER_PAGE, local_time
from django_tracekit.storage.trace_models import Trace
from django_tracekit.storage.usage_models import Feature
from tests.support.traces import (
    SIX_TRACES_FILTERED,
    SpanSpec,
    handled_trace,
    make_trace,
    six_traces,
    span_id,
    trace_id,
    unsent_tasks_trace,
    upload_trace,
    web_and_worker,
)

pytestmark = pytest.mark.django_db
NOW = int(time.time() * 1e6)
LIST = "admin:tracekit_traces"
XSS = "<script>alert(1)</script>"


def user(name: str, *codenames: str, staff: bool = True) -> User:
    account = User.objects.create_user(name, is_staff=staff)  # force_login: no hashing
    account.user_permissions.add(*Permission.objects.filter(
        codename__in=codenames, content_type__app_label="django_tracekit"))
    return account


def client_for(account: User | None = None) -> Client:
    client = Client(raise_request_exception=False)
    if account is not None:
        client.force_login(account)
    return client


def viewer() -> Client:
    return client_for(user("viewer", "view_trace", "view_feature"))


class Page(HTMLParser):
    """The waterfall's rows and the list's rows, as the server rendered them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.spans: list[dict[str, str]] = []
        self.traces: list[dict[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if tag == "div" and "tk-span" in found.get("class", "").split():
            self.spans.append(found)
        elif tag == "tr" and "data-trace" in found:
            self.traces.append(found)
        elif tag == "rect" and "tk-bar" in found.get("class", "").split() and self.spans:
            self.spans[-1]["bar"] = f"{found['x']} {found['width']}"


def list_ids(client: Client, **params: Any) -> list[str]:
    response = client.get(reverse(LIST), params)
    assert response.status_code == 200, response.status_code
    return [row["data-trace"] for row in Page(response.content.decode()).traces]


def row_html(text: str, sid: str) -> str:
    """The markup of one span's row (up to the next row)."""
    start = text.index(f'id="span-{sid}"')
    end = text.find('role="treeitem"', start + 40)
    return text[start:end if end != -1 else len(text)]


def trace_page(client: Client, tid: str) -> str:
    response = client.get(reverse("admin:tracekit_trace", args=[tid]))
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# -- permissions -------------------------------------------------------------------------
def test_only_staff_with_view_trace_see_the_pages() -> None:
    web_and_worker(trace_id(1))
    urls = [reverse(LIST), reverse("admin:tracekit_trace", args=[trace_id(1)])]
    for url in urls:
        anonymous = client_for().get(url)
        assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
    # Staff with no permission, or only the usage pages' one: refused.
    for account in (user("staffer"), user("usage", "view_feature")):
        for url in urls:
            assert client_for(account).get(url).status_code == 403
    # Not staff, even holding the permission: the admin login.
    outsider = client_for(user("outsider", "view_trace", staff=False)).get(urls[0])
    assert outsider.status_code == 302
    for account in (user("viewer", "view_trace"),
                    User.objects.create_superuser("root")):
        for url in urls:
            assert client_for(account).get(url).status_code == 200


def test_the_admin_index_opens_the_list_for_viewers_only() -> None:
    index = client_for(user("viewer", "view_trace")).get(reverse("admin:index")).content
    assert reverse("admin:django_tracekit_trace_changelist").encode() in index
    assert reverse(LIST) == reverse("admin:django_tracekit_trace_changelist")
    hidden = client_for(user("usage", "view_feature")).get(reverse("admin:index")).content
    assert reverse(LIST).encode() not in hidden


def test_the_admin_change_url_leads_to_the_waterfall() -> None:
    trace = web_and_worker(trace_id(1))
    client = viewer()
    response = client.get(reverse("admin:django_tracekit_trace_change", args=[trace.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracekit_trace", args=[trace.trace_id])
    for odd in ("999999", "x", "9" * 40):
        assert client.get(f"/admin/django_tracekit/trace/{odd}/change/").status_code == 404


# -- the list ------------------------------------------------------------------------------
def _mixed() -> None:
    six_traces(NOW)


def test_newest_first_with_the_summary_columns() -> None:
    _mixed()
    client = viewer()
    assert list_ids(client) == [trace_id(n) for n in (6, 5, 4, 3, 2, 1)]
    text = client.get(reverse(LIST)).content.decode()
    row = text[text.index(f'data-trace="{trace_id(1)}"'):]
    row = row[:row.index("</tr>")]
    # What failed: the earliest error span's status message.
    assert '<div class="tk-err tk-small tk-first-error">SmtpDown: relay refused</div>' in row
    for expected in ("GET /orders/&lt;int:pk&gt;/", "shop-web", "shop-worker", "480 ms",
                     ">8<", ">failed<", ">error<", ">7<", "N+1 ×12",  # noqa: RUF001
                     'data-incidents="1"',  # the task's error passed through 2 spans: once
                     reverse("admin:tracekit_trace", args=[trace_id(1)])):
        assert expected in row, expected
    assert "6 kept traces" in text


def test_each_filter_selects_its_traces() -> None:
    _mixed()
    client = viewer()

    def ids(**params: Any) -> set[int]:
        found = list_ids(client, **params)
        return {n for n in range(1, 7) if trace_id(n) in found}

    for params, expected in SIX_TRACES_FILTERED:
        assert ids(**params) == expected, params
    # A custom range: from six hours ago (the current time zone) to now.
    with override_settings(TIME_ZONE="UTC"):
        local = time.strftime("%Y-%m-%dT%H:%M", time.gmtime((NOW - 6 * 3600 * 10**6) / 1e6))
        assert ids(range="custom", **{"from": local}) == {2, 3, 4, 5, 6}


def test_the_unmatched_feature_finds_the_requests_no_route_matched() -> None:
    # The usage pages name a 404's feature "GET (unmatched)"; its span is named "GET".
    make_trace(trace_id(1), [SpanSpec("GET", span_id(1), kind="server",
                                      attributes={"http.request.method": "GET"})])
    make_trace(trace_id(2), [SpanSpec("GET /orders/", span_id(2), kind="server")])
    assert list_ids(viewer(), feature="GET (unmatched)") == [trace_id(1)]


def test_an_exact_trace_id_opens_the_trace() -> None:
    _mixed()
    client = viewer()
    target = reverse("admin:tracekit_trace", args=[trace_id(3)])
    for spelling in (trace_id(3), trace_id(3).upper(), f"  {trace_id(3)} "):
        response = client.get(reverse(LIST), {"trace_id": spelling})
        assert response.status_code == 302 and response["Location"] == target
    unknown = client.get(reverse(LIST), {"trace_id": "f" * 32})
    assert unknown.status_code == 200
    assert "No kept trace has the id" in unknown.content.decode()
    assert Page(unknown.content.decode()).traces == []
    malformed = client.get(reverse(LIST), {"trace_id": "xyz"}).content.decode()
    assert "A trace id is 32 hexadecimal digits." in malformed
    assert len(Page(malformed).traces) == 6  # ignored: the rest of the page is there


def test_odd_filter_values_are_named_and_dropped() -> None:
    _mixed()
    client = viewer()

    def text(**params: str) -> str:
        response = client.get(reverse(LIST), params)
        assert response.status_code == 200
        return html.unescape(response.content.decode())

    assert "Enter the minimum duration as a number of milliseconds." in text(min_ms="fast")
    assert "Enter the minimum duration" in text(min_ms="-1")
    assert "Enter the minimum duration" in text(min_ms="nan")
    assert "Unknown status" in text(status="broken")
    assert "The feature contains characters that are not allowed" in text(feature="a\x00b")
    page = text(range="custom", **{"from": "not a date"})
    assert "Enter a valid start date and time." in page
    assert len(Page(page).traces) == 5  # fell back to the last 24 hours


def test_pages_of_fifty() -> None:
    Trace.objects.bulk_create([
        Trace(trace_id=trace_id(n), start_us=NOW - n * 10**6, end_us=NOW - n * 10**6 + 5,
              root_name=f"GET /{n}/", services="web", span_count=1, reasons="sample")
        for n in range(PER_PAGE + 7)])
    client = viewer()
    first, second = list_ids(client), list_ids(client, page="2")
    assert first == [trace_id(n) for n in range(PER_PAGE)]
    assert second == [trace_id(n) for n in range(PER_PAGE, PER_PAGE + 7)]
    assert list_ids(client, page="999") == second  # past the end: the last page
    filtered = client.get(reverse(LIST), {"status": "ok", "page": "2"}).content.decode()
    assert "?status=ok&amp;page=1" in filtered  # the links keep the filters


# -- the waterfall -------------------------------------------------------------------------
def test_spans_nested_by_parent_in_start_order_with_bars_to_scale() -> None:
    web_and_worker(trace_id(1))
    rows = Page(trace_page(viewer(), trace_id(1))).spans
    order = [(r["id"].removeprefix("span-"), int(r["data-depth"])) for r in rows]
    # The three identical SELECTs are folded into one row (named after the first) that
    # holds them.
    assert order == [(span_id(1), 0), (span_id(2), 1), (f"{span_id(10)}-x3", 2),
                     (span_id(10), 3), (span_id(11), 3), (span_id(12), 3), (span_id(3), 2),
                     (span_id(4), 3), (span_id(5), 4)]
    # Parents by row index; the trace lasts 480 ms (0 .. 180 + 300).
    assert [r["data-parent"] for r in rows] == ["", "0", "1", "2", "2", "2", "1", "6", "7"]
    bars = {r["id"]: r["bar"] for r in rows}
    assert bars[f"span-{span_id(1)}"] == "0.000% 25.000%"  # 0 ms, 120 ms
    assert bars[f"span-{span_id(4)}"] == "37.500% 62.500%"  # 180 ms, 300 ms
    assert bars[f"span-{span_id(5)}"] == "41.667% 52.083%"  # 200 ms, 250 ms


def test_the_waterfall_needs_no_inline_styles() -> None:
    # A Content-Security-Policy without 'unsafe-inline' styles (django-csp's default, as on
    # bookwyrm) drops style attributes: bars and ticks must not depend on them.
    web_and_worker(trace_id(1))
    page = trace_page(viewer(), trace_id(1))
    content = page[page.index('class="tk-waterfall'):]
    assert "style=" not in content


def test_the_stack_is_inline_on_its_span_and_referenced_above() -> None:
    web_and_worker(trace_id(1))
    text = trace_page(viewer(), trace_id(1))
    holder = row_html(text, span_id(5))
    assert "<details open>" in holder  # the first stack is open without JavaScript
    assert re.search(r'<div class="tk-stack"><span class="tk-line">Traceback \(most recent '
                     r'call last\):</span><span class="tk-frame tk-frame-team">  File '
                     r'&quot;shop/orders/services.py&quot;, line 40', holder)
    assert "shop.mail.SmtpDown</strong>: relay refused" in holder
    # The original text, for the copy button.
    assert ('<template class="tk-raw-stack">Traceback (most recent call last):\n  File '
            '&quot;shop/orders/services.py&quot;, line 40, in run\n') in holder
    # A log record: severity, message, where it was logged (not a list of attributes).
    assert re.search(r'<span class="tk-severity tk-severity-info">INFO</span> <span '
                     r'class="tk-log-message">connecting to relay</span> <span '
                     r'class="tk-log-source">shop.mail · services.py:31 in deliver</span>',
                     holder)
    assert "thread.name" in holder and "log.severity_number" not in holder
    task = row_html(text, span_id(4))
    assert f'href="#span-{span_id(5)}" class="tk-mono tk-jump"' in task
    assert "<pre" not in task  # a reference, not a copy
    view = row_html(text, span_id(2))
    assert "N+1 ×12" in view  # noqa: RUF001 (the page says "times")
    assert '<pre class="tk-query">SELECT * FROM item WHERE id = %s</pre>' in view


def test_feature_links_for_users_who_may_open_the_usage_pages() -> None:
    web_and_worker(trace_id(1))
    feature = Feature.objects.create(name="shop/orders/views/detail", kind="function",
                                     service="shop-web")
    Feature.objects.create(name="GET /orders/<int:pk>/", kind="request", service="elsewhere")
    url = reverse("admin:tracekit_usage_feature", args=[feature.pk])
    text = trace_page(viewer(), trace_id(1))
    assert text.count('class="tk-feature-link"') == 1  # same name, other service: no link
    assert f'href="{url}" class="tk-feature-link"' in text
    assert "tk-feature-link" not in trace_page(client_for(user("t", "view_trace")), trace_id(1))
    # Every span links to the list of kept traces in which a span of its name ran.
    assert f'href="{reverse(LIST)}?feature=GET%20/orders/%3Cint%3Apk%3E/"' in text


def test_orphans_at_the_top_level_and_cycles_shown() -> None:
    make_trace(trace_id(1), [
        SpanSpec("root", span_id(1), duration_ms=10),
        SpanSpec("worker part", span_id(2), parent=span_id(99), start_ms=20, duration_ms=10),
        SpanSpec("child of the orphan", span_id(3), parent=span_id(2), start_ms=21),
        SpanSpec("loop a", span_id(4), parent=span_id(5), start_ms=30),
        SpanSpec("loop b", span_id(5), parent=span_id(4), start_ms=31),
    ])
    text = trace_page(viewer(), trace_id(1))
    rows = Page(text).spans
    assert [(r["data-name"], r["data-depth"]) for r in rows] == [
        ("root", "0"), ("worker part", "0"), ("child of the orphan", "1"),
        ("loop a", "0"), ("loop b", "1")]
    worker = row_html(text, span_id(2))
    assert "parent not kept" in worker
    assert "parents are not in the store" in text


def test_a_capped_trace_says_how_many_spans_were_not_kept() -> None:
    make_trace(trace_id(1), [SpanSpec("root", span_id(1))], dropped_spans=90_000)
    make_trace(trace_id(2), [SpanSpec("root", span_id(1))])
    client = viewer()
    assert "90,000 spans were not kept" in html.unescape(trace_page(client, trace_id(1)))
    assert "were not kept" not in trace_page(client, trace_id(2))


def test_a_trace_without_spans_says_so() -> None:
    make_trace(trace_id(1), [], dropped_spans=3)
    text = html.unescape(trace_page(viewer(), trace_id(1)))
    assert 'id="tk-no-spans"' in text and "3 spans were not kept" in text
    assert Page(text).spans == []


def test_every_value_is_escaped() -> None:
    make_trace(trace_id(1), [SpanSpec(XSS, span_id(1), service=XSS, kind=XSS,
                                      status_message=XSS, is_error=True,
                                      attributes={XSS: XSS, "n": [XSS]},
                                      events=[{"name": XSS, "attributes": {XSS: XSS}},
                                              {"name": "exception", "attributes": {
                                                  "exception.type": XSS,
                                                  "exception.stacktrace": XSS}}])],
               user_id=XSS, reasons="error")
    # Ids and counts too (a tampered database): 16 characters fit the id columns.
    make_trace(trace_id(2), [
        SpanSpec("a", '"><img src=x>', parent='"><img src=y>', is_error=True,
                 attributes={"tracekit.error.span_id": '"><img src=z>'},
                 events=[{"name": "tracekit.n_plus_one", "attributes": {
                     "tracekit.n_plus_one.count": "<img src=c>", "db.query.text": XSS}}]),
        SpanSpec("b", '"><img src=z>', events=[
            {"name": "exception", "attributes": {"exception.stacktrace": "<img src=s>"}}])])
    client = viewer()
    pages = [trace_page(client, trace_id(1)), trace_page(client, trace_id(2)),
             client.get(reverse(LIST)).content.decode()]
    for text in pages:
        assert "<script>" not in text.replace('<script src="', "")
        assert "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
    assert 'id="span-&quot;&gt;&lt;img src=x&gt;"' in pages[1]
    assert "N+1 ×&lt;img src=c&gt;" in pages[1]  # noqa: RUF001


def test_unparsable_attributes_and_events_show_their_text() -> None:
    trace = make_trace(trace_id(1), [SpanSpec("root", span_id(1))])
    trace.spans.update(attributes="{not json", events='{"a": 1}')
    text = trace_page(viewer(), trace_id(1))
    assert '<pre class="tk-raw">{not json</pre>' in text
    assert '<pre class="tk-raw">{&quot;a&quot;: 1}</pre>' in text


def test_unknown_and_malformed_trace_ids_are_404s_that_say_why() -> None:
    client = viewer()
    unknown = client.get(reverse("admin:tracekit_trace", args=["a" * 32]))
    assert unknown.status_code == 404
    assert "is not in the store" in unknown.content.decode()
    for odd in ("a" * 31, "g" * 32, "a" * 33, "%00", "x" * 5000, "-1", "..", "%F0%9F%92%A9"):
        response = client.get(f"/admin/django_tracekit/trace/{odd}/")
        assert response.status_code == 404, odd
        assert "is not a trace id" in response.content.decode() or odd == ".."
    # Another spelling of a kept id: its canonical URL.
    web_and_worker(trace_id(1))
    response = client.get(f"/admin/django_tracekit/trace/{trace_id(1).upper()}/")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:tracekit_trace", args=[trace_id(1)])


@override_settings(TRACEKIT={"EXPORTER": "tests.support.memory.processor",
                             "STATS": {"ENABLED": False},
                             "TRACE_URL": "https://jaeger.example/trace/{trace_id}"})
def test_trace_url_is_offered_next_to_the_local_page() -> None:
    web_and_worker(trace_id(1))
    client = viewer()
    assert f'href="https://jaeger.example/trace/{trace_id(1)}"' in trace_page(client,
                                                                           trace_id(1))
    missing = client.get(reverse("admin:tracekit_trace", args=["b" * 32])).content.decode()
    assert f'href="https://jaeger.example/trace/{"b" * 32}"' in missing


# -- links from the usage pages ------------------------------------------------------------
def _errors() -> Feature:
    """One error group of GET /fail/ with two examples: traces 1 (newest) and 2."""
    store.clear_cache()
    minute = int(time.time()) // 60
    store.write({("GET /fail/", "request", "web", minute): [2, 2, 2 * 10**6, 10**6, {40: 2}]})
    group = Group("5" * 16, "shop.Boom", "shop/views/fail", "shop/views.py", 3)
    stack = "Traceback (most recent call last):\nshop.Boom: boom"
    batch = GroupBatch(groups={group.fingerprint: group})
    batch.counts = {(group.fingerprint, "GET /fail/", "request", "web", minute): 2}
    batch.examples = [Example(group.fingerprint, "GET /fail/", "request", "web",
                              Occurrence(group, time.time_ns() - n * 10**9, "boom", stack,
                                         trace_id(n), span_id(1)))
                      for n in (1, 2)]
    groups_store.write(batch)
    return Feature.objects.get(name="GET /fail/")


def test_feature_page_errors_link_to_their_latest_kept_trace() -> None:
    feature = _errors()
    web_and_worker(trace_id(2))  # the older example's trace was kept, the newest was not
    url = reverse("admin:tracekit_usage_feature", args=[feature.pk])
    text = viewer().get(url).content.decode()
    assert f'<a href="{reverse("admin:tracekit_trace", args=[trace_id(2)])}"' in text
    assert reverse("admin:tracekit_trace", args=[trace_id(1)]) not in text
    # Without view_trace the page does not offer a link that would be refused.
    text = client_for(user("usage", "view_feature")).get(url).content.decode()
    assert "/admin/django_tracekit/trace/" not in text


@override_settings(TRACEKIT={"EXPORTER": "tests.support.memory.processor",
                             "STATS": {"ENABLED": False},
                             "TRACE_URL": "https://jaeger.example/trace/{trace_id}"})
def test_feature_page_errors_offer_both_links_with_trace_url() -> None:
    feature = _errors()
    web_and_worker(trace_id(1))
    text = viewer().get(reverse("admin:tracekit_usage_feature", args=[feature.pk])).content
    page = text.decode()
    assert reverse("admin:tracekit_trace", args=[trace_id(1)]) in page
    # The backend link is the newest example's trace, the one "latest" names.
    assert f"https://jaeger.example/trace/{trace_id(1)}" in page
    assert f"https://jaeger.example/trace/{trace_id(2)}" not in page
    # One errors section: the grouped one.
    assert page.count('id="tk-error-groups"') == 1
    assert "tk-recent-errors" not in page


@override_settings(TRACEKIT={"EXPORTER": "tests.support.memory.processor",
                             "STATS": {"ENABLED": False}, "TRACES": {"ENABLED": False}})
def test_the_list_says_when_the_store_is_off() -> None:
    web_and_worker(trace_id(1))
    text = viewer().get(reverse(LIST)).content.decode()
    assert 'id="tk-store-off"' in text
    assert len(Page(text).traces) == 1  # what was kept before is still there


def test_the_list_says_nothing_when_the_store_is_on() -> None:
    assert 'id="tk-store-off"' not in viewer().get(reverse(LIST)).content.decode()


# -- outcome, incidents, N+1, retries, stacks ----------------------------------------------
def test_the_list_tells_failed_from_handled_and_counts_incidents() -> None:
    upload_trace(trace_id(1), start_us=NOW - 3_000_000)
    upload_trace(trace_id(2), start_us=NOW - 2_000_000, recovered=True)
    handled_trace(trace_id(3), start_us=NOW - 1_000_000)
    client = viewer()
    text = client.get(reverse(LIST)).content.decode()
    rows = {r["data-trace"]: r for r in Page(text).traces}
    assert [(rows[trace_id(n)]["data-status"], rows[trace_id(n)]["data-incidents"])
            for n in (1, 2, 3)] == [("failed", "1"), ("recovered", "0"), ("handled", "1")]
    for n, label in ((1, "failed after 1 retry"), (2, "recovered after 1 retry"),
                     (3, "handled error")):
        row = text[text.index(f'data-trace="{trace_id(n)}"'):]
        row = row[:row.index("</tr>")]
        assert f">{label}</span>" in row, (n, label)
        assert ("N+1 ×12" in row) == (n != 3)  # noqa: RUF001
    assert list_ids(client, status="error") == [trace_id(1)]
    assert list_ids(client, status="handled") == [trace_id(3)]
    assert list_ids(client, status="ok") == [trace_id(2)]


def test_dates_in_the_admin_format_and_empty_lists_that_say_why() -> None:
    client = viewer()
    empty = client.get(reverse(LIST)).content.decode()
    assert 'id="tk-none-kept"' in empty and 'id="tk-no-match"' not in empty
    web_and_worker(trace_id(1), start_us=NOW)
    for params in ({"status": "ok"}, {"trace_id": "f" * 32}, {"page": "1", "user": "x"}):
        text = client.get(reverse(LIST), params).content.decode()
        assert 'id="tk-no-match"' in text and 'id="tk-none-kept"' not in text, params
    shown = formats.date_format(local_time(NOW), "DATETIME_FORMAT")
    assert f'<td class="tk-time">{shown}</td>' in client.get(reverse(LIST)).content.decode()
    assert shown in trace_page(client, trace_id(1))


def test_the_header_counts_incidents_sql_and_says_what_happened() -> None:
    upload_trace(trace_id(1))
    client = viewer()
    text = trace_page(client, trace_id(1))
    assert re.search(r'id="tk-outcome">failed after 1 retry<', text)
    assert re.search(r'id="tk-error-count">1<', text)  # raised once, carried by the task
    assert "1 enclosing span carries it" in text
    assert re.search(r'id="tk-sql">13 queries, 3.68 ms <span class="tk-badge tk-badge-warn '
                     r'tk-n1" title="One statement ran 12 times under one span[^"]*">'
                     r'N\+1 ×12</span>', text)  # noqa: RUF001
    task = row_html(text, span_id(42))
    assert "tk-status-carry" in task and "Carries the error of" in task
    assert (f'<a href="#span-{span_id(43)}" class="tk-mono tk-jump">'
            "shop/videos/services/encode</a>") in task
    first = row_html(text, span_id(40))
    assert "retried: Retry in 1s: ConnectionError(&#x27;storage busy&#x27;)" in first
    assert "queued 60 ms" in first and 'class="tk-wait' in first
    assert "attempt 2" in task
    view = row_html(text, span_id(2))
    assert "N+1 ×12</span>" in view  # noqa: RUF001
    fold = row_html(text, f"{span_id(10)}-x12")
    assert 'tk-fold-count">×12</span>' in fold and fold.count('class="tk-bar ') == 12  # noqa: RUF001
    holder = row_html(text, span_id(43))
    assert "<summary>6 library frames</summary>" in holder
    for copy in (f'data-copy="{trace_id(1)}"', f'data-copy="{span_id(43)}"', "data-copy-stack"):
        assert copy in text, copy
    content = text[text.index('class="tk-summary'):]
    assert "style=" not in content and "<script>" not in content  # a strict CSP keeps it all
    handled_trace(trace_id(2))
    handled = trace_page(client, trace_id(2))
    assert re.search(r'id="tk-outcome">handled error<', handled)


# -- trial 9: what a kept trace lacks, slow traces' timing, N+1 counts, outgoing calls ----
def test_a_publish_span_without_its_task_run_says_the_task_is_not_in_the_store() -> None:
    unsent_tasks_trace(trace_id(1))
    web_and_worker(trace_id(2))  # its task's run is in the store, under its publish span
    client = viewer()
    text = html.unescape(trace_page(client, trace_id(1)))
    for sid in (span_id(2), span_id(3)):
        assert "task not in the store" in row_html(text, sid)
    assert "task not in the store" not in row_html(text, span_id(1))
    note = text[text.index('id="tk-unconsumed-note"'):]
    note = note[:note.index("</p>")]
    assert "2 publish spans sent tasks whose runs are not in the store" in note
    assert "had dropped its part before this trace was kept" in note
    assert "not run tracekit" in note
    whole = html.unescape(trace_page(client, trace_id(2)))
    assert "tk-unconsumed" not in whole and "task not in the store" not in whole


def test_the_list_says_when_slow_traces_appear() -> None:
    from django_tracekit.destinations.traces import keep
    from django_tracekit.pages.traces import views

    assert views.SLOW_WINDOW_S * 1_000_000_000 == keep.WINDOW_NS
    client = viewer()
    before = views.slow_window_end()
    text = html.unescape(client.get(reverse(LIST), {"reason": "slow"}).content.decode())
    after = views.slow_window_end()  # the same, unless a window ended meanwhile
    assert 'id="tk-none-kept"' in text  # nothing kept yet: the note says why and when
    note = text[text.index('<p class="tk-quiet tk-slow-wanted" id="tk-slow-note">'):]
    note = note[:note.index("</p>")]
    assert any(formats.time_format(end, "TIME_FORMAT") in note for end in (before, after))
    assert "kept when the window ends" in note
    assert 0 < before.timestamp() - time.time() <= 600 and before.timestamp() % 600 == 0
    assert views.slow_window_end(1_200.0).timestamp() == 1_800  # a window's first second
    assert views.slow_window_end(1_799.9).timestamp() == 1_800
    # Without the slow filter the note is there too, without the emphasis.
    plain = client.get(reverse(LIST)).content.decode()
    assert 'id="tk-slow-note"' in plain and "tk-slow-wanted" not in plain


def test_n_plus_one_badges_say_one_statement_ran_n_times() -> None:
    web_and_worker(trace_id(1))
    client = viewer()
    text = html.unescape(trace_page(client, trace_id(1)))
    row = row_html(text, span_id(2))
    assert 'title="One statement ran 12 times under this span' in row
    assert "one statement ran 12 times under this span" in row  # the event, expanded
    header = text[text.index('id="tk-sql"'):]
    assert "One statement ran 12 times under one span: the most of this trace" in header[:600]
    listed = html.unescape(client.get(reverse(LIST)).content.decode())
    assert "One statement ran 12 times under one span" in listed


def test_an_outgoing_http_call_shows_its_host_beside_its_name() -> None:
    make_trace(trace_id(1), [
        SpanSpec("GET /software/features", span_id(1), duration_ms=50, kind="server"),
        SpanSpec("GET", span_id(2), span_id(1), 5, 40, kind="client", is_error=True,
                 attributes={"http.request.method": "GET", "server.address": "api.github.com",
                             "url.full": "https://api.github.com/repos/x?token=REDACTED"}),
        SpanSpec("GET", span_id(3), span_id(1), 6, 1, kind="client",  # old semconv
                 attributes={"http.method": "GET",
                             "http.url": "https://status.example.org:8443/a?b=c"}),
        SpanSpec("SELECT shop", span_id(4), span_id(1), 7, 1, kind="client",
                 attributes={"db.system": "sqlite", "server.address": "db.internal"}),
    ])
    text = trace_page(viewer(), trace_id(1))
    name = re.compile(r'<span class="tk-span-name"[^>]*>((?:[^<]|<wbr>|<span class="tk-host"'
                      r'[^>]*>(?:[^<]|<wbr>)*</span>)*)</span>')

    def shown(sid: str) -> str:  # the name's box as it reads
        found = name.search(row_html(text, sid))
        assert found is not None
        return re.sub(r"<[^>]+>", "", found.group(1))

    assert shown(span_id(2)) == "GET api.github.com"
    assert shown(span_id(3)) == "GET status.example.org"
    assert shown(span_id(4)) == "SELECT shop"  # a database call: its name says enough
    assert "token" not in row_html(text, span_id(2)).split("tk-span-body")[0]
    assert 'data-name="GET"' in row_html(text, span_id(2))  # the span keeps its name
