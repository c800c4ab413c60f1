"""An SDK span's attributes without the SDK's per-value work, where tracekit knows better.

Writing: the SDK's ``set_attribute(s)`` validates every value (type, sequences, length
limit) and takes two locks per call; tracekit's own sources build attributes that are
valid by construction (strings and numbers from the request, the route, the status).
:func:`set_known` puts such values straight into the span's ``BoundedAttributes`` dict
where the SDK would store the same: an SDK span still recording, no value-length limit, room
under the count limit, and every value a ``str``, ``int``, ``float`` or ``bool``. Anything
else goes through ``set_attributes``.

Reading: a finished SDK span's ``attributes`` is a ``MappingProxyType`` over that
``BoundedAttributes``: every ``get`` or ``in`` goes through the Python ``Mapping`` protocol
(a missing key raises and catches a ``KeyError``). :func:`readable` gives the plain dict
behind it to processors that only read it.

``BoundedAttributes._dict`` is private (docs/PRIVATE_SEAMS.md): read with ``getattr``;
without it both functions take the public path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.sdk.trace import Span as SdkSpan

_SCALARS = frozenset((str, int, float, bool))
# Span class -> whether it is the SDK's (an ABC: ``isinstance`` costs a quarter of a call).
_sdk_span_classes: dict[type, bool] = {}


def _is_sdk_span_class(cls: type) -> bool:
    known = _sdk_span_classes.get(cls)
    if known is None:
        known = issubclass(cls, SdkSpan)
        if len(_sdk_span_classes) < 64:  # span classes are few; stay bounded anyway
            _sdk_span_classes[cls] = known
    return known


def set_known(span: Any, attributes: Mapping[str, Any], *, scalars: bool = False) -> None:
    """Set tracekit-built ``attributes`` on ``span`` (any span type). ``scalars``: the caller
    built every value as a ``str``/``int``/``float``/``bool`` (not checked again)."""
    if not attributes:
        return
    if _is_sdk_span_class(span.__class__) and span._end_time is None:
        try:
            bounded = span._attributes
            items = bounded._dict
            room = bounded.maxlen
            usable = (bounded.max_value_len is None and bounded._immutable is False
                      and isinstance(items, dict))
        except AttributeError:
            usable = False
        if usable and (room is None or len(items) + len(attributes) <= room):
            if not scalars:
                kinds = _SCALARS
                for value in attributes.values():
                    if value.__class__ not in kinds:
                        span.set_attributes(attributes)
                        return
            items.update(attributes)
            return
    span.set_attributes(attributes)


def readable(span: Any) -> Mapping[str, Any]:
    """A finished span's attributes, to read only (never to change): the plain dict behind
    the SDK's mapping where there is one, else the public ``attributes``."""
    attributes = getattr(span, "_attributes", None)
    if attributes.__class__ is dict:
        return attributes  # tracekit's shortcut spans
    items = getattr(attributes, "_dict", None)
    if isinstance(items, dict):
        return items
    return span.attributes or {}
