"""The imports follow the data flow (issue 22): each room imports only what it stands on.

Every module of django_tracekit is read with ``ast`` (imports inside functions included,
relative imports resolved). Rooms: ``core``, ``conf``, each ``sources.<x>``, each
``destinations.<x>``, ``pages``, ``storage``, ``lint``; the modules that wire rooms together
(the registry, the bootstrap, the app config, ...) may import any room.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import django_tracekit

PACKAGE = "django_tracekit"
ROOT = Path(django_tracekit.__file__).parent

# Modules that know everybody: the wiring, and the public entry points.
SPANNING = ("integrations", "bootstrap", "apps", "checks", "admin", "models", "management",
            "testing", "api", "migrations",
            # public paths of what lives in a room: sources.http's middleware, storage's router
            "middleware", "routers")

# What each kind of room may import besides itself.
FOUNDATION = ("core", "conf")
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "core": FOUNDATION,
    "conf": FOUNDATION,
    "sources": (*FOUNDATION, "integrations.base"),
    "destinations": (*FOUNDATION, "storage", "integrations.base"),
    "pages": (*FOUNDATION, "storage"),
    "storage": FOUNDATION,
    "lint": FOUNDATION,
    "integrations": FOUNDATION,  # integrations.base: the interface every room implements
}

# Violations not removed yet: (importing module, imported module) -> why. The goal is none.
ALLOWED: dict[tuple[str, str], str] = {}
# Cycles between rooms not removed yet: the edge that closes them -> why. (The imports in
# ALLOWED are left out of the cycle check too: they are listed once, above.)
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module imported (for ``from x import y``: x, or x.y when y is one)
    names: tuple[str, ...]
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT.parent)}:{self.line}: {self.module} -> {self.target}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def known_modules() -> set[str]:
    return {module_name(p) for p in ROOT.rglob("*.py")}


def imports() -> Iterator[Import]:
    known = known_modules()
    for path in sorted(ROOT.rglob("*.py")):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith(PACKAGE):
                        yield Import(module, alias.name, (), path, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if not source.startswith(PACKAGE):
                    continue
                names = tuple(a.name for a in node.names)
                submodules = [f"{source}.{n}" for n in names if f"{source}.{n}" in known]
                for target in submodules or [source]:
                    yield Import(module, target, names, path, node.lineno)


def room(module: str) -> str:
    """``core``, ``sources.db``, ``destinations.stats``, ``pages``, ... or a top-level name."""
    parts = module.split(".")[1:]
    if not parts:
        return "(package)"
    if parts[0] in ("sources", "destinations") and len(parts) > 1:
        return f"{parts[0]}.{parts[1]}"
    if parts[0] == "integrations" and parts[1:] == ["base"]:
        return "integrations.base"
    return parts[0]


def kind(room_name: str) -> str:
    return room_name.split(".")[0]


def spans_rooms(module: str) -> bool:
    top = module.split(".")[1] if "." in module else ""
    return not top or (top in SPANNING and module != "django_tracekit.integrations.base")


def violation(item: Import) -> str | None:
    """Why ``item`` breaks the room rules, or ``None``."""
    if spans_rooms(item.module):
        return None
    source, target = room(item.module), room(item.target)
    if source == target:
        return None
    if target == "(package)" and set(item.names) <= {"__version__"}:
        return None  # the distribution's version, or the package itself (its path)
    allowed = MAY_IMPORT.get(kind(source))
    if allowed is None:
        return f"{source} is not a known room: add it to MAY_IMPORT or SPANNING"
    if target in allowed or kind(target) in allowed:
        return None
    return f"{source} may import only {', '.join(allowed)} and itself, not {target}"


def test_every_room_imports_only_what_it_stands_on() -> None:
    found = [f"{item}  ({why})" for item in imports()
             if (why := violation(item)) and (item.module, item.target) not in ALLOWED]
    assert not found, "imports against the data flow (docs: issue 22):\n" + "\n".join(found)


def test_the_allow_list_holds_only_imports_that_still_exist() -> None:
    present = {(i.module, i.target) for i in imports() if violation(i)}
    stale = sorted(set(ALLOWED) - present)
    assert not stale, f"remove from ALLOWED (fixed): {stale}"


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for item in imports():
        if spans_rooms(item.module) or spans_rooms(item.target):
            continue
        a, b = kind(room(item.module)), kind(room(item.target))
        if (item.module, item.target) in ALLOWED:
            continue
        if a != b and (a, b) not in ALLOWED_CYCLE_EDGES:
            graph[a].add(b)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    cycles: set[tuple[str, ...]] = set()

    def visit(node: str, stack: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                loop = stack[stack.index(nxt):]
                first = loop.index(min(loop))  # one rotation per cycle
                cycles.add(tuple(loop[first:] + loop[:first] + [min(loop)]))
            elif len(stack) < len(graph) + 1:
                visit(nxt, [*stack, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_no_cycle_between_rooms() -> None:
    cycles = find_cycles(room_graph())
    assert not cycles, "rooms import each other: " + "; ".join(
        " -> ".join(c) for c in sorted(cycles))


def test_the_checker_sees_function_level_and_relative_imports(tmp_path: Path) -> None:
    # The rules are only as good as the reading: a late or relative import must count.
    items = [i for i in imports() if i.module == "django_tracekit.core.guard"]
    assert any(i.target == "django_tracekit.core.chain" for i in items)  # inside a function
    bad = Import("django_tracekit.sources.db.spans", "django_tracekit.destinations.stats.store",
                 (), ROOT / "sources/db/spans.py", 1)
    assert violation(bad) == ("sources.db may import only core, conf, integrations.base and "
                              "itself, not destinations.stats")
    other_source = Import("django_tracekit.sources.db.spans", "django_tracekit.sources.logs",
                          (), ROOT / "sources/db/spans.py", 1)
    assert violation(other_source) is not None
    assert violation(Import("django_tracekit.bootstrap", "django_tracekit.destinations.stats",
                            (), ROOT / "bootstrap.py", 1)) is None
    assert find_cycles({"sources": {"core"}, "core": {"conf"}}) == set()
    assert find_cycles({"sources": {"core"}, "core": {"destinations"},
                        "destinations": {"sources"}}) == {("core", "destinations", "sources",
                                                            "core")}


MAX_LINES = 450  # one module, one job: past this a module is doing two


def test_no_module_is_over_the_size_limit() -> None:
    package = Path(django_tracekit.__file__).resolve().parent
    over = sorted(
        f"{path.relative_to(package)}: {lines} lines"
         for path in package.rglob("*.py") if "migrations" not in path.parts
         if (lines := len(path.read_text().splitlines())) > MAX_LINES)
    assert not over, f"modules over {MAX_LINES} lines (split them by job):\n" + "\n".join(over)
