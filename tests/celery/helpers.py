"""A real Celery worker (prefork) and a real Django server (runserver) on the test project,
both exporting to a local OTLP receiver; helpers to find a trace's spans."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.otlp_receiver import OtlpHttpReceiver, ReceivedSpan
from tests.support.processes import (
    READY_TIMEOUT_S,
    GroupProcess,
    clean_env,
    free_port,
    stopped_on_failure,
)

SETTINGS = "tests.celery.project.settings"
# OTLP proto enum values.
KIND_SERVER, KIND_PRODUCER, KIND_CONSUMER = 2, 4, 5
STATUS_UNSET, STATUS_ERROR = 0, 2
# Spans and task states are polled until they arrive: sized, like READY_TIMEOUT_S, for a
# loaded 2-core CI machine (a passing test never waits it out).
WAIT_TIMEOUT_S = 60.0

BROKERS = {
    "filesystem": "filesystem://",
    "redis": "redis://127.0.0.1:6379/14",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672//",
}
TASKS = "tests.celery.project.tasks"


def task_span_name(function: str) -> str:
    """The convention name of a task function of the test project (PROJECT_NAME "tests")."""
    return f"tests/celery/project/tasks/{function}"


def publish_span_name(function: str) -> str:
    return f"apply_async/{TASKS}.{function}"


def stack_env(broker: str, receiver: OtlpHttpReceiver, data: Path, queue: str,
              **extra: str) -> dict[str, str]:
    return clean_env(SETTINGS, TK_CELERY_BROKER=BROKERS[broker], TK_CELERY_DATA=str(data),
                     TK_CELERY_QUEUE=queue, TK_OTLP_ENDPOINT=receiver.endpoint, **extra)


class Process(GroupProcess):
    """A worker or server of a :class:`Stack`; stopped quickly (3 s grace), group and all."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        super().__init__(name, cmd, env, log_dir / f"{name}.log")

    def stop(self, grace: float = 3.0) -> None:
        super().stop(grace)


class Stack:
    """One broker: a prefork worker (concurrency 2) and a runserver, sharing a queue."""

    def __init__(self, broker: str, receiver: OtlpHttpReceiver, tmp: Path,
                 worker_args: tuple[str, ...] = (), worker_env: dict[str, str] | None = None,
                 **env: str) -> None:
        self.broker = broker
        self.receiver = receiver
        data = tmp / "data"
        for sub in ("broker", "control", "results"):
            (data / sub).mkdir(parents=True, exist_ok=True)
        # A queue of its own: a shared Redis/RabbitMQ may hold other workers' queues.
        queue = f"tracekit-tests-{uuid.uuid4().hex[:12]}"
        self.env = stack_env(broker, receiver, data, queue, **env)
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.processes: list[Process] = []
        with stopped_on_failure(self.stop):
            worker = self._start("worker", [
                sys.executable, "-m", "celery", "-A", "tests.celery.project", "worker",
                "-P", "prefork", "-c", "2", "--loglevel=INFO", "-n", f"{queue}@%h",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-I", "tests.celery.project.worker_only", *worker_args], tmp,
                {**self.env, **(worker_env or {})})
            server = self._start("server", [
                sys.executable, "-m", "django", "runserver", "--noreload",
                f"127.0.0.1:{self.port}"], tmp, self.env)
            worker.wait_for_log(" ready.", READY_TIMEOUT_S)
            server.wait_http(self.base_url + "/healthz/", READY_TIMEOUT_S)
            self.worker = worker

    def _start(self, name: str, cmd: list[str], tmp: Path, env: dict[str, str]) -> Process:
        process = Process(name, cmd, env, tmp)
        self.processes.append(process)
        return process

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.base_url + path, timeout=30) as reply:
            return dict(json.loads(reply.read()))

    def wait_state(self, task_id: str, states: tuple[str, ...],
                   timeout: float = WAIT_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = str(self.get(f"/state/{task_id}/")["state"])
            if state in states:
                return state
            time.sleep(0.1)
        raise AssertionError(f"task {task_id} never reached {states}")

    def wait_trace(self, trace_id: str, names: dict[str, int],
                   timeout: float = WAIT_TIMEOUT_S) -> list[ReceivedSpan]:
        """:func:`wait_trace`, with the worker and server logs in the failure message."""
        try:
            return wait_trace(self.receiver, trace_id, names, timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.logs()}") from None

    def logs(self) -> str:
        """The end of each process's log, without beat's once-a-second ticks (they would
        push what happened to the task under test out of the message)."""
        def relevant(line: str) -> bool:
            return not ("Scheduler: Sending due task tick" in line
                        or f"{TASKS}.encode[" in line)

        return "\n".join(
            f"--- {p.name}\n" + "\n".join(filter(relevant, p.log().splitlines()))[-6000:]
            for p in self.processes)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()


# --- finding spans ----------------------------------------------------------------------


def in_trace(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id]


def wait_trace(receiver: OtlpHttpReceiver, trace_id: str, names: dict[str, int],
               timeout: float = WAIT_TIMEOUT_S) -> list[ReceivedSpan]:
    """Wait until the trace holds at least ``count`` spans of each name; its spans."""
    def done(spans: list[ReceivedSpan]) -> bool:
        mine = in_trace(spans, trace_id)
        return all(sum(s.name == n for s in mine) >= c for n, c in names.items())

    try:
        return in_trace(receiver.wait_for(done, timeout=timeout), trace_id)
    except AssertionError:
        got = sorted(s.name for s in in_trace(receiver.spans, trace_id))
        raise AssertionError(f"trace {trace_id}: wanted {names}, got {got}") from None


def by_message_id(spans: list[ReceivedSpan], task_id: str, kind: int) -> list[ReceivedSpan]:
    return [s for s in spans
            if s.kind == kind and s.attributes.get("messaging.message.id") == task_id]


def one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    found = [s for s in spans if s.name == name]
    assert len(found) == 1, f"{len(found)} spans named {name!r}: {sorted(s.name for s in spans)}"
    return found[0]
