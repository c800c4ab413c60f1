"""A fallback count for a task whose pool child was killed past its hard time limit before
it could count it, without counting it twice.

On a hard time limit the worker's main process sends ``task_failure(TimeLimitExceeded)``
(from ``Request.on_failure``; Celery 5.7 a second time from ``on_timeout``), then SIGTERMs
the child and SIGKILLs it 0.1 s later. The child turns SIGTERM into ``SystemExit`` and ends
the task's span, usually in time; on a loaded machine, or in a task that blocks SIGTERM
(stuck in C code), it is killed first and the count was lost.

So the child does not write its counts: it hands them, its task's included, to the main
process in a file named by the task id, in a directory of the worker's process family,
written whole or not at all (``pipeline.hand_over_counts``). The main process looks for it
once the child is gone: found, it writes those counts; missing, it ends a span of its own
for the task (counted, marked ``celery.time_limit = hard``). Either way, counted once: a
marker written after the child's own commit left a window (SIGKILL between the two) in
which both counted.

An empty file says "this task's span is ended" for a task that raised its own
``SystemExit``/``KeyboardInterrupt``: Celery's main process reports it as a lost worker,
and ends a span of its own only when the file is missing (``tracing.outcomes.failure``).

Such a file is only read from a directory this user owns and no one else can write. Files
no task-failure signal came for (a cold shutdown) are taken when the family's first
process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable
from typing import Any

from django_tracekit.core import logonce, pipeline

logger = logging.getLogger("django_tracekit")

# billiard SIGKILLs the child 0.1 s after SIGTERM; its unwinding may take a little longer
# on a loaded machine. The main process looks for the marker this long after the signal.
CHECK_AFTER_S = 3.0

_scheduled: set[str] = set()
_lock = threading.Lock()


def _directory() -> str | None:
    family = logonce.family()
    if family is None:
        return None
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"tracekit-counted-{uid}-{family}")


def _marker(task_id: str) -> str | None:
    directory = _directory()
    safe = "".join(c for c in task_id if c.isalnum() or c in "-_")[:128]
    return os.path.join(directory, safe) if directory and safe else None


def _private(directory: str) -> bool:
    """Whether ``directory`` is this user's, a real directory no one else can write to."""
    try:
        info = os.lstat(directory)
    except OSError:
        return False
    owner = os.getuid() if hasattr(os, "getuid") else info.st_uid
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == owner
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _prepared(path: str) -> bool:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        logger.debug("tracekit: could not create %s", directory, exc_info=True)
        return False
    if _private(directory):
        return True
    logger.warning("tracekit: %s is not this user's private directory: not used", directory)
    return False


def hand_over(task_id: str) -> None:
    """In the child: this task's span is ended; this process's pending counts, its own
    included, are the main process's to write (on failure they stay here)."""
    path = _marker(task_id)
    if path is not None and _prepared(path):
        pipeline.hand_over_counts(path)


def mark_counted(task_id: str) -> None:
    """In the child: this task's span is ended (its count is written by this process)."""
    path = _marker(task_id)
    if path is not None and _prepared(path):
        with contextlib.suppress(OSError), open(path, "wb"):
            pass


def main_process_counts(task: Any) -> bool:
    """Whether the worker's main process sends ``task_failure(TimeLimitExceeded)`` for
    ``task`` (and then counts it unless handed the counts): not when Celery requeues a task
    past its time limit (``acks_late`` without ``acks_on_timeout``, Celery 5.7)."""
    if not getattr(task, "acks_late", False):
        return True
    acks_on_timeout = getattr(task, "acks_on_timeout", None)
    return acks_on_timeout is None or bool(acks_on_timeout)


def take_counted(task_id: str) -> bool:
    """In the main process, now: whether the child counted the task (its file is taken:
    the counts in it are this process's to write)."""
    path = _marker(task_id)
    if path is None or not os.path.exists(path) or not _private(os.path.dirname(path)):
        return False
    return pipeline.adopt_counts(path)


# With the child's pid known, the check waits for the child to be gone (then nothing it
# does can count any more), at most this long.
CHILD_GONE_WITHIN_S = 30.0


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped has)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as process:
            return process.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")
    except FileNotFoundError:
        return True
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        pass
    return False


def count_unless_counted(task_id: str, count: Callable[[], None] | None,
                         after_s: float = CHECK_AFTER_S, child_pid: int | None = None) -> None:
    """In the main process: ``count()`` a moment from now, unless the child handed its
    counts over by then (they are written here then); at most once per task id. With
    ``child_pid``, "by then" is once that child has ended. ``count`` ``None``: only take
    what the child handed over (a revoked task: its child counts it, or no one)."""
    with _lock:
        if task_id in _scheduled:
            return
        _scheduled.add(task_id)

    def check() -> None:
        try:
            if child_pid is not None:
                stop = threading.Event()
                waited = 0.0
                while not _gone(child_pid) and waited < CHILD_GONE_WITHIN_S:
                    stop.wait(0.1)
                    waited += 0.1
            if take_counted(task_id):
                logger.info("tracekit: task %s: its pool child counted it; the worker's main "
                            "process writes the count", task_id)
                return
            if count is None:
                return
            count()
            logger.info("tracekit: task %s: its pool child was killed before counting it: "
                        "counted by the worker's main process", task_id)
        except Exception:
            logger.warning("tracekit: could not count a task past its time limit", exc_info=True)
        finally:
            with _lock:
                _scheduled.discard(task_id)

    timer = threading.Timer(after_s, check)
    timer.daemon = True
    timer.start()


def _remove_directory() -> None:
    """The family's first process ends: counts handed over that no task-failure signal
    came for are written; the markers left go with the directory."""
    directory = _directory()
    if directory is None or logonce.family() != os.getpid():
        return
    if _private(directory):
        with contextlib.suppress(OSError):
            names = [n for n in os.listdir(directory) if not n.endswith(".part")]
            if names:
                for name in names:
                    pipeline.adopt_counts(os.path.join(directory, name))
                pipeline.flush_counts()
    shutil.rmtree(directory, ignore_errors=True)


atexit.register(_remove_directory)
