"""The Celery app of the Sentry tests: a real worker runs it (filesystem:// broker)."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.sentry.project.settings")
django.setup()

from celery import Celery  # noqa: E402

import django_tracekit as tracekit  # noqa: E402
from tests.sentry.project.views import PaymentDeclined  # noqa: E402

BROKER_DIR = os.environ.get("TK_BROKER_DIR", "/tmp/tk-sentry-broker")


def broker_options(base: str) -> dict[str, str]:
    out = os.path.join(base, "out")  # producer and worker share one folder
    # control_folder too: kombu's default is ./control, in the working directory.
    return {"data_folder_in": out, "data_folder_out": out,
            "processed_folder": os.path.join(base, "processed"),
            "control_folder": os.path.join(base, "control")}


app = Celery("tk_sentry_tests")
app.conf.update(broker_url="filesystem://", broker_transport_options=broker_options(BROKER_DIR),
                task_ignore_result=True, worker_hijack_root_logger=False,
                broker_connection_retry_on_startup=True)


def _ship(order: str) -> None:
    raise PaymentDeclined(f"shipping failed for {order}")


@app.task(name="tests.sentry.fail_order")
def fail_order(order: str) -> None:
    # A span of its own (works with or without tracekit's Celery integration, which would
    # add the task span around it): the error is recorded here first.
    with tracekit.span():
        _ship(order)


@app.task(name="tests.sentry.ok_order")
def ok_order(order: str) -> str:
    from opentelemetry import trace

    trace.get_current_span().set_attribute("test.order", order)  # found by the tests
    return order
