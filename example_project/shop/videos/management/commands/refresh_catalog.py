"""``manage.py refresh_catalog``: the demo's catalog, as a cron job would refresh it. The
command is a root span (``shop/videos/management/commands/refresh_catalog/Command/handle``)
with its SQL and log lines in it, and a feature of kind "command" in the admin."""

from __future__ import annotations

import logging
from typing import Any

from django.core.management.base import BaseCommand

from shop.videos.models import Channel, Video

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Create the demo catalog (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        for c in range(1, 4):
            channel, _ = Channel.objects.get_or_create(name=f"Channel {c}")
            for v in range(1, 5):
                Video.objects.get_or_create(title=f"Video {c}.{v}", channel=channel)
        logger.info("catalog refreshed: %d videos", Video.objects.count())
