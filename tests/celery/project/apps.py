from django.apps import AppConfig


class ProjectConfig(AppConfig):
    # django_tracekit's registry turns the Celery integration on by itself (celery is
    # installed); the project needs nothing more than any Celery project has.
    name = "tests.celery.project"
    label = "celery_project"
