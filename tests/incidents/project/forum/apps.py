from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "forum"
    label = "incidents_project"

    def ready(self) -> None:
        from forum import signals  # imported here: after auto-tracing is installed

        signals.connect_handlers()
