"""A DRF view whose checks deny the request never runs its handler: its span is named
after the class's ``dispatch``, not the handler.

The view span is named before the view runs, after the handler the HTTP method selects
(``Projects/get``, ``Issues/list``: :mod:`.view_spans`). DRF's ``APIView.dispatch`` runs
``initial()`` first -- authentication, permissions, throttles, content negotiation,
versioning -- and when it raises, answers through ``handle_exception`` without calling the
handler. The Plane trial counted a 403 as a call of ``get``. ``APIView.initial`` is one of
DRF's documented dispatch methods ("Dispatch methods" in DRF's views guide); it is wrapped
once, when the first DRF view is served (:func:`.view_spans.wrap_view`). When it raises,
the request's view span (if any, still recording) is renamed ``Class/dispatch`` with that
method's code location: the feature that counts the call is the code that ran. An
exception the handler raises itself (an object permission checked in ``get_object``)
leaves the handler's name: it ran.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from django_tracekit.core import naming
from django_tracekit.core.logonce import LogOnce
from django_tracekit.sources.http.view_spans import VIEW_SPAN_ATTR, method_location

_ORIGINAL = "__tracekit_original__"
_MAX_CACHED = 4096
_lock = threading.Lock()
_locations: dict[type, naming.CodeLocation] = {}
_failed = LogOnce("naming a DRF view whose checks denied the request failed").failed


def install() -> bool:
    """Wrap ``rest_framework.views.APIView.initial`` once (idempotent); False without DRF."""
    try:
        from rest_framework.views import APIView
    except ImportError:  # DRF is not installed (or fails to import: the project sees why)
        return False
    with _lock:
        current = APIView.__dict__.get("initial")
        if not callable(current):
            return False
        if getattr(current, _ORIGINAL, None) is None:
            APIView.initial = _wrap(current)
    return True


def uninstall() -> None:
    """Restore DRF's ``initial`` (if ours is still the one installed)."""
    try:
        from rest_framework.views import APIView
    except ImportError:
        return
    with _lock:
        original = getattr(APIView.__dict__.get("initial"), _ORIGINAL, None)
        if original is not None:
            APIView.initial = original


def _wrap(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def initial(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        __traceback_hide__ = True  # tracekit's frame: not in Django's error pages
        try:
            return original(self, request, *args, **kwargs)
        except BaseException:
            _handler_skipped(self, request)
            raise

    setattr(initial, _ORIGINAL, original)
    return initial


def _handler_skipped(view: Any, request: Any) -> None:
    """Rename the request's view span after ``dispatch`` (never raises)."""
    try:
        http_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
        span = vars(http_request).get(VIEW_SPAN_ATTR)
        if span is None or not span.is_recording():
            return
        view_class = type(view)
        location = _locations.get(view_class)
        if location is None:
            location = method_location(view_class, "dispatch")
            if len(_locations) < _MAX_CACHED:
                _locations[view_class] = location
        span.update_name(location.name)
        span.set_attributes(location.attributes)
    except Exception:
        _failed()
