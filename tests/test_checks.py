"""Every invalid value is a django_tracekit.E0xx error (W0xx warning), via run_checks()."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error, Warning
from django.core.checks.registry import registry
from django.test import override_settings

import django_tracekit
from django_tracekit.sources.http.checks import MIDDLEWARE_PATH
from tests import settings as test_settings
from tests.conftest import _installed
from tests.support.projects import check_lines, manage, write_project


def tracekit_messages() -> list[Any]:
    return [m for m in registry.run_checks(tags=["django_tracekit"])
            if m.id and m.id.startswith("django_tracekit.")]


def check_ids(tracekit: Any) -> list[str]:
    if isinstance(tracekit, dict) and "EXPORTER" not in tracekit:
        # Keep the default exporter's presence (profile-dependent) out of these checks.
        tracekit = {**tracekit, "EXPORTER": "none"}
    with override_settings(TRACEKIT=tracekit):
        return sorted(m.id for m in tracekit_messages())


def test_test_settings_are_clean() -> None:
    assert tracekit_messages() == []


@pytest.mark.parametrize(("tracekit", "expected"), [
    ({"SAMPLE_RATE": "0.5"}, ["django_tracekit.E003"]),
    ({"SAMPLE_RATE": True}, ["django_tracekit.E003"]),
    ({"SAMPLE_RATE": 1.5}, ["django_tracekit.E003"]),
    ({"SAMPLE_RATE": -0.1}, ["django_tracekit.E003"]),
    ({"EXPORTER": "zipkin"}, ["django_tracekit.E004"]),
    ({"EXPORTER": "nowhere.module.factory"}, ["django_tracekit.E005"]),
    ({"EXPORTER": "tests.settings.SECRET_KEY"}, ["django_tracekit.E005"]),
    ({"OTLP_ENDPOINT": "collector:4318"}, ["django_tracekit.E006"]),
    ({"OTLP_ENDPOINT": "ftp://collector"}, ["django_tracekit.E006"]),
    ({"OTLP_PROTOCOL": "http/json"}, ["django_tracekit.E007"]),
    ({"EXCLUDED_URLS": ["(unclosed"]}, ["django_tracekit.E009"]),
    ({"PROJECT_NAME": "my shop/x"}, ["django_tracekit.E010"]),
    ({"AUTOTRACE": {"INCLUDE": "shop"}}, ["django_tracekit.E011"]),
    ({"AUTOTRACE": {"MIN_DURATION_MS": -1}}, ["django_tracekit.E034"]),
    ({"STATS": {"FLUSH_INTERVAL_S": 0}}, ["django_tracekit.E012"]),
    ({"STATS": {"RETENTION_DAYS": "90"}}, ["django_tracekit.E035"]),
    ({"STATS": {"DATABASE": ""}}, ["django_tracekit.E037"]),
    ({"SENTRY": {"DSN": "not-a-dsn"}}, ["django_tracekit.E013"]),
    ({"ERRORS": {"MAX_FRAMES": 0}}, ["django_tracekit.E039"]),
    ({"TRACES": {"MAX_TRACES": 0}}, ["django_tracekit.E043"]),
    ({"DB": {"N_PLUS_ONE": 1}}, ["django_tracekit.E046"]),
    ({"EXPORER": "otlp"}, ["django_tracekit.W001"]),
    ({"STATS": {"ENABLE": True}}, ["django_tracekit.W001"]),
])
def test_invalid_setting_is_reported(tracekit: Any, expected: list[str]) -> None:
    assert check_ids(tracekit) == expected


def test_tracekit_not_a_dict() -> None:
    ids = check_ids("not a dict")
    # W002 may follow in the core profile: the defaults then apply, otlp included.
    assert [i for i in ids if i != "django_tracekit.W002"] == ["django_tracekit.E001"]


def test_message_names_the_key_and_the_fix() -> None:
    with override_settings(TRACEKIT={"SAMPLE_RATE": 2, "EXPORTER": "none"}):
        (message,) = tracekit_messages()
    assert isinstance(message, Error)
    assert "TRACEKIT['SAMPLE_RATE']" in message.msg and "outside 0..1" in message.msg
    assert message.hint and "0.1" in message.hint


def test_unknown_key_warning_suggests_the_close_match() -> None:
    with override_settings(TRACEKIT={"SAMPEL_RATE": 0.1, "EXPORTER": "none"}):
        (message,) = tracekit_messages()
    assert isinstance(message, Warning) and "SAMPLE_RATE" in (message.hint or "")


def test_invalid_env_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "lots")
    assert check_ids({}) == ["django_tracekit.E008"]
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "7")
    assert check_ids({}) == ["django_tracekit.E003"]


def test_otlp_exporter_presence() -> None:
    """Full profile: clean. Core profile (no otlp extra): the default is a warning, an
    explicit choice an error, each naming the extra to install."""
    if _installed("opentelemetry.exporter.otlp.proto.http"):
        assert check_ids({"EXPORTER": "otlp"}) == []
        assert check_ids({"SAMPLE_RATE": 1.0, "EXPORTER": "otlp"}) == []
        return
    assert check_ids({}) == []  # no endpoint: the default is "none", nothing to install
    with override_settings(TRACEKIT={"OTLP_ENDPOINT": "http://collector:4318"}):
        (warning,) = tracekit_messages()
    assert warning.id == "django_tracekit.W002" and "django-tracekit[otlp]" in warning.hint
    assert check_ids({"EXPORTER": "otlp"}) == ["django_tracekit.E014"]


def _middleware_ids(middleware: list[str]) -> list[str]:
    with override_settings(MIDDLEWARE=middleware):
        return sorted(m.id for m in tracekit_messages())


def test_middleware_missing_duplicated_misplaced() -> None:
    others = [m for m in test_settings.MIDDLEWARE if m != MIDDLEWARE_PATH]
    assert _middleware_ids(others) == ["django_tracekit.W020"]
    assert _middleware_ids([MIDDLEWARE_PATH, *others, MIDDLEWARE_PATH]) == [
        "django_tracekit.E021"]
    assert _middleware_ids([others[0], MIDDLEWARE_PATH, *others[1:]]) == ["django_tracekit.W022"]
    assert _middleware_ids([MIDDLEWARE_PATH, *others]) == []


@pytest.mark.parametrize(("middleware", "expected"), [
    ('["django.middleware.common.CommonMiddleware", "{tk}"]', "django_tracekit.W022"),
    ('["django.middleware.common.CommonMiddleware"]', "django_tracekit.W020"),
], ids=["misplaced", "absent"])
def test_middleware_placement_does_not_block_migrate(tmp_path: Path, middleware: str,
                                                     expected: str) -> None:
    """A warning, not an error: Django refuses `migrate` (and `runserver`) on any error."""
    root = write_project(tmp_path, {
        "proj/settings.py": f"MIDDLEWARE = {middleware.format(tk=MIDDLEWARE_PATH)}\n"})
    result = manage(root, "migrate", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Applying auth.0001_initial... OK" in result.stdout
    assert [line.id for line in check_lines(result.stderr)] == [expected]


def test_duplicated_middleware_stays_an_error(tmp_path: Path) -> None:
    """Every request would be counted twice: Django stops, naming the fix."""
    root = write_project(tmp_path, {
        "proj/settings.py": "MIDDLEWARE = MIDDLEWARE + [MIDDLEWARE[0]]\n"})
    result = manage(root, "migrate", "--noinput")
    assert result.returncode != 0
    assert "SystemCheckError" in result.stderr
    [line] = check_lines(result.stderr)
    assert line.id == "django_tracekit.E021" and line.hint == "Keep one, as the first entry."


def test_admin_urls_missing_says_where_the_pages_would_be() -> None:
    with override_settings(ROOT_URLCONF="tests.http.drf_urls"):  # no admin URLs
        (warning,) = tracekit_messages()
        assert warning.id == "django_tracekit.W023"
        assert "admin's URLs are not in the URLconf" in warning.msg
        assert "path('admin/', admin.site.urls)" in warning.hint
        # Nothing to show (stats and trace store off): nothing to say.
        with override_settings(TRACEKIT={"STATS": {"ENABLED": False},
                                         "TRACES": {"ENABLED": False}}):
            assert tracekit_messages() == []
    assert tracekit_messages() == []  # the test settings route the admin


def test_admin_not_installed_is_a_warning_that_does_not_block_migrate(tmp_path: Path) -> None:
    """A real project had the admin switched off and nothing said where the pages were."""
    root = write_project(tmp_path, {"proj/settings.py": "SILENCED_SYSTEM_CHECKS = []\n"})
    result = manage(root, "migrate", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = check_lines(result.stderr)
    assert line.id == "django_tracekit.W023"
    assert "'django.contrib.admin' is not in INSTALLED_APPS" in line.msg
    assert "/admin/django_tracekit/" in line.hint and "SILENCED_SYSTEM_CHECKS" in line.hint


def _documented_ids() -> set[str]:
    text = (Path(__file__).resolve().parent.parent / "docs" / "checks.md").read_text()
    return set(re.findall(r"^\| ([EW]0\d\d) \|", text, flags=re.MULTILINE))


def test_every_check_id_the_code_uses_is_documented_once() -> None:
    package = Path(django_tracekit.__file__).resolve().parent
    used = {match for path in package.rglob("*.py")
            for match in re.findall(r"\b([EW]0\d\d)\b", path.read_text())}
    assert used - _documented_ids() == set()
    assert _documented_ids() - used == set()


def test_each_key_has_its_own_id() -> None:
    from django_tracekit.conf import (
        autotrace,
        cache,
        celery,
        commands,
        db,
        errors,
        export,
        http_client,
        logs,
        metrics,
        sentry,
        stats,
        toplevel,
        traces,
    )

    ids = [i for module in (autotrace, cache, celery, commands, db, errors, export, http_client,
                            logs, metrics, sentry, stats, toplevel, traces)
           for i in module.CHECK_IDS.values()]
    assert len(ids) == len(set(ids))
    assert set(ids) <= _documented_ids()


@pytest.mark.parametrize(("section", "key", "value"), [
    ("TRACES", "ENABLED", "yes"), ("TRACES", "RETENTION_HOURS", 0),
    ("TRACES", "MAX_TRACES", 1.5), ("TRACES", "SAMPLE_RATE", 2),
    ("TRACES", "MAX_SPANS_PER_TRACE", -1),
])
def test_each_traces_key_is_reported_under_its_own_id(section: str, key: str,
                                                      value: object) -> None:
    from django_tracekit.conf import traces

    expected = f"django_tracekit.{traces.CHECK_IDS[key]}"
    assert check_ids({section: {key: value}}) == [expected]


MISAGO_LAYOUT = {
    # BASE_DIR is the settings package (Misago's devproject/); the team's app sits beside it.
    "proj/settings.py": 'BASE_DIR = Path(__file__).resolve().parent\n'
                        'INSTALLED_APPS = [*INSTALLED_APPS, "forumcore"]\n',
    "forumcore/__init__.py": "",
    "forumcore/models.py": "",
}


def test_apps_beside_a_base_dir_package_say_set_project_name(tmp_path: Path) -> None:
    root = write_project(tmp_path, MISAGO_LAYOUT)
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    [line] = [one for one in check_lines(result.stderr) if one.id == "django_tracekit.W041"]
    assert "beside BASE_DIR" in line.msg and "'forumcore'" in line.msg, line.msg
    assert "PROJECT_NAME defaults to 'proj'" in line.msg
    assert line.hint == "Set TRACEKIT['PROJECT_NAME'] = 'forumcore' (the top package of the " \
                        "team's code)."


def test_project_name_set_silences_w041(tmp_path: Path) -> None:
    root = write_project(tmp_path, {**MISAGO_LAYOUT, "proj/settings.py": (
        MISAGO_LAYOUT["proj/settings.py"]
        + 'TRACEKIT = {**TRACEKIT, "PROJECT_NAME": "forumcore"}\n')})
    result = manage(root, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "django_tracekit.W041" not in result.stderr
    assert "System check identified no issues" in result.stdout
