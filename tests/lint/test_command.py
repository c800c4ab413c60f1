"""``manage.py tracekit_lint``: output format, exit codes, JSON, suppression, default paths."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from io import StringIO
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_tracekit.lint import RULES_BY_ID
from django_tracekit.lint.project import own_app_paths

REPO = Path(__file__).resolve().parents[2]
CLEAN = (
    "import django_tracekit as tracekit\n"
    "\n"
    "\n"
    "@tracekit.traced\n"
    "def checkout(order):\n"
    "    try:\n"
    "        order.pay()\n"
    "    except ValueError as exc:\n"
    "        tracekit.record_error(exc)\n"
)
SWALLOW = "    except ValueError as exc:\n        tracekit.record_error(exc)\n"
SWALLOWED = "    except ValueError:\n        return None\n"


def _lint(*args: str) -> tuple[int, str, str]:
    """Run the command like manage.py would; return (exit code, stdout, stderr)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("tracekit_lint", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: clean to start with; tests seed violations into a copy of it."""
    root = tmp_path / "shop"
    (root / "orders").mkdir(parents=True)
    (root / "orders" / "__init__.py").write_text("")
    (root / "orders" / "services.py").write_text(CLEAN)
    (root / "orders" / "views.py").write_text("def index(request):\n    return None\n")
    return root


def test_clean_project_exits_zero_and_prints_nothing(project: Path) -> None:
    assert _lint(str(project)) == (0, "", "")


def test_seeded_violation_in_a_copy_is_reported_with_the_right_line(
    project: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    services = copy / "orders" / "services.py"
    services.write_text(services.read_text().replace(SWALLOW, SWALLOWED))

    code, out, err = _lint(str(copy))

    rule = RULES_BY_ID["tracekit-unrecorded-exception"]
    # Line 9 is `return None`, the first statement of the swallowing handler.
    assert out == f"{services}:9:9: {rule.id} {rule.message}\n"
    assert (code, err) == (1, "")
    # The original is untouched and still clean.
    assert _lint(str(project))[0] == 0


def test_json_format(project: Path) -> None:
    views = project / "orders" / "views.py"
    views.write_text(
        "from opentelemetry import trace\n"
        "tracer = trace.get_tracer(__name__)\n"
        "def index(request):\n"
        "    with tracer.start_as_current_span('index'):\n"
        "        return None\n"
    )
    code, out, _ = _lint("--format", "json", str(project))
    assert code == 1
    assert json.loads(out) == {
        "findings": [
            {
                "path": str(views),
                "line": 4,
                "col": 10,
                "rule": "tracekit-literal-span-name",
                "message": RULES_BY_ID["tracekit-literal-span-name"].message,
            }
        ],
        "errors": [],
    }


def test_json_format_when_clean(project: Path) -> None:
    code, out, _ = _lint("--format=json", str(project))
    assert (code, json.loads(out)) == (0, {"findings": [], "errors": []})


def test_tracekit_ignore_comment_suppresses_only_the_named_rule_on_its_line(
    tmp_path: Path,
) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "import django_tracekit as tracekit\n"
        "with tracekit.span('a'):  # tracekit: ignore[tracekit-literal-span-name]\n"
        "    pass\n"
        "with tracekit.span('b'):  # tracekit: ignore[tracekit-unended-span]\n"
        "    pass\n"
        "with tracekit.span('c'):  # tracekit: ignore\n"
        "    pass\n"
        "# tracekit: ignore[tracekit-literal-span-name]\n"
        "with tracekit.span('d'):\n"
        "    pass\n"
    )
    code, out, _ = _lint(str(module))
    # 'b' names another rule; 'd' has the comment on the line above, which is not its line.
    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == [
        f"{module}:4:6",
        f"{module}:9:6",
    ]


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no such file or directory") as info:
        _lint(str(tmp_path / "nope"))
    assert info.value.returncode == 2


def test_syntax_error_is_reported_and_other_files_still_linted(project: Path) -> None:
    broken = project / "orders" / "broken.py"
    broken.write_text("def f(:\n    pass\n")
    services = project / "orders" / "services.py"
    services.write_text(services.read_text().replace(SWALLOW, SWALLOWED))

    code, out, err = _lint(str(project))

    assert code == 2  # the lint is incomplete: not "clean", not just "findings"
    assert err.startswith(f"{broken}:1:7: error: could not parse: ")
    assert out.startswith(f"{services}:9:9: tracekit-unrecorded-exception ")


def test_default_paths_are_the_projects_own_apps(
    project: Path, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    from django.apps import apps

    services = project / "orders" / "services.py"
    services.write_text(services.read_text().replace(SWALLOW, SWALLOWED))
    outside = project.parent / "site-packages" / "thirdparty"
    outside.mkdir(parents=True)
    (outside / "bad.py").write_text(services.read_text())  # must not be linted
    configs = [SimpleNamespace(path=str(project / "orders")), SimpleNamespace(path=str(outside))]
    monkeypatch.setattr(apps, "get_app_configs", lambda: configs)
    settings.BASE_DIR = project  # type: ignore[attr-defined]

    code, out, _ = _lint()

    assert code == 1
    assert [line.split(": ")[0] for line in out.splitlines()] == [f"{services}:9:9"]


def test_own_app_paths_rules(tmp_path: Path) -> None:
    base = tmp_path / "proj"
    inner = base / "app" / "sub"
    inner.mkdir(parents=True)
    elsewhere = tmp_path / "venv" / "django"
    elsewhere.mkdir(parents=True)
    # Apps outside BASE_DIR are dropped; an app nested in another is covered by its parent.
    assert own_app_paths(base, [base / "app", inner, elsewhere]) == [(base / "app").resolve()]
    # No app under BASE_DIR: lint BASE_DIR itself rather than nothing.
    assert own_app_paths(base, [elsewhere]) == [base.resolve()]


def test_zero_django_entry_point_exit_codes(project: Path, tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "django_tracekit.lint", *args],
            capture_output=True,
            text=True,
            cwd=REPO,
            check=False,
            # No DJANGO_SETTINGS_MODULE: the engine must not need Django configured.
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        )

    assert run(str(project)).returncode == 0
    services = project / "orders" / "services.py"
    services.write_text(services.read_text().replace(SWALLOW, SWALLOWED))
    seeded = run(str(project))
    assert (seeded.returncode, seeded.stdout.split(": ")[0]) == (1, f"{services}:9:9")
    missing = run(str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert "no such file or directory" in missing.stderr


def test_example_project_lints_clean() -> None:
    example = REPO / "example_project"
    if not any(example.rglob("*.py")):
        pytest.skip("example_project has no Python code yet")
    code, out, err = _lint(str(example))
    assert (code, out, err) == (0, "", "")
