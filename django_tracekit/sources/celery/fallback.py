"""A fallback count for a task whose pool child was killed past its hard time limit before
it could count it, without counting it twice.

On a hard time limit the worker's main process sends ``task_failure(TimeLimitExceeded)``
(Celery 5.5+), then SIGTERMs the child and SIGKILLs it 0.1 s later. The child turns SIGTERM
into ``SystemExit``, ends the task's span and writes its stats, usually in time; on a
loaded machine, with a slow database, or with ``REMAP_SIGTERM`` (the child ignores SIGTERM)
it is killed first and the count was lost.

So the child leaves a marker (an empty file named by the task id, in a directory of the
worker's process family) once its stats are written; the main process looks for it a
moment after the kill and, only when it is missing, ends a span of its own for the task
(counted, marked ``celery.time_limit = hard``). The marker is written right after the
stats commit: the window in which both could count is the child dying between the two.

The same marker says "this task's span is ended" for a task that raised its own
``SystemExit``/``KeyboardInterrupt``: Celery's main process reports it as a lost worker,
and ends a span of its own only when the marker is missing (``tracing.outcomes.failure``).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable

from django_tracekit.core import logonce

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


def mark_counted(task_id: str) -> None:
    """In the child: this task's span is ended and its count written."""
    path = _marker(task_id)
    if path is None:
        return
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(path, "wb"):
            pass
    except OSError:
        logger.debug("tracekit: could not leave the counted marker", exc_info=True)


def take_counted(task_id: str) -> bool:
    """In the main process, now: whether the child left its marker (then removed)."""
    path = _marker(task_id)
    if path is None or not os.path.exists(path):
        return False
    with contextlib.suppress(OSError):
        os.unlink(path)
    return True


# With the child's pid known, the check waits for the child to be gone (then nothing it
# does can count any more), at most this long.
CHILD_GONE_WITHIN_S = 30.0


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (a zombie waiting to be reaped has)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[-1].split()[0] in (b"Z", b"X")
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


def count_unless_counted(task_id: str, count: Callable[[], None],
                         after_s: float = CHECK_AFTER_S, child_pid: int | None = None) -> None:
    """In the main process: ``count()`` a moment from now, unless the child left its
    marker by then (at most once per task id). With ``child_pid``, "by then" is once that
    child has ended: a child still writing on a loaded machine is never counted twice."""
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
    """The family's first process ends: the markers left go with it."""
    directory = _directory()
    if directory is not None and logonce.family() == os.getpid():
        shutil.rmtree(directory, ignore_errors=True)


atexit.register(_remove_directory)
