"""The rewritten-bytecode cache in-process: names, keys, and that no failure of it ever
costs an import or its instrumentation (the cross-process behaviour is proven in
tests/faults/test_autotrace_startup.py)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_tracekit.sources import autotrace
from django_tracekit.sources.autotrace import bytecode_cache as cache
from django_tracekit.sources.autotrace import hook, rewrite
from tests.support.packages import importable

SOURCE = b"def f(x):\n    return x + 1\n"
_seq = iter(range(1_000_000))


def test_cache_file_is_never_the_normal_pyc(tmp_path: Path) -> None:
    source = str(tmp_path / "services.py")
    ours = cache.path_for(source)
    assert ours is not None and ours.endswith(f"services.{sys.implementation.cache_tag}"
                                              "-tracekit.pyc")
    assert ours != importlib.util.cache_from_source(source)
    assert Path(ours).parent == Path(importlib.util.cache_from_source(source)).parent


def test_key_covers_source_path_module_and_exclude() -> None:
    base = cache.key(SOURCE, "shop.a", "/srv/shop/a.py", ())
    assert base == cache.key(SOURCE, "shop.a", "/srv/shop/a.py", ())
    assert len({base,
                cache.key(SOURCE + b"\n", "shop.a", "/srv/shop/a.py", ()),
                cache.key(SOURCE, "shop.b", "/srv/shop/a.py", ()),
                cache.key(SOURCE, "shop.a", "/srv/shop/b.py", ()),
                cache.key(SOURCE, "shop.a", "/srv/shop/a.py", ("shop.a.f",))}) == 5


def test_store_and_load_round_trip_and_reject(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    path = str(tmp_path / "__pycache__" / "a.tracekit.pyc")
    digest = cache.key(SOURCE, "shop.a", "/srv/shop/a.py", ())
    code, result = rewrite.compile_module(SOURCE, "shop.a", "/srv/shop/a.py")
    cache.store(path, digest, code, result)
    hit = cache.load(path, digest)
    assert hit is not None and hit[0] == code and hit[1].specs == [("f", 1)]
    assert cache.load(path, b"x" * len(digest)) is None  # another key: stale, not served
    Path(path).write_bytes(Path(path).read_bytes()[:30])
    assert cache.load(path, digest) is None  # truncated
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    other = str(tmp_path / "__pycache__" / "b.tracekit.pyc")
    cache.store(other, digest, code, result)
    assert not Path(other).exists()
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "file").write_text("")
    cache.store(str(tmp_path / "file" / "c.pyc"), digest, code, result)  # cannot: no error
    assert not list(tmp_path.glob("file/*")) and not list(tmp_path.rglob("*.tmp"))


@pytest.fixture
def package(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    name = f"tkcache{next(_seq)}"
    with importable(tmp_path, name) as root:
        (root / "mod.py").write_bytes(SOURCE)
        yield name, tmp_path


def test_a_failing_cache_still_instruments(package: tuple[str, Path],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    name, base = package

    def broken(*args: object) -> bytes:
        raise OSError("rewriter source not readable")

    monkeypatch.setattr(cache, "key", broken)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    finder = hook.Finder(hook.Rules(include=None, exclude=[], base_dir=str(base)))
    sys.meta_path.insert(0, finder)
    try:
        mod = importlib.import_module(f"{name}.mod")
    finally:
        sys.meta_path.remove(finder)
    assert autotrace.is_instrumented(mod.f) and mod.f(1) == 2
    assert finder.fallbacks == [] and finder.cached == []
