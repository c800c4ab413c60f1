"""The Celery app (the Celery/Django guide's), plus the auto-tracing install of this project."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")

# In the worker this module is the first project code imported (-A shop.celery): install
# before autodiscover imports shop.tasks. What django_tracekit's AppConfig does when it is
# first in INSTALLED_APPS (docs/autotrace.md); idempotent in the web process.
from django_tracekit.sources import autotrace  # noqa: E402

autotrace.install()
app.autodiscover_tasks()
