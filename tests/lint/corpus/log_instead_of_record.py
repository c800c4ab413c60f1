# Corpus for tracekit-log-instead-of-record ("goodbye logs": the trace must hold the error).
# A swallowing handler is also an unrecorded exception, so both rules fire there.
import logging

import django_tracekit as tracekit
from django_tracekit import record_error
from opentelemetry import trace

logger = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)


@tracekit.traced
def logs_and_swallows():
    try:
        work()
    except ValueError:
        # ruleid: tracekit-log-instead-of-record, tracekit-unrecorded-exception
        logger.exception("work failed")


@tracekit.traced
def logs_and_reraises():
    try:
        work()
    except ValueError:
        # ruleid: tracekit-log-instead-of-record
        logger.exception("work failed")
        raise


class Worker:
    @tracekit.traced
    def run(self):
        try:
            work()
        except ValueError as exc:
            # ruleid: tracekit-log-instead-of-record
            self.logger.error("work failed: %s", exc, exc_info=True)
            raise
        except KeyError as exc:
            # ruleid: tracekit-log-instead-of-record
            logging.warning("missing key", exc_info=exc)
            raise


def inside_with_span():
    with tracekit.span():
        try:
            work()
        except ValueError:
            if retry():
                # ruleid: tracekit-log-instead-of-record
                audit_log.critical("giving up", exc_info=1)
            raise


def recorded_as_well():
    with tracekit.span():
        try:
            work()
        except ValueError as exc:
            # ok: tracekit-log-instead-of-record
            logger.exception("work failed")
            record_error(exc)
        try:
            work()
        except ValueError as exc:
            tracekit.record_error(exc)
            # ok: tracekit-log-instead-of-record
            logger.error("work failed", exc_info=True)


def no_traceback_attached():
    with tracekit.span():
        try:
            work()
        except ValueError:
            # ok: tracekit-log-instead-of-record
            logger.error("work failed", exc_info=False)
            # ok: tracekit-log-instead-of-record
            logger.warning("work failed")
            raise


def not_a_logger(future):
    with tracekit.span():
        try:
            work()
        except ValueError:
            # ok: tracekit-log-instead-of-record
            future.exception()
            raise


def outside_any_span():
    try:
        work()
    except ValueError:
        # ok: tracekit-log-instead-of-record
        logger.exception("work failed")


def nested_function_logs():
    with tracekit.span():
        try:
            work()
        except ValueError:

            def report():
                # ok: tracekit-log-instead-of-record
                logger.exception("work failed")

            schedule(report)
            raise
