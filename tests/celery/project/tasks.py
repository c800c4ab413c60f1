"""Tasks of the test project, one per behaviour under test (autodiscovered)."""

import os
import signal
import time

from celery import chord, group, shared_task
from celery.exceptions import Ignore, Reject, SoftTimeLimitExceeded


@shared_task
def process_video(video_id: int) -> int:
    # A task sending a subtask: the subtask belongs to the same trace.
    encode.delay(video_id)
    return video_id


@shared_task
def encode(video_id: int) -> int:
    return video_id * 2


def _explode(order_id: int) -> None:
    raise ValueError(f"order {order_id} cannot be charged")


@shared_task
def charge(order_id: int) -> None:
    _explode(order_id)  # the stack must show this frame and _explode's raise


def _mark_failed(self, exc, task_id, args, kwargs, einfo):  # type: ignore[no-untyped-def]
    # An on_failure handler that fails too (the Styleguide example's email_send): Celery then
    # reports an internal error and never sends task_failure for the task's own exception.
    raise LookupError(f"order {args[0]}: no record to mark as failed")


@shared_task(on_failure=_mark_failed)
def charge_and_mark(order_id: int) -> None:
    _explode(order_id)


@shared_task(bind=True, max_retries=3)
def flaky(self, attempts_needed: int) -> int:  # type: ignore[no-untyped-def]
    if self.request.retries < attempts_needed:
        raise self.retry(exc=ConnectionError(f"backend down (try {self.request.retries})"),
                         countdown=0)
    return self.request.retries


@shared_task(throws=(KeyError,))
def lookup(key: str) -> None:
    raise KeyError(key)  # declared in throws: an expected outcome, not an error


@shared_task
def skip() -> None:
    raise Ignore()


@shared_task
def refuse() -> None:
    raise Reject("not for us", requeue=False)


@shared_task
def slow(seconds: float) -> None:
    time.sleep(seconds)


@shared_task(soft_time_limit=0.5)
def soft_limited() -> None:
    try:
        time.sleep(10)
    except SoftTimeLimitExceeded:
        raise


@shared_task(time_limit=1.5)
def hard_limited(deaf: bool = False) -> None:
    if deaf:  # as a task stuck in C code: SIGTERM cannot unwind it, SIGKILL ends it
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGQUIT})
    time.sleep(30)  # killed by the hard time limit while sleeping here


@shared_task
def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # the pool child dies mid-task


@shared_task
def add(x: int, y: int) -> int:
    return x + y


@shared_task
def total(values: list[int]) -> int:
    return sum(values)


@shared_task
def fan_out(n: int) -> None:
    # Canvas sent from inside a task: a group and a chord.
    group(add.s(i, i) for i in range(n)).apply_async()
    chord([add.s(i, 1) for i in range(n)])(total.s())


@shared_task(bind=True, max_retries=2)
def always_fails(self) -> None:  # type: ignore[no-untyped-def]
    # Retried twice, then Celery re-raises the exception: 3 failed attempts, 1 failed task.
    raise self.retry(exc=ConnectionError(f"backend down (try {self.request.retries})"),
                     countdown=0)


@shared_task
def catalog_size() -> int:
    return 3


@shared_task
def quits(code: int) -> None:
    # A task that ends its process's work with sys.exit (a "fatal" path in project code):
    # billiard reports the SystemExit as the task's result, Celery as a lost worker.
    raise SystemExit(code)
