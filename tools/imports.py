"""Print django_tracekit's import graph between rooms (top-level packages and modules).

Reads every module with ``ast``: function-level imports count, relative imports are
resolved. Usage: ``python tools/imports.py [path/to/django_tracekit]``.
"""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

PACKAGE = "django_tracekit"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(package)"


def imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join([*base, *([node.module] if node.module else [])])
    else:
        target = node.module or ""
    return [target, *(f"{target}.{alias.name}" for alias in node.names)]


def graph(root: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        module = module_name(path, root)
        for node in ast.walk(ast.parse(path.read_text())):
            for target in imported(node, module, path.name == "__init__.py"):
                if target.startswith(PACKAGE + ".") and room(target) != room(module):
                    edges[room(module)].add(room(target))
    return edges


def main() -> None:
    default = Path(__file__).resolve().parents[1] / PACKAGE
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    edges = graph(root)
    for source in sorted(edges):
        print(f"{source:14} -> {', '.join(sorted(edges[source]))}")


if __name__ == "__main__":
    main()
