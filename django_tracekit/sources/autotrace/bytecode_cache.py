"""Rewritten bytecode cached on disk, as pytest caches its assertion rewrites.

Where: beside the normal ``.pyc`` (``importlib.util.cache_from_source``, so
``sys.pycache_prefix``/``PYTHONPYCACHEPREFIX`` are honoured), named
``<module>.<cache_tag>-tracekit.pyc``: Python never loads that name, and a normal import of
the same file never sees instrumented bytecode.

Keyed by a digest of everything the rewritten code depends on: the source bytes, its path
and module name, the user's EXCLUDE, the interpreter's bytecode magic, the tracekit
version and the rewriter's own source. A file whose digest differs (an edited source, a
changed setting, another Python) is recompiled and replaced: never served stale.

Where else: when the file cannot be written beside the ``.pyc`` (a read-only install) or
Python writes no bytecode (``PYTHONDONTWRITEBYTECODE``, ``-B``: Docker images often set it),
in the user's cache directory (``$XDG_CACHE_HOME/django-tracekit``, else
``~/.cache/django-tracekit``; made private), mirroring the source's absolute path, as
``PYTHONPYCACHEPREFIX`` does: a rewrite costs several times a plain compile, so a process
without any cache starts measurably slower. ``TRACEKIT_CACHE_DIR=/path`` puts the cache
there and only there (e.g. a directory baked into an image by running ``manage.py check``
at build time); ``TRACEKIT_CACHE_DIR=off``: no cache at all.

Written atomically (a temporary file, then ``os.replace``); any failure to read, write or
decode (a read-only location, a corrupt file) means: no cache, silently.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import marshal
import os
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django_tracekit.sources.autotrace import rewrite

logger = logging.getLogger("django_tracekit")

ENV_DIR = "TRACEKIT_CACHE_DIR"
_MAGIC = b"tkrw\x01"  # format of our files
_DIGEST_SIZE = 20
_salt: bytes | None = None


def _rewriter_salt() -> bytes:
    """What else the rewritten code depends on: tracekit's version and rewriter source."""
    global _salt
    if _salt is None:
        from django_tracekit import __version__

        h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
        h.update(__version__.encode())
        h.update(importlib.util.MAGIC_NUMBER)
        h.update(Path(rewrite.__file__).read_bytes())
        _salt = h.digest()
    return _salt


def key(source: bytes, module: str, filename: str, exclude: Sequence[str]) -> bytes:
    h = hashlib.blake2b(digest_size=_DIGEST_SIZE)
    for part in (_rewriter_salt(), module.encode(), os.fsencode(filename),
                 "\0".join(exclude).encode(), source):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.digest()


def path_for(filename: str) -> str | None:
    """The cache file of a source file (None: this interpreter has no bytecode cache)."""
    try:
        normal = importlib.util.cache_from_source(filename)
    except (NotImplementedError, ValueError):
        return None
    stem, _, _ = normal.rpartition(".pyc")
    return f"{stem}-tracekit.pyc"


def _user_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "django-tracekit")


def path_in(directory: str, filename: str) -> str:
    """The cache file of a source file inside ``directory`` (its absolute path mirrored)."""
    drive, rest = os.path.splitdrive(os.path.abspath(filename))
    stem = os.path.splitext(rest.lstrip(os.sep))[0]
    return os.path.join(directory, drive.strip(":\\/"), f"{stem}.{sys.implementation.cache_tag}"
                        "-tracekit.pyc")


@dataclass(frozen=True)
class Location:
    """Where a module's cache file is looked for (in order) and written (the first that
    takes it). ``forced`` files are written even when Python writes no bytecode."""

    paths: tuple[tuple[str, bool], ...]
    digest: bytes

    def load(self) -> tuple[types.CodeType, rewrite.Result] | None:
        for path, _forced in self.paths:
            hit = load(path, self.digest)
            if hit is not None:
                return hit
        return None

    def store(self, code: types.CodeType, result: rewrite.Result) -> None:
        for path, forced in self.paths:
            if store(path, self.digest, code, result, forced=forced):
                return


def locate(source: bytes, module: str, filename: str,
           exclude: Sequence[str]) -> Location | None:
    """Where a module's cache file may be and the digest it must carry (None: no cache)."""
    try:
        explicit = os.environ.get(ENV_DIR, "").strip()
        if explicit.lower() == "off":
            return None
        if explicit:
            paths = [(path_in(explicit, filename), True)]
        else:
            beside = path_for(filename)
            paths = [(beside, False)] if beside else []
            if sys.implementation.cache_tag:
                paths.append((path_in(_user_cache_dir(), filename), True))
        return Location(tuple(paths), key(source, module, filename, exclude)) if paths else None
    except Exception:  # e.g. the rewriter's source is not readable (a zipped install)
        return None


def load(path: str, digest: bytes) -> tuple[types.CodeType, rewrite.Result] | None:
    """The cached code and what it instruments (not registered), if fresh and intact."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data[:len(_MAGIC)] != _MAGIC or data[len(_MAGIC):len(_MAGIC) + _DIGEST_SIZE] != digest:
            return None
        code, specs, skipped = marshal.loads(data[len(_MAGIC) + _DIGEST_SIZE:])
        if (not isinstance(code, types.CodeType)
                or not all(isinstance(q, str) and isinstance(n, int) for q, n in specs)
                or not all(isinstance(q, str) for q in skipped)):
            return None
        return code, rewrite.Result([(q, n) for q, n in specs], list(skipped))
    except Exception:  # missing, unreadable, truncated, corrupt: recompile
        return None


def store(path: str, digest: bytes, code: types.CodeType, result: rewrite.Result,
          forced: bool = False) -> bool:
    """Write the cache file atomically; never fails (no cache is fine). Not written under
    ``sys.dont_write_bytecode`` unless ``forced`` (a location outside the source tree)."""
    if sys.dont_write_bytecode and not forced:
        return False
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        payload = marshal.dumps((code, [tuple(s) for s in result.specs], list(result.skipped)))
        # Private directories: what is in them is executed by the next process.
        os.makedirs(os.path.dirname(path), mode=0o700 if forced else 0o777, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if forced else 0o666)
        with open(fd, "wb") as f:
            f.write(_MAGIC + digest + payload)
        os.replace(tmp, path)
        return True
    except Exception as exc:  # read-only install, full disk, ...: no cache
        logger.debug("tracekit: auto-trace cache not written to %s: %s", path, exc)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
