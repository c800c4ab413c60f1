"""What the project is: PROJECT_NAME's default, whose code gets the prefix, worker processes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from django_tracekit.conf import resolve
from django_tracekit.core import naming, project
from django_tracekit.core.naming import convention_name, name_for


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A bookwyrm-like checkout: the app ``bookwyrm``, the worker's settings package
    ``celerywyrm``, and a virtualenv inside the checkout with a library in it."""
    for package in ("bookwyrm", "celerywyrm"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    library = tmp_path / ".venv" / "lib" / "python3.11" / "site-packages" / "bookshelf"
    library.mkdir(parents=True)
    (library / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(library.parent))
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("bookwyrm", "celerywyrm", "bookshelf"):  # imported by an earlier test
        monkeypatch.delitem(sys.modules, name, raising=False)
    project.clear_cache()
    yield tmp_path
    for name in ("bookwyrm", "celerywyrm", "bookshelf"):
        sys.modules.pop(name, None)
    project.clear_cache()


WEB_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "django_tracekit",
            "bookshelf", "bookwyrm"]


def test_web_and_worker_settings_name_one_project(checkout: Path) -> None:
    """bookwyrm's worker settings import the web ones and change ROOT_URLCONF (and add their
    own app): both processes must name the project alike, or one function is two features
    (``bookwyrm/...`` and ``celerywyrm/bookwyrm/...``)."""
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=WEB_APPS,
                           ROOT_URLCONF="bookwyrm.urls"):
        web = resolve({}, {}).project_name
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=[*WEB_APPS, "celerywyrm"],
                           ROOT_URLCONF="celerywyrm.urls"):
        worker = resolve({}, {}).project_name
        # The same function, named in the worker process.
        assert convention_name("bookwyrm.models.book", "Book.save") == (
            "bookwyrm/models/book/Book/save")
    assert web == worker == "bookwyrm"


def test_a_library_in_a_virtualenv_inside_the_checkout_is_not_the_project(
        checkout: Path) -> None:
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=WEB_APPS,
                           ROOT_URLCONF="bookwyrm.urls"):
        assert project.lives_in_project("bookshelf") is False  # .venv/.../site-packages
        assert project.lives_in_project("bookwyrm") is True
        assert convention_name("bookshelf.views", "Shelf.get") == "bookshelf/views/Shelf/get"
        assert convention_name("celerywyrm.celery", "app") == "bookwyrm/celerywyrm/celery/app"


def test_project_name_falls_back_to_the_urlconf_then_the_folder(checkout: Path) -> None:
    django_only = ["django.contrib.auth", "django.contrib.contenttypes", "django_tracekit"]
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=django_only,
                           ROOT_URLCONF="celerywyrm.urls"):
        assert resolve({}, {}).project_name == "celerywyrm"
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=django_only, ROOT_URLCONF=None):
        assert resolve({}, {}).project_name == checkout.name
    with override_settings(BASE_DIR=checkout, INSTALLED_APPS=WEB_APPS):
        assert resolve({"PROJECT_NAME": "shop"}, {}).project_name == "shop"  # explicit wins


def test_tracekit_itself_is_never_the_project_even_under_base_dir() -> None:
    repo = Path(project.__file__).resolve().parents[1]  # tracekit's checkout holds it
    with override_settings(BASE_DIR=repo, ROOT_URLCONF="tests.urls"):
        project.clear_cache()
        assert project.default_project_name() == "tests"
        assert convention_name("django_tracekit.pages.usage.usage_admin",
                               "FeatureUsageAdmin.usage_view") \
            == "django_tracekit/pages/usage/usage_admin/FeatureUsageAdmin/usage_view"
    project.clear_cache()


@pytest.mark.parametrize(("module", "qualname", "expected"), [
    ("django.contrib.admin.sites", "AdminSite.login", "django/contrib/admin/sites/AdminSite/login"),
    ("rest_framework.routers", "APIRootView.get", "rest_framework/routers/APIRootView/get"),
    # Installed in every test profile (an unknown module counts as the project's).
    ("opentelemetry.sdk.trace", "TracerProvider.get_tracer.<locals>.make",
     "opentelemetry/sdk/trace/TracerProvider/get_tracer/make"),
    ("json.decoder", "JSONDecoder.decode", "json/decoder/JSONDecoder/decode"),
    ("tests.samples", "plain", "tests/samples/plain"),  # the project's own
    ("orders.services", "run", "tests/orders/services/run"),  # unknown module: the project's
])
def test_code_outside_the_project_has_no_prefix(module: str, qualname: str,
                                                expected: str) -> None:
    assert convention_name(module, qualname) == expected


def test_name_for_django_code_and_is_project_name() -> None:
    from django.contrib.admin.sites import AdminSite

    name = name_for(AdminSite.login)
    assert name == "django/contrib/admin/sites/AdminSite/login"
    assert not naming.is_project_name(name)
    assert naming.is_project_name("tests/samples/plain")


def test_autotrace_include_declares_code_the_projects() -> None:
    """A team that names its packages in AUTOTRACE['INCLUDE'] says they are its code, even
    installed as a distribution."""
    with override_settings(TRACEKIT={"AUTOTRACE": {"INCLUDE": ["rest_framework"]}}):
        assert convention_name("rest_framework.routers", "APIRootView.get") == (
            "tests/rest_framework/routers/APIRootView/get")
    assert convention_name("rest_framework.routers", "APIRootView.get") == (
        "rest_framework/routers/APIRootView/get")


@pytest.mark.parametrize(("argv", "worker"), [
    (["/venv/bin/celery", "-A", "proj", "worker", "-l", "INFO"], True),
    (["/venv/bin/celery", "--app=proj", "worker"], True),
    (["/usr/lib/python3/site-packages/celery/__main__.py", "-A", "proj", "worker"], True),
    (["/venv/bin/celery", "-A", "worker", "beat"], False),  # an app named "worker"
    (["/venv/bin/celery", "-A", "proj", "inspect", "ping"], False),
    (["/venv/bin/celery", "-b", "redis://", "worker"], True),
    (["manage.py", "runserver"], False),
    (["/venv/bin/gunicorn", "proj.wsgi", "worker"], False),
    ([], False),
])
def test_celery_worker_process(argv: list[str], worker: bool) -> None:
    assert project.celery_worker_process(argv) is worker


def test_worker_service_name_default_and_what_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["/venv/bin/celery", "-A", "tests", "worker"])
    assert resolve({}, {}).service_name == "tests-worker"
    assert resolve({"PROJECT_NAME": "shop"}, {}).service_name == "shop-worker"
    assert resolve({"SERVICE_NAME": "jobs"}, {}).service_name == "jobs"
    assert resolve({}, {"OTEL_SERVICE_NAME": "env-jobs"}).service_name == "env-jobs"
    assert resolve({}, {"OTEL_RESOURCE_ATTRIBUTES": "service.name=res"}).service_name == "res"
    monkeypatch.setattr("sys.argv", ["manage.py", "runserver"])
    assert resolve({}, {}).service_name == "tests"


def test_without_base_dir_the_urlconfs_checkout_is_the_project_root(checkout: Path) -> None:
    """pontoon has ``ROOT``, no ``BASE_DIR``: the folder of ROOT_URLCONF's top package stands
    in (auto-tracing, the version's git commit, lint targets), never a site-packages one."""
    with override_settings(BASE_DIR=None, INSTALLED_APPS=WEB_APPS, ROOT_URLCONF="bookwyrm.urls"):
        assert project.project_root() == str(checkout)
        assert resolve({}, {}).project_name == "bookwyrm"
        assert project.lives_in_project("bookshelf") is False
    with override_settings(BASE_DIR=None, ROOT_URLCONF="bookshelf.urls"):
        assert project.project_root() is None
    with override_settings(BASE_DIR=checkout / "bookwyrm", ROOT_URLCONF="bookwyrm.urls"):
        assert project.project_root() == str(checkout / "bookwyrm")  # BASE_DIR wins
