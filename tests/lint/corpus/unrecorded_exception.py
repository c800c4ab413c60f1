# Corpus for tracekit-unrecorded-exception. Each Semgrep test annotation marks the next line;
# the finding is on the first statement of the swallowing handler.
import logging

import django_tracekit as tracekit
from django_tracekit import record_error, span, traced
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)
NAME = "computed elsewhere"


def with_span_swallows():
    with tracekit.span():
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            pass


def bare_except_swallows():
    with tracekit.span():
        try:
            work()
        except:  # noqa: E722
            # ruleid: tracekit-unrecorded-exception
            fallback()


def except_as_swallows():
    with span() as current:
        try:
            work()
        except (KeyError, IndexError) as exc:
            # ruleid: tracekit-unrecorded-exception
            current.set_attribute("missing", str(exc))


def else_and_finally_shapes():
    with tracekit.span():
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            fallback()
        else:
            done()
        try:
            work()
        except ValueError as exc:
            # ruleid: tracekit-unrecorded-exception
            fallback(exc)
        finally:
            cleanup()
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            fallback()
        else:
            done()
        finally:
            cleanup()


def several_handlers_judged_one_by_one():
    with tracekit.span():
        try:
            work()
        except KeyError:
            # ok: tracekit-unrecorded-exception
            raise
        except ValueError as exc:
            # ok: tracekit-unrecorded-exception
            tracekit.record_error(exc)
        except TypeError:
            # ruleid: tracekit-unrecorded-exception
            fallback()


def nested_in_blocks():
    with tracekit.span():
        for item in items():
            if item:
                try:
                    work(item)
                except OSError:
                    # ruleid: tracekit-unrecorded-exception
                    continue


@tracekit.traced
def traced_function_swallows():
    try:
        work()
    except ValueError:
        # ruleid: tracekit-unrecorded-exception
        return None


@traced(attributes={"feature": "checkout"})
async def traced_with_arguments_swallows():
    try:
        await work()
    except ValueError:
        # ruleid: tracekit-unrecorded-exception
        return None


class Service:
    @staticmethod
    @traced
    def method_swallows():
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            return None


@tracer.start_as_current_span(NAME)
def otel_decorator_swallows():
    try:
        work()
    except ValueError:
        # ruleid: tracekit-unrecorded-exception
        return None


def otel_context_manager_swallows():
    with tracer.start_as_current_span(NAME) as current:
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            current.set_attribute("failed", True)


def recorded_or_reraised():
    with tracekit.span():
        try:
            work()
        except ValueError as exc:
            # ok: tracekit-unrecorded-exception
            record_error(exc)
            fallback()
        try:
            work()
        except ValueError as exc:
            # ok: tracekit-unrecorded-exception
            fallback()
            if exc.args:
                tracekit.record_error(exc)
        try:
            work()
        except ValueError as exc:
            # ok: tracekit-unrecorded-exception
            fallback()
            raise RuntimeError("wrapped") from exc
        try:
            work()
        except ValueError:
            # ok: tracekit-unrecorded-exception
            raise LookupError("translated") from None
        try:
            work()
        except ValueError:
            # ok: tracekit-unrecorded-exception
            fallback()
            raise


def otel_recorded():
    with tracer.start_as_current_span(NAME) as current:
        try:
            work()
        except ValueError as exc:
            # ok: tracekit-unrecorded-exception
            current.record_exception(exc)
            current.set_status(Status(StatusCode.ERROR))


def nested_function_is_not_the_spans_business():
    with tracekit.span():

        def callback():
            try:
                work()
            except ValueError:
                # ok: tracekit-unrecorded-exception
                return None

        register(callback)


@tracekit.traced
def traced_outer():
    def helper():
        try:
            work()
        except ValueError:
            # ok: tracekit-unrecorded-exception
            return None

    @tracekit.traced
    def traced_inner():
        try:
            work()
        except ValueError:
            # ruleid: tracekit-unrecorded-exception
            return None

    return helper, traced_inner


def span_opened_inside_nested_function():
    def inner():
        with tracekit.span():
            try:
                work()
            except ValueError:
                # ruleid: tracekit-unrecorded-exception
                return None

    return inner


def outside_any_span():
    try:
        work()
    except ValueError:
        # ok: tracekit-unrecorded-exception
        return None


def suppressed():
    with tracekit.span():
        try:
            work()
        except ValueError:
            # ok: tracekit-unrecorded-exception
            pass  # nosemgrep: tracekit-unrecorded-exception
