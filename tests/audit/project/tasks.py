"""Tasks with known outcomes: one that passes, one that passes on its third attempt, one
that fails all three."""

from celery import shared_task


@shared_task
def ok() -> int:
    return 1


@shared_task(bind=True, max_retries=3)
def flaky(self, attempts_needed: int) -> int:  # type: ignore[no-untyped-def]
    if self.request.retries < attempts_needed:
        raise self.retry(exc=ConnectionError(f"backend down (try {self.request.retries})"),
                         countdown=0)
    return int(self.request.retries)


@shared_task(bind=True, max_retries=2)
def doomed(self) -> None:  # type: ignore[no-untyped-def]
    raise self.retry(exc=ConnectionError(f"backend down (try {self.request.retries})"),
                     countdown=0)
