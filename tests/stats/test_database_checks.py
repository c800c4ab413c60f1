"""The system checks of ``STATS['DATABASE']`` as ``manage.py check`` prints them, and the
router's decisions: E037 (alias not in DATABASES), E052 (tables not routed there), W040
(not migrated there, with the exact command), none once all is right."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from django.test import override_settings

from django_tracekit.models import Feature, Trace
from django_tracekit.routers import TracekitRouter
from tests.support.processes import free_port
from tests.support.projects import check_lines, manage, write_project

TWO_FILES = """
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3",
                         "NAME": BASE_DIR / "db.sqlite3"},
             "tracekit": {"ENGINE": "django.db.backends.sqlite3",
                          "NAME": BASE_DIR / "tracekit.sqlite3"}}
TRACEKIT = {"EXPORTER": "none", "STATS": {"DATABASE": "tracekit"}}
"""
ROUTED = TWO_FILES + 'DATABASE_ROUTERS = ["django_tracekit.routers.TracekitRouter"]\n'


def checks(root: Path) -> list[tuple[str, str, str]]:
    done = manage(root, "check")
    return [(line.id, line.msg, line.hint) for line in check_lines(done.stdout + done.stderr)]


def test_an_alias_missing_from_databases_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": TWO_FILES.replace(
        '"DATABASE": "tracekit"', '"DATABASE": "stats"')})
    [(id_, msg, hint)] = checks(root)
    assert id_ == "django_tracekit.E037"
    assert msg == ("TRACEKIT['STATS']['DATABASE'] is 'stats', which is not in DATABASES "
                   "(aliases: 'default', 'tracekit'): tracekit's tables stay on the default "
                   "database.")
    assert hint == "Add 'stats' to DATABASES, or set TRACEKIT['STATS']['DATABASE'] to one of them."


def test_an_alias_without_the_router_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": TWO_FILES})
    [(id_, msg, hint)] = checks(root)
    assert id_ == "django_tracekit.E052"
    assert msg == ("TRACEKIT['STATS']['DATABASE'] is 'tracekit' but tracekit's tables are not "
                   "routed there: django_tracekit.routers.TracekitRouter is not in "
                   "DATABASE_ROUTERS, so they go to 'default'.")
    assert hint == ("Add 'django_tracekit.routers.TracekitRouter' to DATABASE_ROUTERS, then "
                    "run: python manage.py migrate --database=tracekit")
    assert not (root / "tracekit.sqlite3").exists()


def test_a_router_before_it_that_claims_the_tables_is_an_error(tmp_path: Path) -> None:
    root = write_project(tmp_path, {
        "proj/settings.py": TWO_FILES + 'DATABASE_ROUTERS = ["proj.routers.Everything", '
                                        '"django_tracekit.routers.TracekitRouter"]\n',
        "proj/routers.py": """
            class Everything:
                def db_for_write(self, model, **hints):
                    return "default"
            """})
    [(id_, msg, hint)] = checks(root)
    assert id_ == "django_tracekit.E052"
    assert "a router listed before django_tracekit.routers.TracekitRouter sends them to " \
           "'default'" in msg
    assert hint.startswith("List 'django_tracekit.routers.TracekitRouter' first")


def test_not_migrated_says_the_command_and_creates_no_file(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": ROUTED})
    [(id_, msg, hint)] = checks(root)
    assert id_ == "django_tracekit.W040"
    assert msg.startswith("tracekit's tables are not migrated on database 'tracekit' "
                          "(TRACEKIT['STATS']['DATABASE'])")
    assert hint == "Run: python manage.py migrate --database=tracekit"
    assert not (root / "tracekit.sqlite3").exists()

    # Migrating "default" alone changes nothing for tracekit's database ...
    assert manage(root, "migrate", "-v", "0").returncode == 0
    assert [c[0] for c in checks(root)] == ["django_tracekit.W040"]
    assert not (root / "tracekit.sqlite3").exists()
    # ... migrating it does.
    done = manage(root, "migrate", "--database=tracekit")
    assert done.returncode == 0, done.stderr
    assert "Applying django_tracekit.0001" in done.stdout
    assert checks(root) == []


def test_partly_migrated_names_what_is_missing(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": ROUTED})
    done = manage(root, "migrate", "--database=tracekit", "django_tracekit", "0001", "-v", "0")
    assert done.returncode == 0, done.stderr
    [(id_, msg, _)] = checks(root)
    assert id_ == "django_tracekit.W040"
    assert "0001_initial" not in msg and "0002" in msg


@pytest.mark.parametrize("server", ["closed", "black-holed"])
def test_an_unreachable_server_is_a_warning_not_a_traceback(tmp_path: Path, server: str) -> None:
    with socket.socket() as hole:
        if server == "closed":
            port = free_port()  # nothing listens there: refused at once
        else:  # listens, never accepts nor answers: only the connect timeout ends the wait
            hole.bind(("127.0.0.1", 0))
            hole.listen(8)
            port = hole.getsockname()[1]
        root = write_project(tmp_path, {"proj/settings.py": ROUTED + f"""
DATABASES["tracekit"] = {{"ENGINE": "django.db.backends.postgresql", "NAME": "nowhere",
                         "USER": "postgres", "HOST": "127.0.0.1", "PORT": "{port}"}}
"""})
        done = manage(root, "check")
    [line] = check_lines(done.stdout + done.stderr)
    assert line.id == "django_tracekit.W040" and "could not be read" in line.msg, line
    assert line.hint == ("Check DATABASES['tracekit']. "
                         "Run: python manage.py migrate --database=tracekit")
    assert "Traceback" not in done.stderr


def test_the_default_alias_needs_no_router_and_says_nothing(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"proj/settings.py": 'TRACEKIT = {"EXPORTER": "none"}\n'})
    assert checks(root) == []


ALIASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
           "tracekit": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}


# The router reads DATABASES; these tests open no connection.
QUIET = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")


@QUIET
@override_settings(DATABASES=ALIASES, TRACEKIT={"STATS": {"DATABASE": "tracekit"}})
def test_the_router_sends_tracekit_and_only_tracekit_there() -> None:
    router = TracekitRouter()
    assert router.db_for_read(Feature) == router.db_for_write(Trace) == "tracekit"
    from django.contrib.auth.models import User

    assert router.db_for_read(User) is None and router.db_for_write(User) is None
    assert router.allow_migrate("tracekit", "django_tracekit") is True
    assert router.allow_migrate("default", "django_tracekit") is False
    assert router.allow_migrate("tracekit", "auth") is False  # a database of tracekit's own
    assert router.allow_migrate("default", "auth") is None  # not its decision
    feature, trace, user = Feature(name="a"), Trace(trace_id="0" * 32), User(username="u")
    assert router.allow_relation(feature, trace) is True
    assert router.allow_relation(feature, user) is False
    assert router.allow_relation(user, User(username="v")) is None


@QUIET
@pytest.mark.parametrize("alias", ["default", "missing"])
def test_the_router_decides_nothing_for_default_or_a_missing_alias(alias: str) -> None:
    with override_settings(DATABASES=ALIASES, TRACEKIT={"STATS": {"DATABASE": alias}}):
        router = TracekitRouter()
        assert router.db_for_write(Feature) is None
        assert router.allow_migrate("default", "django_tracekit") is None
        assert router.allow_migrate("tracekit", "auth") is None


def test_tracekit_status_names_the_database_and_a_routing_that_disagrees(tmp_path: Path) -> None:
    routed = write_project(tmp_path / "routed", {"proj/settings.py": ROUTED})
    assert "database:      tracekit\n" in manage(routed, "tracekit_status").stdout
    unrouted = write_project(tmp_path / "unrouted", {"proj/settings.py": TWO_FILES})
    out = manage(unrouted, "tracekit_status").stdout
    assert ("database:      default (STATS['DATABASE'] is 'tracekit', but the routers send "
            "tracekit's tables to 'default': see manage.py check)") in out
    assert not (unrouted / "tracekit.sqlite3").exists()
