from typing import Any

from django.contrib.auth.models import User
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "A management command the audit runs a known number of times."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(str(User.objects.count()))
