"""The project's own Django tests (run by ``manage.py test``): traffic in setUpClass and in
tests, as a real suite has, and assertions with django_tracekit.testing."""

import threading

from django.test import Client, TestCase

import django_tracekit as tracekit
from django_tracekit import testing as tracekit_testing
from shop import views
from shop.models import Order


def flusher_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "tracekit-flush"]


class TracedRequests(TestCase):
    def test_no_background_stats_writer(self) -> None:
        self.assertEqual(flusher_threads(), [])

    def test_spans_and_counts(self) -> None:
        client = Client(raise_request_exception=False)
        with tracekit_testing.capture_spans() as spans, \
                tracekit_testing.capture_stats() as usage:
            for _ in range(3):
                self.assertEqual(client.get("/orders/").status_code, 200)
            self.assertEqual(client.get("/fail/").status_code, 500)
        self.assertEqual(usage.calls("GET /orders/", "request"), 3)
        self.assertEqual(usage.calls("GET /fail/", "request"), 1)
        self.assertEqual(usage.errors("GET /fail/", "request"), 1)
        self.assertEqual(len(spans.all_named("GET /orders/")), 3)
        self.assertEqual(len(spans.all_named(tracekit.name_for(views.orders))), 3)
        self.assertEqual([s.name for s in spans.errors()].count("GET /fail/"), 1)
        self.assertIn("out of stock", [e.message for e in usage.error_samples])


def make_case(number: int) -> type[TestCase]:
    class Traffic(TestCase):
        @classmethod
        def setUpClass(cls) -> None:
            super().setUpClass()
            for _ in range(5):
                Client().get("/orders/")

        def test_orders(self) -> None:
            for _ in range(5):
                self.assertEqual(self.client.get("/orders/").status_code, 200)
            self.assertGreaterEqual(Order.objects.count(), 5)

    Traffic.__name__ = Traffic.__qualname__ = f"Traffic{number}"
    return Traffic


for _number in range(40):
    globals()[f"Traffic{_number}"] = make_case(_number)
