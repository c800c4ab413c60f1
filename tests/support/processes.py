"""Real processes for the server and worker tests: free ports, a clean environment, and
subprocesses in their own process group that ``stop()`` always ends, children included."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Deadlines of conditions polled until they hold (a passing test never waits them out):
# sized for a loaded 2-core CI machine, where starting Django and Celery takes many seconds.
READY_TIMEOUT_S = 90.0


@contextlib.contextmanager
def stopped_on_failure(stop: Callable[[], object]) -> Iterator[None]:
    """Runs ``stop`` when the block fails or is interrupted (Ctrl-C, a pytest timeout) and
    re-raises: what is starting (a server, a worker, a stack of them) never outlives a
    start that did not complete."""
    try:
        yield
    except BaseException:
        stop()
        raise


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(settings_module: str, *, pythonpath: tuple[str, ...] = (),
              **extra: str) -> dict[str, str]:
    """This process's environment for a Django subprocess: the developer's OTEL_*, SENTRY_*,
    CELERY_* and TK_* variables removed (they must not change what a test sees), the repo
    on PYTHONPATH, and spans exported within ~50 ms instead of the SDK's 5 s."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "SENTRY_", "CELERY_", "TK_"))
           and k != "DJANGO_SETTINGS_MODULE"}
    env.update({
        "DJANGO_SETTINGS_MODULE": settings_module,
        "PYTHONPATH": os.pathsep.join(filter(None, [*pythonpath, str(REPO),
                                                    env.get("PYTHONPATH")])),
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class GroupProcess:
    """A subprocess in its own process group, its output in ``log_path``."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_path: Path,
                 cwd: Path = REPO) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def _check_alive(self, deadline: float, what: str) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}:\n"
                                 f"{self.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{self.name} not ready ({what}):\n{self.log()[-4000:]}")

    def wait_for_log(self, text: str, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log():
            self._check_alive(deadline, f"{text!r} not logged")
            time.sleep(0.1)

    def wait_http(self, url: str, timeout: float = READY_TIMEOUT_S) -> None:
        """Until ``url`` answers 200 (poll an excluded URL: it leaves no spans behind)."""
        deadline = time.monotonic() + timeout
        while True:
            # A first request may be slow on a busy machine: give each try time to answer.
            with contextlib.suppress(OSError, urllib.error.URLError), \
                    urllib.request.urlopen(url, timeout=10) as reply:
                if reply.status == 200:
                    return
            self._check_alive(deadline, f"{url} did not answer")
            time.sleep(0.05)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the group (a graceful shutdown flushes spans), SIGKILL what remains."""
        try:
            if self.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=grace)
            # Children (pool workers) left behind by a killed parent are in the group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        finally:
            self._log.close()
