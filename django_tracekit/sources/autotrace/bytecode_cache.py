"""Rewritten bytecode cached on disk, as pytest caches its assertion rewrites.

Where: beside the normal ``.pyc`` (``importlib.util.cache_from_source``, so
``sys.pycache_prefix``/``PYTHONPYCACHEPREFIX`` are honoured), named
``<module>.<cache_tag>-tracekit.pyc``: Python never loads that name, and a normal import of
the same file never sees instrumented bytecode.

Keyed by a digest of everything the rewritten code depends on: the source bytes, its path
and module name, the user's EXCLUDE, the interpreter's bytecode magic, the tracekit
version and the rewriter's own source. A file whose digest differs (an edited source, a
changed setting, another Python) is recompiled and replaced: never served stale.

Written atomically (a temporary file, then ``os.replace``); not written under
``sys.dont_write_bytecode`` (``PYTHONDONTWRITEBYTECODE``, ``-B``); any failure to read,
write or decode (a read-only install, a corrupt file) means: no cache, silently.
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
from pathlib import Path

from django_tracekit.sources.autotrace import rewrite

logger = logging.getLogger("django_tracekit")

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


def locate(source: bytes, module: str, filename: str,
           exclude: Sequence[str]) -> tuple[str | None, bytes]:
    """The cache file of a module and the digest its content must carry (None: no cache)."""
    try:
        path = path_for(filename)
        return (path, key(source, module, filename, exclude)) if path else (None, b"")
    except Exception:  # e.g. the rewriter's source is not readable (a zipped install)
        return None, b""


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


def store(path: str, digest: bytes, code: types.CodeType, result: rewrite.Result) -> None:
    """Write the cache file atomically; never fails (no cache is fine)."""
    if sys.dont_write_bytecode:
        return
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        payload = marshal.dumps((code, [tuple(s) for s in result.specs], list(result.skipped)))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with open(fd, "wb") as f:
            f.write(_MAGIC + digest + payload)
        os.replace(tmp, path)
    except Exception as exc:  # read-only install, full disk, ...: no cache
        logger.debug("tracekit: auto-trace cache not written to %s: %s", path, exc)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
