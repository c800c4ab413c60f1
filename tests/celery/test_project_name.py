"""One project, two processes: a bookwyrm-like checkout whose worker settings use another
ROOT_URLCONF (``celerywyrm.urls``) names the project alike in both, and the worker's
service defaults to ``{PROJECT_NAME}-worker`` (a real prefork worker and runserver)."""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.celery.helpers import KIND_CONSUMER, wait_trace
from tests.support.otlp_receiver import OtlpHttpReceiver
from tests.support.processes import READY_TIMEOUT_S, GroupProcess, clean_env, free_port
from tests.support.projects import write_project

pytestmark = pytest.mark.requires("celery", "opentelemetry.exporter.otlp")

FILES = {
    "bookwyrm/__init__.py": "",
    "bookwyrm/settings.py": """\
        import os
        from pathlib import Path
        BASE_DIR = Path(__file__).resolve().parent.parent
        SECRET_KEY = "x"
        USE_TZ = True
        ALLOWED_HOSTS = ["127.0.0.1"]
        INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth",
                          "django_tracekit", "bookwyrm"]
        MIDDLEWARE = ["django_tracekit.middleware.TracekitMiddleware"]
        ROOT_URLCONF = "bookwyrm.urls"
        DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
        _data = Path(os.environ["TK_DATA"])
        CELERY_BROKER_URL = "filesystem://"
        CELERY_BROKER_TRANSPORT = "example_project.filesystem_broker:Transport"
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(_data), "data_folder_out": str(_data),
            "polling_interval": 0.05}
        TRACEKIT = {"EXPORTER": "otlp", "OTLP_ENDPOINT": os.environ["TK_OTLP_ENDPOINT"],
                    "STATS": {"ENABLED": False}, "TRACES": {"ENABLED": False},
                    "EXCLUDED_URLS": [r"^/healthz/"]}
        """,
    "bookwyrm/celery_app.py": """\
        from celery import Celery
        app = Celery("bookwyrm", include=["bookwyrm.tasks"])
        app.config_from_object("django.conf:settings", namespace="CELERY")
        """,
    "bookwyrm/books.py": """\
        import django_tracekit as tracekit

        @tracekit.traced
        def shelve(book_id):
            return book_id
        """,
    "bookwyrm/tasks.py": """\
        from bookwyrm import books
        from bookwyrm.celery_app import app

        @app.task
        def shelve_later(book_id):
            return books.shelve(book_id)
        """,
    "bookwyrm/urls.py": """\
        import json
        from django.http import HttpResponse
        from django.urls import path
        from opentelemetry import trace
        from bookwyrm import books, tasks

        def shelve(request):
            books.shelve(1)
            tasks.shelve_later.delay(2)
            trace_id = format(trace.get_current_span().get_span_context().trace_id, "032x")
            return HttpResponse(json.dumps({"trace_id": trace_id}))

        urlpatterns = [path("shelve/", shelve), path("healthz/", lambda r: HttpResponse("ok"))]
        """,
    # The worker's settings: the web ones, another URLconf, one more app (as bookwyrm's).
    "celerywyrm/__init__.py": "",
    "celerywyrm/settings.py": """\
        from bookwyrm.settings import *  # noqa: F403
        ROOT_URLCONF = "celerywyrm.urls"
        INSTALLED_APPS = INSTALLED_APPS + ["celerywyrm"]  # noqa: F405
        """,
    "celerywyrm/urls.py": "urlpatterns = []\n",
    "celerywyrm/celery.py": """\
        import os
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celerywyrm.settings")
        from bookwyrm.celery_app import app  # noqa: E402
        """,
}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory,
             receiver: OtlpHttpReceiver) -> Iterator[tuple[str, Path]]:
    root = write_project(tmp_path_factory.mktemp("bookwyrm"), FILES)
    data = root / "broker"
    data.mkdir()
    logs = tmp_path_factory.mktemp("bookwyrm-logs")
    env = {"TK_DATA": str(data), "TK_OTLP_ENDPOINT": receiver.endpoint}
    port = free_port()
    processes = []
    try:
        worker = GroupProcess("worker", [
            sys.executable, "-m", "celery", "-A", "celerywyrm", "worker", "-P", "prefork",
            "-c", "1", "--loglevel=INFO", "--without-gossip", "--without-mingle",
            "--without-heartbeat"],
            clean_env("celerywyrm.settings", pythonpath=(str(root),), **env),
            logs / "worker.log", cwd=root)
        processes.append(worker)
        server = GroupProcess("server", [
            sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
            clean_env("bookwyrm.settings", pythonpath=(str(root),), **env),
            logs / "server.log", cwd=root)
        processes.append(server)
        worker.wait_for_log(" ready.", READY_TIMEOUT_S)
        server.wait_http(f"http://127.0.0.1:{port}/healthz/", READY_TIMEOUT_S)
        yield f"http://127.0.0.1:{port}", logs
    finally:
        for process in reversed(processes):
            process.stop(grace=3.0)


def test_one_function_is_one_feature_in_web_and_worker(
        checkout: tuple[str, Path], receiver: OtlpHttpReceiver) -> None:
    base_url, logs = checkout
    with urllib.request.urlopen(base_url + "/shelve/", timeout=30) as reply:
        trace_id = json.loads(reply.read())["trace_id"]
    task = "bookwyrm/tasks/shelve_later"
    try:
        # The request's span ends after its response is sent: waited for like the others.
        spans = wait_trace(receiver, trace_id,
                           {"bookwyrm/books/shelve": 2, task: 1, "GET /shelve/": 1})
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n" + "\n".join(
            (logs / f"{n}.log").read_text()[-3000:] for n in ("worker", "server"))) from None

    shelve = [s for s in spans if s.name.endswith("books/shelve")]
    # One name from both processes: no "celerywyrm/bookwyrm/books/shelve".
    assert {(s.name, s.resource["service.name"]) for s in shelve} == {
        ("bookwyrm/books/shelve", "bookwyrm"), ("bookwyrm/books/shelve", "bookwyrm-worker")}
    consumer = next(s for s in spans if s.name == task)
    assert consumer.kind == KIND_CONSUMER and consumer.resource["service.name"] == (
        "bookwyrm-worker")
    server = next(s for s in spans if s.name == "GET /shelve/")
    assert server.resource["service.name"] == "bookwyrm"  # the web process: PROJECT_NAME
    assert not [s.name for s in spans if "celerywyrm" in s.name]
