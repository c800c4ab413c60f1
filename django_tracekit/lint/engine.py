"""The rules on Python's ``ast`` — no dependency beyond the standard library, no Django.

Each check mirrors one Semgrep rule in ``semgrep/tracekit.yml`` closely enough that both
report the same findings (same line and column) on the corpus in ``tests/lint/corpus``. Where
Semgrep's matching has a quirk (for example which statements count as "containing" a call),
the helpers below follow Semgrep and say so, because agreement matters more than elegance.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import rules as catalogue
from .suppress import is_suppressed, suppressions

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# ast.TryStar (``except*``) exists on Python 3.11+ only.
_TRY_TYPES: tuple[type[ast.stmt], ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if t is not None
)
# Receivers that look like a logger: ``logger``, ``log``, ``logging``, ``self.logger``,
# ``audit_log``... (but not ``future.exception()``). Same regex as the Semgrep rule.
LOGGER_RECEIVER_RE = r"(?i)^([\w.]*\.)?_*(\w+_)?(log|logger|logging)$"
# ``exc_info=False`` / ``None`` / ``0`` do not attach a traceback. Same regex as Semgrep's.
EXC_INFO_TRUTHY_RE = r"^(?!(?:False|None|0)$)"
_LOGGER_RE = re.compile(LOGGER_RECEIVER_RE)
_EXC_INFO_RE = re.compile(EXC_INFO_TRUTHY_RE)


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    col: int  # 1-based, like Semgrep and most editors
    rule: str
    message: str


class _Names:
    """Which local names refer to django_tracekit and its API in one module.

    Semgrep resolves ``django_tracekit.span`` through ``import django_tracekit as tk`` and
    ``from django_tracekit import span [as s]``; this does the same.
    """

    def __init__(self, tree: ast.AST) -> None:
        self.modules = {"django_tracekit"}
        self.members: dict[str, set[str]] = {"span": set(), "traced": set(), "record_error": set()}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "django_tracekit":
                        self.modules.add(alias.asname or alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module == "django_tracekit":
                if node.level:
                    continue
                for alias in node.names:
                    if alias.name in self.members:
                        self.members[alias.name].add(alias.asname or alias.name)

    def refers_to(self, expr: ast.expr, member: str) -> bool:
        if isinstance(expr, ast.Name):
            return expr.id in self.members[member]
        return (
            isinstance(expr, ast.Attribute)
            and expr.attr == member
            and isinstance(expr.value, ast.Name)
            and expr.value.id in self.modules
        )


def _is_method_call(node: ast.AST, method: str) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == method
    )


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _walk_skipping_functions(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Like ast.walk over ``nodes`` but not into nested ``def``s: code in a nested function
    runs whenever it is called, not inside the span that happens to surround its definition."""
    stack = [n for n in nodes if not isinstance(n, _FUNCTIONS)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, _FUNCTIONS))


def _statement_level_calls(stmts: Iterable[ast.stmt]) -> Iterator[ast.Call]:
    """Calls that a Semgrep statement pattern like ``record_error(...)`` finds in a block.

    Semgrep matches such a pattern inside simple statements (``f(x)``, ``y = f(x)``,
    ``return f(x)``, also nested in their arguments) and in nested blocks — including nested
    ``def``s — but not in ``if``/``while`` conditions, ``with`` items or lambdas.
    """
    for stmt in stmts:
        if isinstance(stmt, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return)):
            stack: list[ast.AST] = [stmt]
            while stack:
                node = stack.pop()
                if isinstance(node, ast.Call):
                    yield node
                stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.Lambda))
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(stmt, field, None)
            if isinstance(block, list):
                yield from _statement_level_calls(s for s in block if isinstance(s, ast.stmt))
        for handler in getattr(stmt, "handlers", ()):
            yield from _statement_level_calls(handler.body)
        for case in getattr(stmt, "cases", ()):
            yield from _statement_level_calls(case.body)


class _ModuleLinter:
    def __init__(self, tree: ast.Module, source: str, path: str) -> None:
        self.tree = tree
        self.source = source
        self.path = path
        self.names = _Names(tree)
        self.parents: dict[ast.AST, ast.AST] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
        self.findings: set[Finding] = set()

    # -- helpers -------------------------------------------------------------------------

    def _report(self, rule: catalogue.Rule, node: ast.stmt | ast.expr) -> None:
        self.findings.add(
            Finding(self.path, node.lineno, node.col_offset + 1, rule.id, rule.message)
        )

    def _text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def _opens_span(self, expr: ast.expr) -> bool:
        """``tracekit.span(...)`` or ``<tracer>.start_as_current_span(...)``."""
        return isinstance(expr, ast.Call) and (
            self.names.refers_to(expr.func, "span")
            or _is_method_call(expr, "start_as_current_span")
        )

    def _is_trace_decorator(self, expr: ast.expr) -> bool:
        """``@tracekit.traced[(...)]`` or ``@tracer.start_as_current_span(...)``."""
        if self.names.refers_to(expr, "traced"):
            return True
        return isinstance(expr, ast.Call) and (
            self.names.refers_to(expr.func, "traced")
            or _is_method_call(expr, "start_as_current_span")
        )

    def _span_bodies(self) -> Iterator[list[ast.stmt]]:
        """Statement blocks that run inside a span opened right there."""
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.With, ast.AsyncWith)):
                if any(self._opens_span(item.context_expr) for item in node.items):
                    yield node.body
            elif isinstance(node, _FUNCTIONS) and any(
                self._is_trace_decorator(d) for d in node.decorator_list
            ):
                yield node.body

    def _handlers_in_spans(self) -> list[ast.ExceptHandler]:
        seen: dict[int, ast.ExceptHandler] = {}
        for body in self._span_bodies():
            for node in _walk_skipping_functions(body):
                if isinstance(node, _TRY_TYPES):
                    for handler in node.handlers:  # type: ignore[attr-defined]
                        seen[id(handler)] = handler
        return list(seen.values())

    def _is_record_call(self, call: ast.Call) -> bool:
        return self.names.refers_to(call.func, "record_error") or _is_method_call(
            call, "record_exception"
        )

    def _records(self, stmts: list[ast.stmt]) -> bool:
        return any(self._is_record_call(c) for c in _statement_level_calls(stmts))

    # -- rules ---------------------------------------------------------------------------

    def check_handlers(self) -> None:
        for handler in self._handlers_in_spans():
            # Any raise counts (bare, new exception, ``from``): the exception leaves the
            # handler and the span records it on exit. Semgrep's deep match also looks into
            # nested blocks and defs, so ast.walk (not the def-skipping walk) is right here.
            raises = any(isinstance(n, ast.Raise) for s in handler.body for n in ast.walk(s))
            recorded = self._records(handler.body)
            if not raises and not recorded:
                self._report(catalogue.UNRECORDED_EXCEPTION, handler.body[0])
            if not recorded:
                for node in _walk_skipping_functions(handler.body):
                    if isinstance(node, ast.Call) and self._logs_traceback(node):
                        self._report(catalogue.LOG_INSTEAD_OF_RECORD, node)

    def _logs_traceback(self, call: ast.Call) -> bool:
        if not isinstance(call.func, ast.Attribute):
            return False
        if not _LOGGER_RE.search(self._text(call.func.value)):
            return False
        if call.func.attr == "exception":
            return True
        return any(
            kw.arg == "exc_info" and _EXC_INFO_RE.search(self._text(kw.value)) is not None
            for kw in call.keywords
        )

    def check_literal_names(self) -> None:
        for node in ast.walk(self.tree):
            if not isinstance(node, ast.Call):
                continue
            if self.names.refers_to(node.func, "span") or _is_method_call(
                node, "start_as_current_span"
            ):
                literal_arg = bool(node.args) and _is_str(node.args[0])
                literal_kw = any(kw.arg == "name" and _is_str(kw.value) for kw in node.keywords)
                if literal_arg or literal_kw:
                    self._report(catalogue.LITERAL_SPAN_NAME, node)

    def check_unended_spans(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            else:
                continue
            # Only plain names: a span stored on ``self.x`` is handed over to other methods.
            if not isinstance(target, ast.Name) or not _is_method_call(value, "start_span"):
                continue
            if not self._span_is_ended(node, target.id):
                self._report(catalogue.UNENDED_SPAN, node)

    def _ends(self, call: ast.Call, name: str) -> bool:
        return (
            _is_method_call(call, "end")
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == name
        )

    def _finally_ends(self, node: ast.AST, name: str) -> bool:
        return isinstance(node, _TRY_TYPES) and any(
            self._ends(c, name)
            for c in _statement_level_calls(node.finalbody)  # type: ignore[attr-defined]
        )

    def _hands_over(self, node: ast.AST, name: str) -> bool:
        """``with trace.use_span(s, end_on_exit=True):``, ``with s:``, or a ``return`` whose
        value mentions ``s`` (``return s``, ``return s, token``): then the caller owns it."""
        if isinstance(node, ast.Return):
            return node.value is not None and any(
                isinstance(n, ast.Name) and n.id == name for n in ast.walk(node.value)
            )
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            return False
        for item in node.items:
            expr = item.context_expr
            if isinstance(expr, ast.Name) and expr.id == name:
                return True
            if (
                isinstance(expr, ast.Call)
                and (
                    _is_method_call(expr, "use_span")
                    or (isinstance(expr.func, ast.Name) and expr.func.id == "use_span")
                )
                and expr.args
                and isinstance(expr.args[0], ast.Name)
                and expr.args[0].id == name
                and any(
                    kw.arg == "end_on_exit"
                    and isinstance(kw.value, ast.Constant)
                    and kw.value.value is True
                    for kw in expr.keywords
                )
            ):
                return True
        return False

    def _span_is_ended(self, assign: ast.stmt, name: str) -> bool:
        # 1. Assigned inside ``try:`` whose ``finally:`` ends it.
        child: ast.AST = assign
        parent = self.parents.get(child)
        while parent is not None and not isinstance(parent, _FUNCTIONS):
            if child in getattr(parent, "body", ()) and self._finally_ends(parent, name):
                return True
            child, parent = parent, self.parents.get(parent)
        # 2. A later statement of the same block (or one nested in it) ends or hands it over.
        block: list[ast.stmt] = next(
            (
                getattr(self.parents[assign], field)
                for field in ("body", "orelse", "finalbody")
                if assign in getattr(self.parents[assign], field, ())
            ),
            [],
        )
        later = block[block.index(assign) + 1 :] if assign in block else []
        return any(
            self._finally_ends(n, name) or self._hands_over(n, name)
            for stmt in later
            for n in ast.walk(stmt)
        )


def lint_source(source: str, path: str = "<string>") -> list[Finding]:
    """Lint Python source text. Raises ``SyntaxError`` if it does not parse."""
    tree = ast.parse(source, filename=path)
    linter = _ModuleLinter(tree, source, path)
    linter.check_handlers()
    linter.check_literal_names()
    linter.check_unended_spans()
    table = suppressions(source)
    return sorted(f for f in linter.findings if not is_suppressed(table, f.line, f.rule))
