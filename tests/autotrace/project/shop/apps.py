from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self):
        from django.core import checks

        from shop import services

        checks.register(services.system_check)
