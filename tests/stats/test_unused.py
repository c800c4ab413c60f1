"""The unused-code page end to end: a real import hook instruments a package, some of its
functions run, the flusher records what was instrumented, the page lists the rest."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from django_tracekit.destinations.stats.store import record_instrumented
from django_tracekit.storage.usage_models import InstrumentedFunction
from tests.stats.helpers import SITE_SETTINGS, finish, start_django
from tests.stats.test_admin import viewer

BILLING = '''
def used():
    return Invoice().total()


def never():
    return "dead code"


class Invoice:
    def total(self):
        return 42

    def refund(self):
        return -42
'''

SCRIPT = """
import sys
sys.path.insert(0, os.environ["TK_PACKAGES"])
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django_tracekit.destinations import stats
import shopunused.billing
from shopunused.reports import monthly
assert shopunused.billing.used() == 42
assert stats.flush()
from django.contrib.auth.models import User
from django.test import Client
client = Client()
client.force_login(User.objects.create_superuser("root", password="x"))
usage = client.get("/admin/django_tracekit/feature/?range=1h").content.decode()
unused = client.get("/admin/django_tracekit/feature/unused/?range=1h")
print(json.dumps({"status": unused.status_code, "page": unused.content.decode(),
                  "usage": usage}))
"""

FUNCTION = re.compile(r'<tr data-function="([^"]+)">')
MODULE = re.compile(r'data-module="([^"]+)"')


def test_unused_functions_listed_by_module(tmp_path: Path) -> None:
    package = tmp_path / "packages" / "shopunused"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "billing.py").write_text(BILLING)
    (package / "reports.py").write_text("def monthly():\n    return []\n")
    settings = {**SITE_SETTINGS, "LOGGING_CONFIG": None,
                "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3",
                                          "NAME": str(tmp_path / "db.sqlite3")}},
                "TRACEKIT": {"PROJECT_NAME": "shopunused", "EXPORTER": "none",
                             "AUTOTRACE": {"INCLUDE": ["shopunused"]},
                             "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600}}}
    out = json.loads(finish(start_django(SCRIPT, settings, setup=False, env={
        "TK_PACKAGES": str(tmp_path / "packages")})).strip().splitlines()[-1])
    assert out["status"] == 200
    page = out["page"]
    assert FUNCTION.findall(page) == ["shopunused/billing/Invoice/refund",
                                      "shopunused/billing/never",
                                      "shopunused/reports/monthly"]
    assert [html.unescape(m) for m in MODULE.findall(page)] == ["shopunused.billing",
                                                                "shopunused.reports"]
    # Linked from the usage page.
    assert 'id="tk-unused-link"' in out["usage"]


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_the_range_and_permission_apply() -> None:
    import time

    from django_tracekit.destinations.stats import store

    now = int(time.time())
    record_instrumented("web", [("shop/a/f", "shop.a"), ("shop/a/g", "shop.a")], now=now)
    record_instrumented("web", [("shop/old/h", "shop.old")], now=now - 40 * 86400)
    # Called 10 days ago: unused in the last 7 days, used in the last 30.
    store.write({("shop/a/f", "function", "web", (now - 10 * 86400) // 60):
                 [1, 0, 1000, 1000, {10: 1}]})
    client = Client()
    client.force_login(viewer())
    url = reverse("admin:tracekit_unused")

    def listed(**params: str) -> list[str]:
        return FUNCTION.findall(client.get(url, params).content.decode())

    assert listed(range="7d") == ["shop/a/f", "shop/a/g"]
    # h was last instrumented before this range began: gone from the code, not unused.
    assert listed(range="30d") == ["shop/a/g"]
    assert listed(range="90d") == ["shop/a/g", "shop/old/h"]
    assert listed(range="7d", q="A/G") == ["shop/a/g"]
    assert InstrumentedFunction.objects.count() == 3
    # A worker imports the views too: a function called by any service is not unused.
    record_instrumented("worker", [("shop/a/f", "shop.a"), ("shop/a/g", "shop.a")], now=now)
    assert listed(range="30d") == ["shop/a/g"]
    assert listed(range="30d", service="worker") == ["shop/a/g"]
    page = client.get(url, {"range": "30d"}).content.decode()
    assert "web, worker" in page  # one row, every service that loaded it

    staff = Client()
    staff.force_login(User.objects.create_user("staff", is_staff=True))
    assert staff.get(url).status_code == 403


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_a_function_whose_nested_function_ran_is_used() -> None:
    """A middleware factory returns ``middleware``, which runs on every request: the
    factory is used code (its own call may be at start-up, not counted)."""
    import time

    from django_tracekit.destinations.stats import store

    now = int(time.time())
    record_instrumented("web", [("shop/mw/tagging", "shop.mw"),
                                ("shop/mw/tagging/middleware", "shop.mw"),
                                ("shop/mw/legacy", "shop.mw"),
                                ("shop/mw/legacy/middleware", "shop.mw")], now=now)
    store.write({("shop/mw/tagging/middleware", "function", "web", now // 60):
                 [3, 0, 1000, 1000, {10: 3}]})
    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_unused"), {"range": "7d"}).content.decode()
    assert FUNCTION.findall(page) == ["shop/mw/legacy", "shop/mw/legacy/middleware"]


@pytest.mark.django_db
@pytest.mark.urls("tests.stats.urls")
def test_a_module_a_service_did_not_auto_trace_is_not_observed_not_unused() -> None:
    """The Styleguide trial: the worker imports the Celery app module before auto-tracing
    (its receivers run there untraced); the web process auto-traced it and never called
    them. Not unused: listed apart, with the service that could not observe it."""
    import time

    from django_tracekit.core.vocabulary import NOT_AUTOTRACED

    now = int(time.time())
    record_instrumented("web", [("shop/tasks/celery/config_loggers", "shop.tasks.celery"),
                                ("shop/tasks/celery/on_prerun", "shop.tasks.celery"),
                                ("shop/a/g", "shop.a")], now=now)
    record_instrumented("worker", [(NOT_AUTOTRACED + "shop.tasks.celery", "shop.tasks.celery"),
                                   ("shop/a/g", "shop.a")], now=now)
    client = Client()
    client.force_login(viewer())
    page = client.get(reverse("admin:tracekit_unused"), {"range": "7d"}).content.decode()
    assert FUNCTION.findall(page) == ["shop/a/g"]
    assert MODULE.findall(page) == ["shop.a"]  # the marker row is no function nor module
    assert 'data-not-observed="shop.tasks.celery"' in page
    assert "2 functions, not auto-traced in worker" in page
    assert 'id="tk-unused-total">1<' in page


EARLY = '''
def on_prerun(*args, **kwargs):
    return "a receiver"
'''

DECORATORS = '''
def non_concurrent_task(_func=None, **options):
    def wrapper(func):
        def inner(*args, **kwargs):
            return func(*args, **kwargs)
        return inner

    if _func is None:
        return wrapper
    return wrapper(_func)


@non_concurrent_task
def nightly():
    return "ran"
'''

SERVICE_SCRIPT = """
import sys
sys.path.insert(0, os.environ["TK_PACKAGES"])
if os.environ.get("TK_EARLY"):
    import shopunused.early  # as `celery -A` does: before Django is set up
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django_tracekit.destinations import stats
import shopunused.early
import shopunused.decorators
assert shopunused.decorators.nightly() == "ran"
assert stats.flush()
from django.contrib.auth.models import User
from django.test import Client
client = Client()
user = User.objects.filter(username="root").first() or User.objects.create_superuser(
    "root", password="x")
client.force_login(user)
unused = client.get("/admin/django_tracekit/feature/unused/?range=1h")
print(json.dumps({"page": unused.content.decode()}))
"""


def test_two_services_one_of_which_imported_a_module_early(tmp_path: Path) -> None:
    """Real processes: "web" auto-traces ``shopunused.early`` and never calls it: unused.
    Then "worker" imports it before the hook: from then on it is not observed, not unused.
    A decorator factory and its wrapper that ran at import are used, in both."""
    package = tmp_path / "packages" / "shopunused"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "early.py").write_text(EARLY)
    (package / "decorators.py").write_text(DECORATORS)

    def run(service: str, **env: str) -> str:
        settings = {**SITE_SETTINGS, "LOGGING_CONFIG": None,
                    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3",
                                              "NAME": str(tmp_path / "db.sqlite3")}},
                    "TRACEKIT": {"PROJECT_NAME": "shopunused", "EXPORTER": "none",
                                 "SERVICE_NAME": service,
                                 "AUTOTRACE": {"INCLUDE": ["shopunused"]},
                                 "STATS": {"ENABLED": True, "FLUSH_INTERVAL_S": 3600}}}
        out = finish(start_django(SERVICE_SCRIPT, settings, setup=False, env={
            "TK_PACKAGES": str(tmp_path / "packages"), **env}))
        return str(json.loads(out.strip().splitlines()[-1])["page"])

    web = run("web")
    assert FUNCTION.findall(web) == ["shopunused/early/on_prerun"]  # the factory ran
    worker = run("worker", TK_EARLY="1")
    assert FUNCTION.findall(worker) == []
    assert 'data-not-observed="shopunused.early"' in worker
    assert "1 function, not auto-traced in worker" in worker
