# Corpus for tracekit-unended-span: a span from start_span() must be ended on every path.
from opentelemetry import trace
from opentelemetry.trace import Span, use_span

tracer = trace.get_tracer(__name__)


def never_ended():
    # ruleid: tracekit-unended-span
    span = tracer.start_span("work")
    work(span)


def ended_only_on_the_happy_path():
    # ruleid: tracekit-unended-span
    span = tracer.start_span("work")
    work(span)
    span.end()


def annotated_and_never_ended():
    # ruleid: tracekit-unended-span
    span: Span = tracer.start_span("work")
    work(span)


def use_span_without_end_on_exit():
    # ruleid: tracekit-unended-span
    span = tracer.start_span("work")
    with trace.use_span(span):
        work()


def ended_in_finally():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    try:
        work(span)
    finally:
        span.end()


def ended_in_finally_conditionally():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    try:
        work(span)
    finally:
        if span.is_recording():
            span.end()


def started_inside_try():
    try:
        # ok: tracekit-unended-span
        span = tracer.start_span("work")
        work(span)
    finally:
        span.end()


def handed_to_use_span():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    with trace.use_span(span, end_on_exit=True):
        work()


def handed_to_imported_use_span():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    with use_span(span, end_on_exit=True):
        work()


def used_as_context_manager():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    with span:
        work()


def with_statement():
    # ok: tracekit-unended-span
    with tracer.start_span("work") as span:
        work(span)


def returned_to_the_caller():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    span.set_attribute("factory", True)
    return span


def returned_with_its_context_token():
    # ok: tracekit-unended-span
    span = tracer.start_span("work")
    return span, trace.set_span_in_context(span)


class Middleware:
    def process_request(self, request):
        # ok: tracekit-unended-span
        self.span = tracer.start_span("request")
