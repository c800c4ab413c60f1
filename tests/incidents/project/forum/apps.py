from django.apps import AppConfig


class IncidentsConfig(AppConfig):
    name = "forum"
    label = "incidents_project"
