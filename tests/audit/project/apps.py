from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "tests.audit.project"
    label = "audit_project"
