"""The error convention: one event, full stack (raise point + callers), chains, caps."""

from __future__ import annotations

import contextlib

from django.http import Http404
from django.test import override_settings
from opentelemetry.trace import StatusCode

import django_tracekit as tracekit
from django_tracekit.core import errors
from django_tracekit.core.errors import ERROR_SPAN_ID, format_stack, register_expected
from tests import samples
from tests.conftest import Spans


def exception_events(span: object) -> list[dict[str, object]]:
    return [dict(e.attributes or {}) for e in span.events if e.name == "exception"]  # type: ignore[attr-defined]


def test_record_error_has_raise_frames_and_callers(spans: Spans) -> None:
    def test_entry() -> None:
        samples.caller_of_recording(3)

    test_entry()
    span = spans.named("tests/samples/caller_of_recording")
    (event,) = exception_events(span)
    assert event["exception.type"] == "ValueError"
    assert event["exception.message"] == "deep failure"
    stack = str(event["exception.stacktrace"])
    lines = stack.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-1] == "ValueError: deep failure"
    frames = [line for line in lines if line.startswith("  File ")]
    # Frames show co_qualname (3.11+) or co_name (3.10): compare the last segment.
    names = [line.rsplit(" in ", 1)[1].rsplit(".", 1)[-1] for line in frames]
    # Callers above the recording point (outermost first) ...
    assert names.index("test_entry") < names.index("caller_of_recording") < \
        names.index("catch_and_record")
    # ... then the traceback: catch frame down to the raise point, 3 recursions + base case.
    assert names[-5:] == ["catch_and_record", "level", "level", "level", "level"]
    assert f'File "{samples.__file__}", line 64, in level' in stack  # the raise line
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: deep failure"
    assert span.attributes["error.type"] == "ValueError"


def test_escaping_exception_recorded_once_with_references(spans: Spans) -> None:
    def inner() -> None:
        with tracekit.span("inner"):
            raise KeyError("k")

    try:
        with tracekit.span("outer"):
            inner()
    except KeyError:
        pass
    inner_span, outer_span = spans.named("inner"), spans.named("outer")
    assert len(exception_events(inner_span)) == 1
    assert exception_events(outer_span) == []  # a reference, not a second copy
    assert outer_span.status.status_code is StatusCode.ERROR
    assert outer_span.attributes[ERROR_SPAN_ID] == format(inner_span.context.span_id, "016x")
    assert outer_span.attributes["error.type"] == "KeyError"


def test_recording_twice_on_the_same_span_adds_nothing(spans: Spans) -> None:
    with tracekit.span("once"):
        exc = RuntimeError("x")
        tracekit.record_error(exc)
        tracekit.record_error(exc)
    assert len(exception_events(spans.named("once"))) == 1


def test_chained_exceptions_are_included() -> None:
    try:
        try:
            {}["missing"]
        except KeyError as exc:
            raise RuntimeError("wrapper") from exc
    except RuntimeError as exc:
        stack = format_stack(exc)
    assert "KeyError: 'missing'" in stack
    assert "The above exception was the direct cause of the following exception:" in stack
    assert stack.index("KeyError") < stack.index("RuntimeError: wrapper")

    try:
        try:
            raise ValueError("first")
        except ValueError:
            raise TypeError("second") from None
    except TypeError as exc:
        suppressed = format_stack(exc)
    assert "ValueError" not in suppressed  # `from None` suppresses the context, as Python does

    try:
        try:
            raise ValueError("first")
        except ValueError:
            raise TypeError("second")  # noqa: B904
    except TypeError as exc:
        implicit = format_stack(exc)
    assert "During handling of the above exception, another exception occurred:" in implicit


def test_stack_is_capped_and_keeps_the_raise_point() -> None:
    try:
        samples.level(300)
    except ValueError as exc:
        stack = format_stack(exc, max_frames=40)
        short = format_stack(exc, max_length=500)
    frames = [line for line in stack.splitlines() if line.startswith("  File ")]
    assert len(frames) == 40
    assert "frames omitted ..." in stack
    assert stack.endswith("ValueError: deep failure")
    assert len(short) == 500 and short.startswith("[truncated]\n")
    assert short.endswith("ValueError: deep failure")


def test_no_locals_unless_enabled(spans: Spans) -> None:
    def leak() -> None:
        password = "hunter2"  # noqa: F841
        visible = "shown-value"  # noqa: F841
        raise ValueError("x")

    with tracekit.span("default"):
        try:
            leak()
        except ValueError as exc:
            tracekit.record_error(exc)
    stack = str(exception_events(spans.named("default"))[0]["exception.stacktrace"])
    assert "hunter2" not in stack and "shown-value" not in stack

    with override_settings(TRACEKIT={"ERRORS": {"CAPTURE_LOCALS": True}}), \
            tracekit.span("locals"):
        try:
            leak()
        except ValueError as exc:
            tracekit.record_error(exc)
    stack = str(exception_events(spans.named("locals"))[0]["exception.stacktrace"])
    assert "visible = 'shown-value'" in stack
    assert "password = '[redacted]'" in stack and "hunter2" not in stack


def test_captured_locals_redact_inside_values_and_requests() -> None:
    from django.test import RequestFactory

    def view(request: object) -> None:
        pw_from_form = "pw-secret"  # noqa: F841
        form = request.POST  # type: ignore[attr-defined]  # noqa: F841
        body = request.body  # type: ignore[attr-defined]  # noqa: F841
        nested = {"user": {"name": "ann", "password": "nested-secret"}}  # noqa: F841
        raise ValueError("x")

    request = RequestFactory().post("/p/?token=query-secret", "passphrase=form-secret&n=1",
                                    content_type="application/x-www-form-urlencoded")
    try:
        view(request)
    except ValueError as exc:
        stack = format_stack(exc, capture_locals=True)
    for secret in ("pw-secret", "query-secret", "form-secret", "nested-secret"):
        assert secret not in stack, secret
    assert "request = <WSGIRequest: POST '/p/'>" in stack
    assert "'name': 'ann'" in stack and "'n': ['1']" in stack


def test_cap_counts_frames_not_local_lines() -> None:
    try:
        samples.level(300)
    except ValueError as exc:
        stack = format_stack(exc, max_frames=40, capture_locals=True)
    frames = [line for line in stack.splitlines() if line.startswith("  File ")]
    assert len(frames) == 40
    assert any(line.startswith("    ") and " = " in line for line in stack.splitlines())


def test_expected_outcomes_are_not_errors(spans: Spans) -> None:
    class Retry(Exception):
        pass

    register_expected(Retry)
    for exc in (Http404("nope"), Retry()):
        try:
            with tracekit.span("outcome"):
                raise exc
        except Exception:
            pass
    for span in spans.all():
        assert span.status.status_code is StatusCode.UNSET
        assert exception_events(span) == []


def test_record_error_on_a_never_raised_exception_uses_the_recording_stack(spans: Spans) -> None:
    def recorder() -> None:
        with tracekit.span("fresh"):
            tracekit.record_error(ValueError("never raised"))

    recorder()
    stack = str(exception_events(spans.named("fresh"))[0]["exception.stacktrace"])
    assert "in test_record_error_on_a_never_raised_exception_uses_the_recording_stack" in stack
    assert stack.splitlines()[-2].endswith("recorder")


def test_broken_str_does_not_break_recording(spans: Spans) -> None:
    class Weird(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    with tracekit.span("weird"):
        tracekit.record_error(Weird())
    (event,) = exception_events(spans.named("weird"))
    assert event["exception.message"] == "<exception str() failed>"


def _client_call() -> None:
    """A client span (as the SQL and cache integrations make) whose call fails."""
    from opentelemetry.trace import SpanKind

    from django_tracekit.core.tracer import get_tracer

    span = get_tracer().start_span("SELECT shop_order", kind=SpanKind.CLIENT)
    try:
        raise ConnectionError("server closed the connection")
    except ConnectionError as exc:
        errors.handle_client_error(exc, span)
        raise
    finally:
        span.end()


def test_a_client_error_the_caller_handles_is_never_reported(spans: Spans) -> None:
    reported: list[BaseException] = []
    errors.add_listener(listener := lambda exc, span: reported.append(exc))
    try:
        # Handled, e.g. get_or_create's IntegrityError race.
        with tracekit.span("view"), contextlib.suppress(ConnectionError):
            _client_call()
    finally:
        errors.error_listeners.remove(listener)
    client = spans.named("SELECT shop_order")
    assert len(exception_events(client)) == 1  # the stack stays where it was raised
    assert client.status.status_code is StatusCode.ERROR
    assert spans.named("view").status.status_code is StatusCode.UNSET
    assert reported == []


def test_a_client_error_that_escapes_is_reported_once_with_one_stack(spans: Spans) -> None:
    reported: list[BaseException] = []
    errors.add_listener(listener := lambda exc, span: reported.append(exc))
    try:
        with contextlib.suppress(ConnectionError), tracekit.span("outer"), \
                tracekit.span("view"):
            _client_call()
    finally:
        errors.error_listeners.remove(listener)
    client, view = spans.named("SELECT shop_order"), spans.named("view")
    assert len(reported) == 1 and isinstance(reported[0], ConnectionError)
    assert exception_events(view) == []  # a reference to the client span's stack
    assert view.attributes[ERROR_SPAN_ID] == format(client.context.span_id, "016x")
    assert spans.named("outer").status.status_code is StatusCode.ERROR


def test_messages_are_redacted_like_everything_else(spans: Spans) -> None:
    """Issue 21 item 5: an exception message holding a credential-shaped value or a secret
    pair is redacted in the event, the stack's last line and the status (before: verbatim,
    then stored in the error table and sent over OTLP)."""
    key = "sk_" + "live_" + "51HxQ2kLmN0pQrStUvWxYz"  # built at run time: no literal key

    with tracekit.span():
        try:
            raise ValueError(f"charge refused for key {key}, token=abc123 kept")
        except ValueError as exc:
            tracekit.record_error(exc)
    (span,) = [s for s in spans.all() if exception_events(s)]
    (event,) = exception_events(span)
    expected = "charge refused for key [redacted], token=[redacted] kept"
    assert event["exception.message"] == expected
    assert str(event["exception.stacktrace"]).endswith(f"ValueError: {expected}")
    assert span.status.description == f"ValueError: {expected}"
    assert key not in str(span.attributes) + str(span.events)


def test_an_exception_the_caller_handles_is_recorded_where_raised_but_not_reported(
        spans: Spans) -> None:
    """A validator raises, the form's loop catches it: the exception stays on the span that
    raised it (the event, ERROR status: it escaped that span), nobody is told (error groups,
    Sentry); recorded explicitly afterwards, it is an incident, reported once."""
    reported: list[tuple[BaseException, object]] = []
    errors.add_listener(listener := lambda exc, span: reported.append((exc, span)))
    try:
        with tracekit.span("request"):
            caught = None
            try:
                with tracekit.span("validate"):
                    raise ValueError("taken")
            except ValueError as exc:
                caught = exc
            assert reported == []  # handled so far
            with tracekit.span("log"):
                tracekit.record_error(caught)  # logger.exception does the same
                tracekit.record_error(caught)  # once
    finally:
        errors.error_listeners.remove(listener)
    validate, log = spans.named("validate"), spans.named("log")
    assert len(exception_events(validate)) == 1
    assert validate.status.status_code is StatusCode.ERROR
    assert errors.INCIDENT not in (validate.attributes or {})
    assert [(exc, span.name) for exc, span in reported] == [(caught, "log")]  # type: ignore[attr-defined]
    assert log.attributes[errors.INCIDENT] is True
    assert log.attributes[ERROR_SPAN_ID] == format(validate.context.span_id, "016x")
    assert exception_events(log) == []  # the stack stays where it was raised
    assert errors.first_event(caught)["exception.message"] == "taken"  # type: ignore[index]
    assert spans.named("request").status.status_code is StatusCode.UNSET


def test_an_exception_escaping_the_local_root_is_an_incident(spans: Spans) -> None:
    reported: list[BaseException] = []
    errors.add_listener(listener := lambda exc, span: reported.append(exc))
    try:
        with contextlib.suppress(KeyError), tracekit.span("job"), tracekit.span("step"):
            raise KeyError("gone")
    finally:
        errors.error_listeners.remove(listener)
    assert len(reported) == 1
    assert spans.named("job").attributes[errors.INCIDENT] is True
    assert errors.INCIDENT not in (spans.named("step").attributes or {})
