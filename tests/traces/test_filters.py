"""The trace list's parameters: parsed and validated (filters.parse), and fuzzed through the
pages on SQLite (in process, extreme time zones), PostgreSQL (a fresh database, its own
process: it refuses NUL bytes that SQLite accepts) and MariaDB: a clean page, a redirect or
a 404 for an odd trace path, never a 500."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from django_tracekit.pages.traces import filters
from tests.stats.helpers import SITE_SETTINGS, database_settings, finish, start_django
from tests.support.databases import fresh_database
from tests.support.traces import SIX_TRACES_FILTERED, trace_id, web_and_worker


def test_parse_accepts_good_values() -> None:
    parsed = filters.parse({"status": "ERROR", "feature": " GET /a/ ", "min_ms": "12,5",
                            "service": "web", "user": "42", "reason": "slow",
                            "trace_id": "4BF92F35-77B3-4DA6-A3CE-929D0E0E4736", "page": "3",
                            "range": "7d"})
    assert parsed.errors == []
    assert (parsed.status, parsed.feature, parsed.min_us, parsed.service, parsed.user,
            parsed.reason, parsed.trace_id, parsed.page) == (
        "error", "GET /a/", 12_500, "web", "42", "slow", "4bf92f3577b34da6a3ce929d0e0e4736",
        "3")
    assert parsed.window is not None and parsed.window.key == "7d"
    assert filters.parse({}).window is None  # every kept trace by default
    assert filters.parse({"range": "all"}).window is None


@pytest.mark.parametrize(("params", "message"), [
    ({"status": "maybe"}, "Unknown status"),
    ({"reason": "bored"}, "Unknown reason"),
    ({"min_ms": "x"}, "minimum duration"), ({"min_ms": "-0.5"}, "minimum duration"),
    ({"min_ms": "inf"}, "minimum duration"), ({"min_ms": "1e400"}, "minimum duration"),
    ({"min_ms": "1e13"}, "minimum duration"),
    ({"trace_id": "123"}, "32 hexadecimal digits"), ({"trace_id": "z" * 32}, "32 hexadecimal"),
    ({"feature": "a\x00"}, "feature contains characters"),
    ({"user": "\x07"}, "user id contains characters"),
    ({"range": "custom", "from": "2024-13-01T00:00"}, "valid start date"),
    ({"range": "custom", "from": "2024-01-02T00:00", "to": "2024-01-01T00:00"},
     "start must be before"),
])
def test_parse_names_and_drops_odd_values(params: dict[str, str], message: str) -> None:
    parsed = filters.parse(params)
    assert any(message in error for error in parsed.errors), parsed.errors
    assert (parsed.status, parsed.reason, parsed.min_us, parsed.trace_id, parsed.feature,
            parsed.user) == ("", "", None, "", "", "")


def test_an_unknown_range_is_the_default_window() -> None:
    parsed = filters.parse({"range": "bogus"})
    assert parsed.window is not None and parsed.window.key == "24h"
    assert parsed.values["range"] == "24h"  # the links say what the page shows


# Raw, already percent-encoded query strings (NULs and lone surrogates as a browser sends them).
CUSTOM = "range=custom&"
QUERIES = [
    "", "status=", "status=%00", "status=error%00", "status=ERROR", "status=bogus",
    "status=error&status=ok", "feature=%00", "feature=%25", "feature=_", "feature=%27%22%5C",
    "feature=%ED%A0%80", "feature=" + "f" * 5000, "min_ms=", "min_ms=%00", "min_ms=abc",
    "min_ms=-1", "min_ms=1e309", "min_ms=nan", "min_ms=inf", "min_ms=0x10", "min_ms=1_000",
    "min_ms=" + "9" * 400, "min_ms=0.0000001", "min_ms=%ED%A0%80", "service=%00",
    "service=a,b", "service=," , "service=" + "s" * 300, "user=%00", "user=" + "u" * 300,
    "user=%F0%9F%92%A9", "reason=%00", "reason=bogus", "reason=error,slow",
    "trace_id=%00", "trace_id=xyz", "trace_id=" + "a" * 32, "trace_id=" + "A" * 32,
    "trace_id=" + "a" * 5000, "trace_id=0x" + "b" * 32, "trace_id=%ED%A0%80",
    "range=%00", "range=bogus", "range=all", "range=custom",
    *(CUSTOM + q for q in (
        "from=%00", "to=%00", "from=x", "from=" + "9" * 5000, "from=0001-01-01T00:00%2B14:00",
        "from=9999-12-31T23:59-14:00", "from=2024-02-30T00:00",
        "from=2024-01-01T00:00Z&to=2023-01-01T00:00Z", "from=1970-01-01T00:00",
        "from=2024-01-01T00:00&to=%ED%A0%80",
    )),
    "page=0", "page=-1", "page=99999999999999999999999", "page=%00", "page=abc", "page=1.5",
    "page=last", "page=" + "9" * 5000,
    "status=error&feature=x&min_ms=5&service=web&user=1&reason=error&range=1h&page=2",
]
# Trace page paths: a 200, a redirect to the canonical id, or a 404, never a 500.
PATHS = ["a" * 32, "A" * 32, "a" * 31, "g" * 32, "%00", "%ED%A0%80", "x" * 5000, "0",
         "-1", "%20" + "a" * 32, "a" * 32 + "%00", str(2**70)]
TIME_ZONES = ("UTC", "Pacific/Kiritimati", "Etc/GMT+12")  # +14:00 and -12:00

FUZZ = """
from django.core.management import call_command
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from tests.support.traces import SIX_TRACES_FILTERED, trace_id, web_and_worker
call_command("migrate", verbosity=0)
web_and_worker(trace_id(1))
client = Client(raise_request_exception=False)
client.force_login(User.objects.create_superuser("root"))
out = {}
for tz in json.loads(os.environ["TK_TIME_ZONES"]):
    with override_settings(TIME_ZONE=tz):
        for query in json.loads(os.environ["TK_QUERIES"]):
            url = reverse("admin:tracekit_traces") + "?" + query
            out[f"{tz} {url}"] = client.get(url).status_code
for path in [*json.loads(os.environ["TK_PATHS"]), trace_id(1)]:
    url = f"/admin/django_tracekit/trace/{path}/"
    out[url] = client.get(url).status_code
# The filters' results on this database (the list's rows are <tr data-trace="...">).
import re, time
from django_tracekit.storage.trace_models import Trace
from tests.support.traces import SIX_TRACES_FILTERED, six_traces
Trace.objects.all().delete()
six_traces(int(time.time() * 1e6))
ids = {trace_id(n): n for n in range(1, 7)}
selected = []
for params, _expected in SIX_TRACES_FILTERED:
    page = client.get(reverse("admin:tracekit_traces"), params).content.decode()
    selected.append(sorted(ids[t] for t in re.findall(r'data-trace="(\\w+)"', page)))
print(json.dumps({"statuses": out, "selected": selected}))
"""


def _failures(statuses: dict[str, int]) -> dict[str, int]:
    return {case: status for case, status in statuses.items()
            if status not in (200, 302, 404)
            or (status == 404 and "/trace/?" in case)}  # the list is never a 404


@pytest.fixture
def admin_client() -> Iterator[Client]:
    client = Client(raise_request_exception=False)
    client.force_login(User.objects.create_superuser("root"))
    yield client


@pytest.mark.django_db
@pytest.mark.parametrize("time_zone", TIME_ZONES)
def test_the_list_never_answers_500_on_sqlite(admin_client: Client, time_zone: str) -> None:
    web_and_worker(trace_id(1), start_us=int(time.time() * 1e6) - 10**6)
    statuses = {}
    with override_settings(TIME_ZONE=time_zone):
        for query in QUERIES:
            url = f"{reverse('admin:tracekit_traces')}?{query}"
            statuses[url] = admin_client.get(url).status_code
    for path in PATHS:
        url = f"/admin/django_tracekit/trace/{path}/"
        statuses[url] = admin_client.get(url).status_code
    assert _failures(statuses) == {}
    # The kept trace's id (any spelling) opens it; the list shows it otherwise.
    assert statuses[f"/admin/django_tracekit/trace/{'a' * 32}/"] == 404
    assert admin_client.get(f"{reverse('admin:tracekit_traces')}?trace_id="
                            f"{trace_id(1).upper()}").status_code == 302


@pytest.mark.parametrize("vendor", [
    pytest.param("postgres", marks=[pytest.mark.service("postgres"),
                                    pytest.mark.requires("psycopg")]),
    pytest.param("mariadb", marks=[pytest.mark.service("mariadb"),
                                   pytest.mark.requires("pymysql")]),
])
def test_the_list_never_answers_500_on_postgres_and_mariadb(vendor: str) -> None:
    with fresh_database(vendor) as name:
        settings = {**SITE_SETTINGS, "LOGGING_CONFIG": None,
                    "DATABASES": {"default": database_settings(vendor, name)},
                    "TRACEKIT": {"ENABLED": False}}
        out = finish(start_django(FUZZ, settings, env={
            "TK_QUERIES": json.dumps(QUERIES), "TK_PATHS": json.dumps(PATHS),
            "TK_TIME_ZONES": json.dumps(TIME_ZONES)}), timeout=300)
    result = json.loads(out.strip().splitlines()[-1])
    statuses = result["statuses"]
    assert len(statuses) == len(QUERIES) * len(TIME_ZONES) + len(PATHS) + 1
    assert _failures(statuses) == {}
    assert statuses[f"/admin/django_tracekit/trace/{trace_id(1)}/"] == 200  # the waterfall
    # The same filters select the same traces as on SQLite (tests/traces/test_admin.py).
    assert result["selected"] == [sorted(expected) for _p, expected in SIX_TRACES_FILTERED]
