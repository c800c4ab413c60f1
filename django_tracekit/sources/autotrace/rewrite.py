"""The AST rewrite: instrument every function of a module in place (see ``runtime.py``).

The ORIGINAL function objects are instrumented: decorators above and below, ``functools.wraps``,
registries (``@receiver``, ``@app.task``), methods, static/class methods, properties, nested
functions, ``__init_subclass__`` and module ``__getattr__`` all see instrumented code.

Not instrumented: lambdas and comprehensions (expressions, not code locations users name),
class and module bodies, ``__del__`` (runs during interpreter shutdown, when module globals
may already be gone), functions decorated ``@no_autotrace`` (and everything inside them or
inside a ``@no_autotrace`` class), and functions whose ``module.qualname`` matches an
EXCLUDE glob.

Generators and async generators: every segment between resumption and suspension is one
call (counted, kept if slow). ``yield v`` becomes
``(_tk_y := v, _tk_t := _tk_pause(CID, _tk_t), (yield _tk_y), _tk_t := _tk_resume(CID))[2]``
(``_tk_pause`` returns None: a paused generator has nothing to end),
so no span stays open and no context stays attached while the generator is suspended.
"""

from __future__ import annotations

import ast
import fnmatch
import types
from collections.abc import Sequence
from dataclasses import dataclass, field

from django_tracekit.sources.autotrace import runtime, sites

NO_AUTOTRACE = "no_autotrace"
SKIPPED_NAMES = frozenset({"__del__"})


def glob_matches(name: str, patterns: Sequence[str]) -> bool:
    """``shop.migrations`` matches itself and what is inside; globs use fnmatch."""
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(name, p + ".*")
               for p in patterns)


def _is_no_autotrace(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Name):
        return target.id == NO_AUTOTRACE
    if isinstance(target, ast.Attribute):
        return target.attr == NO_AUTOTRACE
    return False


Spec = tuple[str, int]  # an instrumented function: (qualname, line); its index is its counter


@dataclass
class Result:
    specs: list[Spec] = field(default_factory=list)  # _tk_c{i} counts specs[i]
    skipped: list[str] = field(default_factory=list)  # qualnames left alone
    sites: list[sites.Site] = field(default_factory=list)  # once registered in this process


def _name(id: str, ctx: ast.expr_context | None = None) -> ast.Name:
    return ast.Name(id=id, ctx=ctx or ast.Load())


def _call(func: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_name(func), args=list(args), keywords=[])


def _const(value: int | str | None) -> ast.Constant:
    return ast.Constant(value=value)


class _YieldRewriter(ast.NodeTransformer):
    """Pause/resume around every yield of one generator (not of nested scopes)."""

    def __init__(self, counter: str) -> None:
        self.counter = counter

    def _skip(self, node: ast.AST) -> ast.AST:
        return node  # nested scopes have their own yields

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _skip

    def _wrap(self, node: ast.Yield | ast.YieldFrom) -> ast.expr:
        self.generic_visit(node)
        value = node.value if node.value is not None else _const(None)
        suspended: ast.expr
        if isinstance(node, ast.Yield):
            suspended = ast.Yield(value=_name("_tk_y"))
        else:
            suspended = ast.YieldFrom(value=_name("_tk_y"))
        return ast.Subscript(
            value=ast.Tuple(elts=[
                ast.NamedExpr(target=_name("_tk_y", ast.Store()), value=value),
                ast.NamedExpr(target=_name("_tk_t", ast.Store()),
                              value=_call("_tk_pause", _name(self.counter), _name("_tk_t"))),
                suspended,
                ast.NamedExpr(target=_name("_tk_t", ast.Store()),
                              value=_call("_tk_resume", _name(self.counter))),
            ], ctx=ast.Load()),
            slice=_const(2), ctx=ast.Load())

    def visit_Yield(self, node: ast.Yield) -> ast.expr:
        return self._wrap(node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.expr:
        return self._wrap(node)


class _HasYield(ast.NodeVisitor):
    def __init__(self) -> None:
        self.found = False

    def _skip(self, node: ast.AST) -> None:
        pass

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = _skip

    def visit_Yield(self, node: ast.Yield) -> None:
        self.found = True

    def visit_YieldFrom(self, node: ast.YieldFrom) -> None:
        self.found = True


def _is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    finder = _HasYield()
    for stmt in node.body:
        finder.visit(stmt)
    return finder.found


def _may_yield(node: ast.FunctionDef | ast.AsyncFunctionDef, lines: Sequence[str] | None) -> bool:
    """Cheap pre-filter of ``_is_generator``: no ``yield`` in the function's source text, no
    generator (walking every expression of every function costs more than the rewrite)."""
    if lines is None or node.end_lineno is None:
        return True
    return any("yield" in line for line in lines[node.lineno - 1:node.end_lineno])


# Where a function's statements can hold a def or a class: statement bodies only (a def is
# a statement), so the rewriter never walks expressions.
_BODIES = ("body", "orelse", "finalbody")


class Rewriter:
    def __init__(self, module: str, exclude: Sequence[str],
                 lines: Sequence[str] | None = None) -> None:
        self.module = module
        self.exclude = exclude
        self.lines = lines  # the source's lines, for the generator pre-filter
        self.scope: list[str] = []  # qualname parts
        self.off = 0  # >0 inside a no_autotrace/excluded function or class
        self.specs: list[Spec] = []
        self.skipped: list[str] = []

    def _qualname(self, name: str) -> str:
        return ".".join([*self.scope, name])

    def visit(self, tree: ast.AST) -> None:
        self._statements(getattr(tree, "body", ()))

    def _statements(self, statements: Sequence[ast.AST]) -> None:
        for stmt in statements:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self._function(stmt)
            elif isinstance(stmt, ast.ClassDef):
                self.visit_ClassDef(stmt)
            else:
                for field_name in _BODIES:
                    inner = getattr(stmt, field_name, None)
                    if inner.__class__ is list:
                        self._statements(inner)
                for clause in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                    self._statements(clause.body)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        off = any(_is_no_autotrace(d) for d in node.decorator_list)
        qualname = self._qualname(node.name)
        off = off or glob_matches(f"{self.module}.{qualname}", self.exclude)
        self.off += off
        self.scope.append(node.name)
        try:
            self._statements(node.body)
        finally:
            self.scope.pop()
            self.off -= off
        return node

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> ast.AST:
        qualname = self._qualname(node.name)
        off = (any(_is_no_autotrace(d) for d in node.decorator_list)
               or node.name in SKIPPED_NAMES
               or glob_matches(f"{self.module}.{qualname}", self.exclude))
        self.off += off
        self.scope.extend([node.name, "<locals>"])
        try:
            self._statements(node.body)  # nested functions first
        finally:
            del self.scope[-2:]
            self.off -= off
        if self.off or off:
            self.skipped.append(qualname)
            return node
        self._instrument(node, f"_tk_c{len(self.specs)}")
        self.specs.append((qualname, node.lineno))
        return node

    def _instrument(self, node: ast.FunctionDef | ast.AsyncFunctionDef, counter: str) -> None:
        body = list(node.body)
        docstring: list[ast.stmt] = []
        if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            docstring = [body.pop(0)]
        if not body:  # a docstring only: the new statement needs a location to compile
            body = [ast.copy_location(ast.Pass(), node)]
        if _may_yield(node, self.lines) and _is_generator(node):
            rewriter = _YieldRewriter(counter)
            body = [rewriter.visit(stmt) for stmt in body]
        elif isinstance(node, ast.FunctionDef):
            self._instrument_sync(node, counter, docstring, body)
            return
        t = "_tk_t"
        # _tk_t = _tk_top()
        # _tk_t = _tk_clock() if _tk_t is None else _tk_push(CID, _tk_t)
        enter = [
            ast.Assign(targets=[_name(t, ast.Store())], value=_call("_tk_top")),
            ast.Assign(
                targets=[_name(t, ast.Store())],
                value=ast.IfExp(
                    test=ast.Compare(left=_name(t), ops=[ast.Is()], comparators=[_const(None)]),
                    body=_call("_tk_clock"), orelse=_call("_tk_push", _name(counter), _name(t)))),
        ]

        def counter_attr(attr: str, store: bool = False) -> ast.Attribute:
            return ast.Attribute(value=_name(counter), attr=attr,
                                 ctx=ast.Store() if store else ast.Load())

        count = [
            ast.Assign(targets=[_name(t, ast.Store())],
                       value=ast.BinOp(left=_call("_tk_clock"), op=ast.Sub(), right=_name(t))),
            ast.AugAssign(target=counter_attr("n", True), op=ast.Add(), value=_const(1)),
            ast.AugAssign(target=counter_attr("t", True), op=ast.Add(), value=_name(t)),
            ast.If(test=ast.Compare(left=_name(t), ops=[ast.Gt()],
                                    comparators=[counter_attr("m")]),
                   body=[ast.Assign(targets=[counter_attr("m", True)], value=_name(t))],
                   orelse=[]),
        ]
        exit_ = ast.If(
            test=ast.Compare(left=ast.Attribute(value=_name(t), attr="__class__", ctx=ast.Load()),
                             ops=[ast.Is()], comparators=[_name("_tk_float")]),
            body=count,
            orelse=[ast.Expr(_call("_tk_pop", _name(counter), _name(t)))])
        handler = ast.ExceptHandler(
            type=_name("BaseException"), name="_tk_e",
            body=[ast.Expr(_call("_tk_raise", _name(counter), _name(t), _name("_tk_e"))),
                  ast.Raise(exc=None, cause=None)])
        wrapped = ast.Try(body=body, handlers=[handler], orelse=[], finalbody=[exit_])
        node.body = [*docstring, *enter, wrapped]
        # New nodes take the def's line: tracebacks of the body keep their own lines.
        for new in (*enter, wrapped):
            ast.copy_location(new, node)
        ast.fix_missing_locations(node)


    def _instrument_sync(self, node: ast.FunctionDef, counter: str, docstring: list[ast.stmt],
                         body: list[ast.stmt]) -> None:
        """A plain function: the fast path (see ``runtime.py``). Under a pending frame it
        pushes nothing; its exit calls into Python only if it was slow or got a span."""
        statements: list[ast.stmt] = [
            _clone(stmt, node.lineno, node.col_offset, counter)  # type: ignore[misc]
            for stmt in _sync_template()]
        wrapped = statements[-1]
        assert isinstance(wrapped, ast.Try)
        wrapped.body = body
        node.body = [*docstring, *statements]


_COUNTER = "_tk_counter_placeholder"
_template: list[ast.stmt] = []


def _sync_template() -> list[ast.stmt]:
    """The fast path's statements, parsed once per process (then cloned per function)."""
    if not _template:
        parsed = ast.parse(_SYNC_TEMPLATE.format(counter=_COUNTER)).body[0]
        assert isinstance(parsed, ast.FunctionDef)
        _template.extend(parsed.body)
    return _template


def _clone(node: ast.AST, line: int, col: int, counter: str) -> ast.AST:
    """A copy of a template node, at the def's line (tracebacks of the body keep their own
    lines), with the placeholder name replaced by the function's counter."""
    cls = node.__class__
    if not node._fields and not cls._attributes:  # Load, Store, Add, ...: shared
        return node
    new = cls.__new__(cls)
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            value = _clone(value, line, col, counter)
        elif value.__class__ is list:
            value = [_clone(v, line, col, counter) if isinstance(v, ast.AST) else v
                     for v in value]
        setattr(new, name, value)
    if "lineno" in cls._attributes:
        new.lineno = new.end_lineno = line  # type: ignore[attr-defined]
        new.col_offset = new.end_col_offset = col  # type: ignore[attr-defined]
    if cls is ast.Name and new.id == _COUNTER:  # type: ignore[attr-defined]
        new.id = counter  # type: ignore[attr-defined]
    return new


# The shape of a plain function. ``_tk_c`` (a local: one global load, and how a walk of the
# Python stack finds the call's counter) and ``_tk_t`` (its start time) are read from the
# frame when a span is needed (``calls.pending_sync``). Outside any trace (``_tk_top()`` is
# None) a call counts down its counter's window and reads no clock; the window's last call
# is measured (``_tk_sample``: an int start, ended by ``_tk_pop``). Under a list (a pending
# frame or the attached context's own) it takes the fast path: a float start, counted
# inline, ``_tk_exit`` only if slow or given a span meanwhile.
_SYNC_TEMPLATE = """
def _():
    _tk_c = {counter}
    _tk_t = _tk_top()
    if _tk_t is None:
        if _tk_c.q > 0:
            _tk_c.q -= 1
        else:
            _tk_t = _tk_sample(_tk_c)
    elif _tk_t.__class__ is _tk_list:
        _tk_t = _tk_clock()
    else:
        _tk_t = _tk_push(_tk_c, _tk_t)
    try:
        pass
    except BaseException as _tk_e:
        _tk_raise(_tk_c, _tk_t, _tk_e)
        raise
    finally:
        if _tk_t is None:
            pass
        elif _tk_t.__class__ is _tk_float:
            _tk_d = _tk_clock() - _tk_t
            _tk_c.n += 1
            _tk_c.t += _tk_d
            if _tk_d > _tk_c.m:
                _tk_c.m = _tk_d
            if _tk_d >= _tk_th.s or (_tk_live and _tk_t in _tk_live):
                _tk_exit(_tk_c, _tk_t, _tk_d)
        else:
            _tk_pop(_tk_c, _tk_t)
"""


def rewrite(tree: ast.Module, module: str, exclude: Sequence[str] = (),
            source: str | bytes | None = None) -> Result:
    """Instrument ``tree`` in place; what it instrumented (not registered yet). Every node
    added carries its location (no walk of the whole tree for missing ones)."""
    lines = None
    if source is not None:  # only to look for "yield": any ASCII-compatible decoding does
        lines = (source.decode("latin-1") if isinstance(source, bytes) else source).split("\n")
    rewriter = Rewriter(module, exclude, lines)
    rewriter.visit(tree)
    return Result(rewriter.specs, rewriter.skipped)


def register(result: Result, module: str, filename: str) -> None:
    """Create this process's sites (and counters) for the functions ``result`` instrumented."""
    result.sites = [sites.new_site(module, qualname, filename, line)
                    for qualname, line in result.specs]


def module_globals(result: Result) -> dict[str, object]:
    """The names rewritten code expects in its module's globals (``result`` registered)."""
    names: dict[str, object] = {
        "_tk_top": runtime.top,
        "_tk_clock": runtime.clock,
        "_tk_push": runtime.push,
        "_tk_pop": runtime.pop,
        "_tk_pause": runtime.pause,
        "_tk_resume": runtime.resume,
        "_tk_raise": runtime.on_raise,
        "_tk_float": float,
        "_tk_list": list,
        "_tk_th": runtime.THRESHOLD,
        "_tk_live": runtime.live,
        "_tk_exit": runtime.exit_slow,
        "_tk_sample": runtime.sample,
    }
    for index, site in enumerate(result.sites):
        names[f"_tk_c{index}"] = site.counter
    return names


def compile_module(source: str | bytes, module: str, filename: str,
                   exclude: Sequence[str] = ()) -> tuple[types.CodeType, Result]:
    """Parse, rewrite, compile and register a module's source (raises on anything unusual)."""
    tree = ast.parse(source, filename)
    result = rewrite(tree, module, exclude, source)
    code = compile(tree, filename, "exec", dont_inherit=True)
    register(result, module, filename)
    return code, result
