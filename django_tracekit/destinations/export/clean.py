"""Text an exporter can encode: one lone surrogate must not drop a whole batch.

OTLP encodes every string as UTF-8; a lone surrogate (``"\\ud800"``: text decoded with
``surrogateescape``, a ``bytes.decode("utf-16", "surrogatepass")``, JSON's ``"\\ud800"``) makes
the exporter refuse the *batch* ("Failed to encode span batch": 0 of 100 unrelated spans
sent). Before each export, the spans holding such text (name, attributes, events, links,
status description, resource) are replaced by copies with it cleaned (``U+FFFD``), the
rest passed as they are. Cheap: ASCII text (nearly all of it) is accepted by
``str.isascii`` (C, no copy); only other text is test-encoded, and only a span that needs
it is copied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status


def _bad(text: str) -> bool:
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    return _SURROGATE.sub("\ufffd", text) if _bad(text) else text


def _clean_value(value: Any) -> Any:
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_clean(item) if isinstance(item, str) else item for item in value)
    return value


def _bad_attributes(attributes: Mapping[str, Any] | None) -> bool:
    """Plain loops, ASCII first: this runs for every attribute of every exported span."""
    if not attributes:
        return False
    # The SDK's BoundedAttributes keeps a plain dict: iterating it directly is ~5x cheaper
    # than the Mapping protocol (docs/PRIVATE_SEAMS.md); any other mapping works as well.
    items = getattr(attributes, "_dict", attributes)
    if not isinstance(items, dict):
        items = dict(attributes)
    for key, value in items.items():
        if not key.isascii() and _bad(key):
            return True
        cls = value.__class__
        if cls is str:
            if not value.isascii() and _bad(value):
                return True
        elif cls is tuple or cls is list:
            for item in value:
                if item.__class__ is str and not item.isascii() and _bad(item):
                    return True
    return False


_checked_resource: list[Any] = [None]  # the last resource found clean (one per process)


def _bad_resource(resource: Resource | None) -> bool:
    if resource is None or resource is _checked_resource[0]:
        return False
    if _bad_attributes(resource.attributes):
        return True
    _checked_resource[0] = resource
    return False


def _clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if attributes is None:
        return None
    return {_clean(key): _clean_value(value) for key, value in attributes.items()}


def needs_cleaning(span: ReadableSpan) -> bool:
    """Whether ``span`` holds text UTF-8 cannot encode."""
    status = span.status
    return (_bad(span.name)
            or _bad_attributes(span.attributes)
            or any(_bad(event.name) or _bad_attributes(event.attributes)
                   for event in span.events)
            or any(_bad_attributes(link.attributes) for link in span.links)
            or (status is not None and status.description is not None
                and _bad(status.description))
            or _bad_resource(span.resource))


def cleaned(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` whose text is all encodable (lone surrogates -> ``U+FFFD``)."""
    status = span.status
    if status is not None and status.description is not None and _bad(status.description):
        status = Status(status.status_code, _clean(status.description))
    resource = span.resource
    if _bad_resource(resource):
        assert resource is not None
        resource = Resource(_clean_attributes(resource.attributes) or {}, resource.schema_url)
    return ReadableSpan(
        name=_clean(span.name),
        context=span.context,
        parent=span.parent,
        resource=resource,
        attributes=_clean_attributes(span.attributes),
        events=[Event(_clean(e.name), _clean_attributes(e.attributes), e.timestamp)
                for e in span.events],
        links=[Link(link.context, _clean_attributes(link.attributes)) for link in span.links],
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


def encodable(spans: Sequence[ReadableSpan]) -> Sequence[ReadableSpan]:
    """``spans`` with every span holding unencodable text replaced by a clean copy (the same
    sequence when none does)."""
    if not any(needs_cleaning(span) for span in spans):
        return spans
    return [cleaned(span) if needs_cleaning(span) else span for span in spans]


__all__ = ["cleaned", "encodable", "needs_cleaning"]
