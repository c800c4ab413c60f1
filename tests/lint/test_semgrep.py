"""The Semgrep rules and the ast linter agree finding for finding on the corpus.

Semgrep cannot live in the project's venv (it pins OpenTelemetry 1.37), so it is found through
``SEMGREP_BIN`` (``.ci/semgrep-test`` sets it). Unset: the comparison is skipped with a reason.
Set but broken or missing: the test fails, so CI cannot pass without actually comparing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from django_tracekit.lint import RULES_BY_ID, SEMGREP_RULES_PATH, lint_paths
from django_tracekit.lint.semgrep_rules import render
from tests.lint.corpus_support import CORPUS_FILES, NEEDS_311

SEMGREP_FLAGS = ["--metrics=off", "--disable-version-check", "--no-rewrite-rule-ids"]


def test_shipped_yaml_is_generated_from_the_catalogue() -> None:
    # Regenerate with: python -m django_tracekit.lint.semgrep_rules --write
    assert SEMGREP_RULES_PATH.read_text(encoding="utf-8") == render()


def test_shipped_yaml_carries_every_rule_and_message() -> None:
    text = SEMGREP_RULES_PATH.read_text(encoding="utf-8")
    for rule in RULES_BY_ID.values():
        assert f'- id: "{rule.id}"' in text
        assert json.dumps(rule.message) in text


def test_log_instead_of_record_is_advice() -> None:
    # With LOGS on, logger.exception inside a span is recorded on it (tests/logs): the rule
    # is advice (Semgrep INFO), the others are conventions broken (WARNING).
    text = SEMGREP_RULES_PATH.read_text(encoding="utf-8")
    for rule in RULES_BY_ID.values():
        expected = "INFO" if rule.id == "tracekit-log-instead-of-record" else "WARNING"
        assert rule.severity == expected
        block = text.split(f'- id: "{rule.id}"', 1)[1].split("- id:", 1)[0]
        assert f'severity: "{expected}"' in block
    assert RULES_BY_ID["tracekit-log-instead-of-record"].message.startswith("advice: ")


@pytest.fixture
def semgrep_bin() -> str:
    value = os.environ.get("SEMGREP_BIN")
    if not value:
        pytest.skip("SEMGREP_BIN is not set: run .ci/semgrep-test to compare with Semgrep")
    resolved = shutil.which(value)
    if resolved is None:
        pytest.fail(f"SEMGREP_BIN={value!r} is not an executable")
    return resolved


def _run_semgrep(semgrep: str, targets: list[Path]) -> dict[str, object]:
    proc = subprocess.run(
        [
            semgrep,
            "scan",
            *SEMGREP_FLAGS,
            "--json",
            "--quiet",
            "--config",
            str(SEMGREP_RULES_PATH),
            *map(str, targets),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"semgrep exited {proc.returncode}:\n{proc.stderr[-4000:]}"
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def test_semgrep_and_tracekit_lint_agree_on_the_corpus(semgrep_bin: str, tmp_path: Path) -> None:
    # Copy the corpus: scanning under tests/ directly would depend on Semgrep's default
    # ignore list, which skips tests/ directories.
    for path in CORPUS_FILES:
        if path.name in NEEDS_311 and sys.version_info < (3, 11):
            continue  # the ast engine cannot parse it on this Python
        shutil.copy(path, tmp_path / path.name)
    targets = sorted(tmp_path.glob("*.py"))
    output = _run_semgrep(semgrep_bin, targets)
    assert output["errors"] == []
    results = output["results"]
    assert isinstance(results, list)
    from_semgrep = {
        (
            Path(r["path"]).name,
            r["start"]["line"],
            r["start"]["col"],
            r["check_id"].rsplit(".", 1)[-1],
            r["extra"]["message"].strip(),
        )
        for r in results
    }
    from_ast = {
        (Path(f.path).name, f.line, f.col, f.rule, f.message)
        for f in lint_paths([tmp_path]).findings
    }
    assert from_semgrep == from_ast
    # Not vacuous: every rule fires somewhere in the corpus.
    assert {finding[3] for finding in from_ast} == set(RULES_BY_ID)


def test_semgrep_honours_nosemgrep_like_tracekit_lint(semgrep_bin: str, tmp_path: Path) -> None:
    source = (
        "import django_tracekit as tracekit\n"
        "with tracekit.span('a'):  # nosemgrep: tracekit-literal-span-name\n"
        "    pass\n"
        "with tracekit.span('b'):\n"
        "    pass\n"
    )
    target = tmp_path / "module.py"
    target.write_text(source, encoding="utf-8")
    results = _run_semgrep(semgrep_bin, [target])["results"]
    assert isinstance(results, list)
    assert [(r["start"]["line"], r["check_id"].rsplit(".", 1)[-1]) for r in results] == [
        (4, "tracekit-literal-span-name")
    ]
    assert [(f.line, f.rule) for f in lint_paths([target]).findings] == [
        (4, "tracekit-literal-span-name")
    ]
