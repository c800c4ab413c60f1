"""core.sdk_attributes: tracekit-built attributes without the SDK's per-value work, the same
result as the SDK's own path, and the public path wherever the guard says so."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from django_tracekit.core.sdk_attributes import readable, set_known


def _provider(**limits: Any) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=SpanLimits(**limits))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


KNOWN = {"url.path": "/orders/", "server.port": 8000, "http.route": "/orders/",
         "ratio": 0.5, "flag": True}


def test_the_private_seam_is_there() -> None:
    # BoundedAttributes keeps its values in a plain dict named _dict (docs/PRIVATE_SEAMS.md)
    bounded = BoundedAttributes(maxlen=4, attributes={"a": 1}, immutable=False)
    assert isinstance(bounded._dict, dict) and bounded._dict == {"a": 1}
    assert bounded.max_value_len is None and bounded._immutable is False


def test_known_attributes_end_as_the_sdk_would_store_them() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    fast, slow = tracer.start_span("fast"), tracer.start_span("slow")
    fast.set_attribute("before", "x")
    slow.set_attribute("before", "x")
    set_known(fast, KNOWN)
    slow.set_attributes(KNOWN)
    fast.end()
    slow.end()
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    assert dict(by_name["fast"].attributes) == dict(by_name["slow"].attributes) == {
        "before": "x", **KNOWN}


def test_the_sdk_path_where_a_limit_or_a_value_type_needs_it() -> None:
    provider, exporter = _provider(max_span_attribute_length=3, max_span_attributes=2)
    tracer = provider.get_tracer("t")
    limited = tracer.start_span("limited")
    set_known(limited, {"url.path": "/orders/"})  # the value-length limit applies
    limited.end()
    provider2, exporter2 = _provider(max_span_attributes=2)
    tracer2 = provider2.get_tracer("t")
    full = tracer2.start_span("full")
    set_known(full, KNOWN)  # more than the count limit: the SDK drops the oldest
    listed = tracer2.start_span("listed")
    set_known(listed, {"http.request.header.accept": ["a", "b"]})  # a list: the SDK's tuple
    full.end()
    listed.end()
    ended = tracer2.start_span("ended")
    ended.end()
    set_known(ended, {"late": "x"})  # ended: the SDK refuses (and warns), so do we
    assert dict(exporter.get_finished_spans()[0].attributes) == {"url.path": "/or"}
    spans = {s.name: s for s in exporter2.get_finished_spans()}
    assert len(spans["full"].attributes) == 2 and spans["full"].attributes.get("flag") is True
    assert spans["listed"].attributes["http.request.header.accept"] == ("a", "b")
    assert "late" not in spans["ended"].attributes


def test_any_other_span_takes_the_public_path() -> None:
    class Recording:
        def __init__(self) -> None:
            self.got: dict[str, Any] = {}

        def set_attributes(self, attributes: dict[str, Any]) -> None:
            self.got.update(attributes)

    span = Recording()
    set_known(span, KNOWN)
    assert span.got == KNOWN


def test_readable_gives_the_plain_dict_or_the_public_mapping() -> None:
    provider, exporter = _provider()
    span = provider.get_tracer("t").start_span("s", attributes={"a": 1})
    span.end()
    finished = exporter.get_finished_spans()[0]
    plain = readable(finished)
    assert type(plain) is dict and plain == {"a": 1}
    assert readable(ReadableSpan("r", attributes={"b": 2})) == {"b": 2}  # a dict as given
    proxied = ReadableSpan("p", attributes=MappingProxyType({"c": 3}))  # no _dict: public
    assert dict(readable(proxied)) == {"c": 3}
    assert dict(readable(ReadableSpan("none"))) == {}


def test_values_the_caller_vouches_for_end_as_the_sdk_would_store_them() -> None:
    # scalars=True (a CodeLocation's str, str, int): stored without the per-value check,
    # the same result as the SDK's; limits and an ended span still take the guarded paths.
    location = {"code.function.name": "shop.f", "code.file.path": "/s/f.py",
                "code.line.number": 3}
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    fast, slow = tracer.start_span("fast"), tracer.start_span("slow")
    set_known(fast, location, scalars=True)
    slow.set_attributes(location)
    fast.end()
    slow.end()
    set_known(fast, {"late": "x"}, scalars=True)
    by_name = {s.name: s for s in exporter.get_finished_spans()}
    assert dict(by_name["fast"].attributes) == dict(by_name["slow"].attributes) == location
    limited_provider, limited_exporter = _provider(max_span_attribute_length=3)
    limited = limited_provider.get_tracer("t").start_span("limited")
    set_known(limited, location, scalars=True)
    limited.end()
    assert limited_exporter.get_finished_spans()[0].attributes["code.file.path"] == "/s/"


def test_a_subclass_of_the_sdk_span_is_one_and_an_unknown_class_is_not() -> None:
    from opentelemetry.sdk.trace import Span as SdkSpan

    from django_tracekit.core.sdk_attributes import _is_sdk_span_class

    class Custom(SdkSpan):
        pass

    assert _is_sdk_span_class(Custom) and _is_sdk_span_class(Custom)  # computed, then kept
    assert not _is_sdk_span_class(dict) and not _is_sdk_span_class(dict)
