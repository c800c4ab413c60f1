"""Bad HTTP input: the admin usage pages answer 200 (with a message) or 400, never 500.

Every query parameter the pages accept is fuzzed (``range``, ``from``, ``to``, ``q``,
``kind``, ``service``, ``sort``, ``page``, ``format``), on SQLite in process and on a fresh
PostgreSQL database in its own process (PostgreSQL rejects NUL bytes, SQLite does not),
under the extreme time zones (+14:00, -12:00) where dates near year 1 and 9999 overflow.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.destinations.stats import store
from django_tracekit.models import Feature
from tests.http.helpers import Server, setup_database
from tests.stats.helpers import (
    SITE_SETTINGS,
    database_settings,
    finish,
    postgres_database,
    start_django,
)
from tests.support.otlp_receiver import OtlpHttpReceiver

# Raw, already percent-encoded query strings (lone surrogates and NULs as a browser sends them).
CUSTOM = "range=custom&"
QUERIES = [
    "", "range=", "range=%00", "range=1h%00", "range=bogus", "range=custom",
    *(CUSTOM + q for q in (
        "from=%00", "to=%00", "from=x", "from=" + "9" * 5000,
        "from=0001-01-01T00:00", "from=0001-01-01T00:00%2B14:00",
        "from=0001-01-01T00:00-12:00", "from=0001-01-01T00:00&to=0001-01-02T00:00",
        "from=0001-01-01T00:00%2B14:00&to=0001-01-03T00:00%2B14:00",
        "from=9999-12-30T00:00&to=9999-12-31T23:59",
        "from=9999-12-31T23:59-14:00", "from=9999-12-31T00:00&to=9999-12-31T23:59:59-14:00",
        "from=9999-12-31T23:59:59.999999", "from=2024-02-30T00:00", "from=2024-01-01T25:00",
        "from=2024-01-01T00:00%2B25:00", "from=2024-01-01T00:00Z&to=2023-01-01T00:00Z",
        "from=1970-01-01T00:00&to=1971-01-01T00:00", "from=2024-01-01&to=2024-01-02",
        "from=2024-01-01T00:00&to=%ED%A0%80",
    )),
    "q=%00", "q=a%00b", "q=%25", "q=_", "q=%27%22%5C", "q=%ED%A0%80", "q=" + "x" * 5000,
    "q=a&q=b", "kind=%00", "kind=bogus", "kind=request&kind=task",
    "service=%00", "service=web%00", "service=" + "s" * 300,
    "sort=%00", "sort=-", "sort=--calls", "sort=p95%00", "sort=-p95", "sort=p99", "sort=bogus",
    "sort=-feature", "sort=error_rate",
    "page=0", "page=-1", "page=99999999999999999999999", "page=%00", "page=abc", "page=1.5",
    "page=last", "page=" + "9" * 5000,
    "format=csv", "format=CSV", "format=json", "format=%00", "format=csv&q=%00",
    "format=csv&range=custom&from=9999-12-31T23:59-14:00",
]
TIME_ZONES = ("UTC", "Pacific/Kiritimati", "Etc/GMT+12")  # +14:00 and -12:00

# The same fuzz, run by a fresh process against another database (the settings' DATABASES).
FUZZ = """
import time
from django.core.management import call_command
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from django_tracekit.models import Feature
from django_tracekit.destinations.stats import store
call_command("migrate", verbosity=0)
store.write({("shop/a", "function", "web", int(time.time()) // 60): [3, 1, 3000, 2000, {40: 3}]})
client = Client(raise_request_exception=False)
client.force_login(User.objects.create_superuser("root", password="x"))
pk = Feature.objects.get().pk
urls = [reverse("admin:tracekit_usage"), reverse("admin:tracekit_usage_feature", args=[pk])]
out = {}
for tz in json.loads(os.environ["TK_TIME_ZONES"]):
    with override_settings(TIME_ZONE=tz):
        for url in urls:
            for query in json.loads(os.environ["TK_QUERIES"]):
                out[f"{tz} {url}?{query}"] = client.get(f"{url}?{query}").status_code
print(json.dumps(out))
"""


def _failures(statuses: dict[str, int]) -> dict[str, int]:
    return {case: status for case, status in statuses.items() if status not in (200, 400)}


@pytest.fixture
def admin_client() -> Iterator[Client]:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root", password="x"))
    yield client


def _seed() -> Feature:
    store.clear_cache()
    minute = 29_000_000  # 2025: inside no preset range, inside the custom ones
    store.write({("shop/a", "function", "web", minute): [3, 1, 3000, 2000, {40: 3}]})
    return Feature.objects.get()


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
@pytest.mark.parametrize("time_zone", TIME_ZONES)
def test_usage_pages_never_answer_500_on_sqlite(admin_client: Client, time_zone: str) -> None:
    feature = _seed()
    urls = [reverse("admin:tracekit_usage"),
            reverse("admin:tracekit_usage_feature", args=[feature.pk])]
    statuses = {}
    with override_settings(TIME_ZONE=time_zone):
        for url in urls:
            for query in QUERIES:
                statuses[f"{url}?{query}"] = admin_client.get(f"{url}?{query}").status_code
    assert _failures(statuses) == {}
    # An unknown feature id, however large, is a 404 (SQLite integers stop at 2**63).
    for pk in (feature.pk + 1, 2**63, 10**30):
        assert admin_client.get(f"/admin/django_tracekit/feature/{pk}/usage/").status_code == 404


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_bad_values_are_named_on_the_page(admin_client: Client) -> None:
    _seed()
    url = reverse("admin:tracekit_usage")

    def text(query: str) -> str:
        response = admin_client.get(f"{url}?{query}")
        assert response.status_code == 200
        return response.content.decode()

    assert "The search contains characters that are not allowed" in text("q=a%00b")
    assert "The service contains characters that are not allowed" in text("service=%00")
    page = text(CUSTOM + "kind=all&from=0001-01-01T00:00%2B14:00")  # shop/a: a function
    assert "Enter a date between" in page
    assert 'data-feature="shop/a"' in page  # the rest of the page is there (default range)
    assert "Enter a date between" in text(CUSTOM + "from=9999-12-31T00:00&to=9999-12-31T23:59")
    unknown = admin_client.get(f"{url}?format=json")
    assert unknown.status_code == 400 and b"csv" in unknown.content


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_csv_export_has_the_contract_columns(admin_client: Client) -> None:
    _seed()
    response = admin_client.get(reverse("admin:tracekit_usage"),
                                {"format": "csv", "range": "custom", "kind": "all",
                                 "from": "2025-01-01T00:00", "to": "2025-12-31T00:00"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, row = response.content.decode().splitlines()
    assert header.split(",")[:9] == ["feature", "kind", "service", "calls", "errors", "users",
                                     "p50_ms", "p95_ms", "p99_ms"]
    assert row.startswith("shop/a,function,web,3,1,")


@pytest.mark.service("postgres")
@pytest.mark.requires("psycopg")
def test_usage_pages_never_answer_500_on_postgres() -> None:
    with postgres_database() as name:
        settings = {**SITE_SETTINGS, "LOGGING_CONFIG": None,
                    "DATABASES": {"default": database_settings("postgres", name)},
                    "TRACEKIT": {"ENABLED": False}}
        out = finish(start_django(FUZZ, settings, env={
            "TK_QUERIES": json.dumps(QUERIES), "TK_TIME_ZONES": json.dumps(TIME_ZONES)}),
            timeout=300)
    statuses = json.loads(out.strip().splitlines()[-1])
    assert len(statuses) == 2 * len(QUERIES) * len(TIME_ZONES)
    assert _failures(statuses) == {}


# -- propagation headers, on a real gunicorn -----------------------------------------------

# 4 KiB of baggage members that do not match the format: the W3C baggage propagator logs
# one WARNING per member (180) and one for the member limit, per request.
BAD_BAGGAGE = ",".join(["x"] * 2048)[:4096]
# 512 characters of invalid tracestate pairs (the TraceState parser logs each one).
BAD_TRACESTATE = ",".join(["BAD KEY=v"] * 60)[:512]
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
REQUESTS = 20


@pytest.fixture
def gunicorn(tmp_path: Path) -> Iterator[Server]:
    with OtlpHttpReceiver() as receiver:
        db = tmp_path / "db.sqlite3"
        server = Server("sync", receiver, db, tmp_path, setup_database(db))
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()


def _lines(log: str, *needles: str) -> list[str]:
    return [line for line in log.splitlines() if any(n in line.lower() for n in needles)]


@pytest.mark.requires("opentelemetry.exporter.otlp.proto.http")  # the server exports spans
def test_malformed_propagation_headers_are_logged_once_a_minute(gunicorn: Server) -> None:
    for _ in range(REQUESTS):
        reply = gunicorn.request("/hello/", headers={"baggage": BAD_BAGGAGE})
        assert reply.status == 200
        gunicorn.server_span(reply)  # still traced (a fresh trace, no baggage)
    for _ in range(REQUESTS):
        reply = gunicorn.request("/hello/", headers={
            "traceparent": TRACEPARENT, "tracestate": BAD_TRACESTATE})
        assert reply.status == 200
        assert gunicorn.server_span(reply).trace_id == TRACEPARENT[3:35]  # trace continued
    # Every request's span arrived (above), so every warning has been written by now.
    log = gunicorn.log()
    baggage, tracestate = _lines(log, "baggage"), _lines(log, "tracestate")
    assert len(baggage) == 1, baggage[:5]
    assert len(tracestate) == 1, tracestate[:5]
    assert "malformed baggage header" in baggage[0]
    assert len(baggage[0]) < 400  # the 4 KiB header is not copied into the log
