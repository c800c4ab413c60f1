import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.logs.celery_project.settings")

app = Celery("logs_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["tests.logs.celery_project"])
