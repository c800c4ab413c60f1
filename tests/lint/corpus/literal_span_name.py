# Corpus for tracekit-literal-span-name: prefer the automatic, code-location span name.
import django_tracekit as tk
from django_tracekit import span as tk_span
from opentelemetry import trace

tracer = trace.get_tracer(__name__)
NAME = "shop/orders/checkout"


def hand_written_names(order):
    # ruleid: tracekit-literal-span-name
    with tk.span("checkout"):
        pass
    # ruleid: tracekit-literal-span-name
    with tk_span(name="checkout"):
        pass
    # ruleid: tracekit-literal-span-name
    with tracer.start_as_current_span("checkout") as current:
        current.set_attribute("order.id", order.id)
    # ruleid: tracekit-literal-span-name
    with tracer.start_as_current_span(name="checkout", attributes={"a": 1}):
        pass


# ruleid: tracekit-literal-span-name
@tracer.start_as_current_span("nightly-job")
def nightly_job():
    pass


def automatic_or_computed_names(order):
    # ok: tracekit-literal-span-name
    with tk.span():
        pass
    # ok: tracekit-literal-span-name
    with tk.span(f"checkout-{order.kind}"):
        pass
    # ok: tracekit-literal-span-name
    with tracer.start_as_current_span(NAME):
        pass
    # ok: tracekit-literal-span-name
    with tracer.start_as_current_span(order.span_name()):
        pass


def not_tracekit(regex):
    # ok: tracekit-literal-span-name
    return regex.span("group")


def suppressed():
    # ok: tracekit-literal-span-name
    with tk.span("legacy-dashboard-name"):  # nosemgrep: tracekit-literal-span-name
        pass
