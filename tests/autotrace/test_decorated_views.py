"""Views wrapped in the project's own (auto-traced) decorators: one call per request.

The middleware's view span stands for the view function (counted by the stats as one call
per request). A decorator's wrapper in between is the team's code: counted once per
request, no span of its own (the view span covers the decorated call), and the view
function it calls is neither counted again nor given a second span of the view's name.
Counted as the stats count them: view spans received over OTLP, plus the auto-trace
counters (``/counts`` drains every counted call, spanned or not).
"""

from __future__ import annotations

import pytest

from tests.autotrace.conftest import ShopServer

pytestmark = pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")

REQUESTS = 3
AUDITED = "shop/guards/audited/wrapper"
GUARDED = "shop/guards/passes/decorator/guarded"

# path -> (view span name, {wrapper: calls per request})
CASES = {
    "/decorated/function": ("shop/views/audited_view", {AUDITED: 1}),
    "/decorated/guarded": ("shop/views/guarded_view", {GUARDED: 1, AUDITED: 1}),
    "/decorated/handler": ("shop/views/AuditedHandler/get", {AUDITED: 1}),
    "/decorated/dispatch": ("shop/views/GuardedDispatch/get", {GUARDED: 1}),
}


@pytest.mark.parametrize("path", sorted(CASES))
def test_decorated_view_is_counted_once_per_request(shop: ShopServer, path: str) -> None:
    view, wrappers = CASES[path]
    shop.get_json("/counts")  # drain what came before
    before = {s.span_id for s in shop.receiver.spans}
    for _ in range(REQUESTS):
        assert shop.get_status(path) == 200
    expected = (f"GET {path}", view, "shop/services/slow")
    shop.receiver.wait_for(lambda all_: all(len(
        [s for s in all_ if s.name == name and s.span_id not in before]) == REQUESTS
        for name in expected))
    spans = [s for s in shop.receiver.spans if s.span_id not in before]
    counts = shop.get_json("/counts")

    # The stats count spans and add the counted calls that did not become spans: the view
    # is one span per request and never counted by auto-tracing on top.
    assert len([s for s in spans if s.name == view]) == REQUESTS
    assert view not in counts, counts
    for wrapper, per_request in wrappers.items():
        assert counts[wrapper][0] == REQUESTS * per_request, counts
        assert not [s for s in spans if s.name == wrapper]  # the view span covers it
    # What the view calls is under the view span, as for an undecorated view.
    ids = {s.span_id: s.name for s in spans}
    slow = [s for s in spans if s.name == "shop/services/slow"]
    assert len(slow) == REQUESTS
    assert {ids.get(s.parent_span_id) for s in slow} == {view}
    assert counts["shop/services/slow"][0] == REQUESTS


def test_a_refused_request_counts_the_wrapper_and_not_the_view(shop: ShopServer) -> None:
    shop.get_json("/counts")
    assert shop.get_status("/decorated/guarded?deny=1") == 403
    shop.receiver.wait_for(lambda all_: any(s.name == "shop/views/guarded_view" for s in all_))
    counts = shop.get_json("/counts")
    assert counts[GUARDED][0] == 1
    assert AUDITED not in counts and "shop/views/guarded_view" not in counts
