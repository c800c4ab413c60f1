from django.apps import AppConfig
from django.core import checks


class ShopConfig(AppConfig):
    name = "shop"

    def ready(self) -> None:
        from shop.inventory import check_inventory

        checks.register(check_inventory)
