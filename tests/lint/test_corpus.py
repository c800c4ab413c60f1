"""The ast linter finds exactly the findings annotated in the corpus, no more, no less."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from django_tracekit.lint import RULES, lint_source
from tests.lint.corpus_support import CORPUS_FILES, NEEDS_311, annotations, corpus_params


@pytest.mark.parametrize("path", corpus_params())
def test_ast_linter_finds_exactly_the_annotated_findings(path: Path) -> None:
    expected, ok = annotations(path)
    found = {(f.line, f.rule) for f in lint_source(path.read_text(encoding="utf-8"), str(path))}
    assert found == expected
    # The ok lines are real negative cases, not annotations that point at nothing.
    assert not found & ok


def test_every_rule_has_positive_and_negative_cases() -> None:
    positives: set[str] = set()
    negatives: set[str] = set()
    for path in CORPUS_FILES:
        expected, ok = annotations(path)
        positives |= {rule for _, rule in expected}
        negatives |= {rule for _, rule in ok}
    rule_ids = {rule.id for rule in RULES}
    assert positives == rule_ids
    assert negatives == rule_ids


def test_annotations_name_only_known_rules() -> None:
    rule_ids = {rule.id for rule in RULES}
    for path in CORPUS_FILES:
        expected, ok = annotations(path)
        assert {rule for _, rule in expected | ok} <= rule_ids, path.name


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="only Python 3.10 rejects except*")
def test_except_star_is_a_parse_error_on_310_not_a_crash() -> None:
    from django_tracekit.lint import lint_file

    (path,) = [p for p in CORPUS_FILES if p.name in NEEDS_311]
    findings, error = lint_file(path)
    assert findings == []
    assert error is not None
    assert error.line == 10
