"""Per-line suppression comments.

``# tracekit: ignore[rule-id, ...]`` (or a bare ``# tracekit: ignore``) silences findings on
its own line. ``# nosemgrep`` / ``# nosemgrep: rule-id, ...`` is honoured as well, so one
comment silences a finding in both the ``ast`` linter and the Semgrep rules.
"""

from __future__ import annotations

import io
import re
import tokenize

ALL = "*"

_TRACEKIT_RE = re.compile(r"#\s*tracekit:\s*ignore(?:\[([^\]]*)\])?")
_NOSEMGREP_RE = re.compile(r"#\s*nosemgrep(?::\s*([\w.,\s-]+))?")


def _ids(group: str | None) -> set[str]:
    if group is None or not group.strip():
        return {ALL}
    # Semgrep may prefix rule ids with the config's directory ("a.b.rule-id"): keep the last part.
    return {part.strip().rsplit(".", 1)[-1] for part in group.split(",") if part.strip()}


def suppressions(source: str) -> dict[int, set[str]]:
    """Map line number -> rule ids suppressed on that line (``ALL`` for every rule)."""
    result: dict[int, set[str]] = {}
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        # The source parsed with ast, so this is not expected; without comments, suppress nothing.
        return result
    for token in tokens:
        if token.type != tokenize.COMMENT:
            continue
        for regex in (_TRACEKIT_RE, _NOSEMGREP_RE):
            match = regex.search(token.string)
            if match:
                result.setdefault(token.start[0], set()).update(_ids(match.group(1)))
    return result


def is_suppressed(table: dict[int, set[str]], line: int, rule_id: str) -> bool:
    ids = table.get(line, set())
    return ALL in ids or rule_id in ids
