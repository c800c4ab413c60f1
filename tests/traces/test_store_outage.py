"""A real database outage: the trace store's PostgreSQL connection goes through a TCP relay
that is cut (connections dropped and refused) and restored. The application never sees it;
one WARNING while it lasts, one line when it is over; every kept trace written once after."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stats.helpers import database_settings, finish, start_django
from tests.support.databases import fresh_database
from tests.support.processes import free_port

OUTAGE = """
import json, logging, os, socket, threading
import django

class Relay:
    '''127.0.0.1:PORT -> PostgreSQL; cut(): every connection dropped, new ones closed.'''
    def __init__(self, port):
        self.up = True
        self.conns = []
        self.server = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self.accept, daemon=True).start()
    def accept(self):
        while True:
            client, _ = self.server.accept()
            if not self.up:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", 5432))
            self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self.pipe, args=(a, b), daemon=True).start()
    def pipe(self, a, b):
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
    def cut(self):
        self.up = False
        for s in self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.conns = []

relay = Relay(int(os.environ["TK_RELAY_PORT"]))
django.setup()
from django.core.management import call_command
from django.db import connections
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode
from django_tracekit.storage.trace_models import Trace, TraceSpan
from django_tracekit.destinations.traces.processor import TraceStoreProcessor

call_command("migrate", verbosity=0)
records = []
handler = logging.Handler()
handler.emit = records.append
logging.getLogger("django_tracekit").addHandler(handler)
processor = TraceStoreProcessor(start_thread=False, sample_rate=0.0)
provider = TracerProvider()
provider.add_span_processor(processor)
tracer = provider.get_tracer("django_tracekit")

def failing_request(i):
    with tracer.start_as_current_span(f"GET /o/{i}/", kind=SpanKind.SERVER) as root:
        with tracer.start_as_current_span("shop/views/o"):
            pass
        root.set_status(Status(StatusCode.ERROR))

out = {}
for i in range(3):
    failing_request(i)
out["before"] = processor.flush()
relay.cut()
flushes = []
for i in range(3, 9):  # the application goes on during the outage
    failing_request(i)
    flushes.append(processor.flush())
out["during"] = flushes
relay.up = True
out["after"] = [processor.flush(), processor.flush()]
connections.close_all()
out["traces"] = Trace.objects.count()
out["spans"] = TraceSpan.objects.count()
out["counts"] = sorted(set(Trace.objects.values_list("span_count", flat=True)))
out["log"] = [(r.levelname, r.getMessage()[:90]) for r in records]
print(json.dumps(out))
"""


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_a_database_outage_never_reaches_the_application_and_loses_no_kept_trace() -> None:
    port = free_port()
    with fresh_database("postgres", "tracekit_outage") as name:
        database = {**database_settings("postgres", name), "PORT": str(port),
                    "OPTIONS": {"connect_timeout": 5}}
        settings: dict[str, Any] = {
            "INSTALLED_APPS": ["django.contrib.contenttypes", "django.contrib.auth",
                               "django_tracekit"],
            "DATABASES": {"default": database}, "TRACEKIT": {"ENABLED": False},
            "LOGGING_CONFIG": None, "USE_TZ": True}
        out = finish(start_django(OUTAGE, settings, setup=False,
                                  env={"TK_RELAY_PORT": str(port)}))
    result = json.loads(out.strip().splitlines()[-1])
    assert result["before"] is True
    assert result["during"] == [False] * 6
    assert result["after"] == [True, True]
    assert result["traces"] == 9 and result["spans"] == 18 and result["counts"] == [2]
    levels = [level for level, _ in result["log"]]
    assert levels == ["WARNING", "WARNING"], result["log"]
    assert result["log"][0][1].startswith("tracekit: writing kept traces failed (Operational")
    assert result["log"][1][1] == "tracekit: writing kept traces works again"
