from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "tests.celery.project"
    label = "celery_project"

    def ready(self) -> None:
        # django_tracekit's own AppConfig.ready() installs the integration once apps.py does
        # so; install() is idempotent, so this line stays harmless afterwards.
        from django_tracekit.integrations import celery as tk_celery

        tk_celery.install()
