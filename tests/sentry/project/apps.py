from django.apps import AppConfig


class SentryProjectConfig(AppConfig):
    name = "tests.sentry.project"
    label = "sentry_project"

    def ready(self) -> None:
        # What django_tracekit's own ready() does once the integration is wired in (calling
        # it again is a no-op: install() is idempotent).
        from django_tracekit.conf import get_config
        from django_tracekit.destinations import sentry

        config = get_config()
        if config.sentry_dsn or sentry.sentry_wanted(config):
            sentry.install(config)
