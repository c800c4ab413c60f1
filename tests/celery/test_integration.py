"""The Celery integration is set up at Celery's first import: a process that never loads
Celery (a web process of a project without tasks) does not load it for tracekit."""

from __future__ import annotations

import json

import pytest

from tests.support.scripts import run_django

pytestmark = pytest.mark.requires("celery")

SCRIPT = """
import sys
from django_tracekit import bootstrap
from django_tracekit.conf import get_config
state = bootstrap.setup(get_config())  # the state django.setup() made
active = [i.identifier for i in state.integrations]
before = "celery" in sys.modules
import importlib.util
importlib.util.find_spec("celery")  # "is it installed?" (the system checks ask): no import
from celery import signals                      # the project's first use of Celery
from celery.exceptions import Retry
from django_tracekit.core import errors
receivers = [str(key) for key, _ in signals.task_prerun.receivers]
print(json.dumps({"active": active, "before": before, "receivers": receivers,
                  "retry_expected": not errors.is_error(Retry())}))
"""


def test_celery_is_loaded_by_the_project_not_by_tracekit() -> None:
    done = run_django(SCRIPT, {})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert "celery" in seen["active"]  # installed: the integration is on
    assert seen["before"] is False  # ... and did not import it
    assert any("django_tracekit.sources.celery" in r for r in seen["receivers"])
    assert seen["retry_expected"]  # Retry is an outcome, not an error, once Celery is loaded


def test_celery_loaded_before_tracekit_is_traced_at_once() -> None:
    done = run_django("import celery\ndjango.setup()\n" + SCRIPT, {}, setup=False)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["before"] is True
    assert any("django_tracekit.sources.celery" in r for r in seen["receivers"])
    assert seen["retry_expected"]
