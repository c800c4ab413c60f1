"""The video pipeline as Celery tasks: probe -> transcode -> thumbnail -> notify.

Each task's span is named after the task function (``shop/videos/tasks/transcode``), in the
trace of the upload request that started the chain.
"""

from __future__ import annotations

import random
from typing import Any

from celery import shared_task

from shop.videos.services import ProcessVideo, TranscodeError


@shared_task
def probe(video_id: int) -> dict[str, Any]:
    return {"video": video_id, "seconds": ProcessVideo(video_id).probe()}


@shared_task(bind=True, max_retries=3, default_retry_delay=0.2)
def transcode(self: Any, info: dict[str, Any]) -> dict[str, Any]:
    try:
        ProcessVideo(info["video"]).transcode(info["seconds"])
    except TranscodeError as exc:
        # A retry is an outcome, not an error: each attempt is its own span in the trace.
        raise self.retry(exc=exc) from exc
    return info


@shared_task
def thumbnail(info: dict[str, Any]) -> dict[str, Any]:
    ProcessVideo(info["video"]).thumbnail()
    return info


@shared_task
def notify(info: dict[str, Any]) -> None:
    if random.random() < 0.05:
        raise ConnectionError(f"mail server refused the notice for video {info['video']}")


class CdnUnavailable(Exception):
    pass


@shared_task(bind=True, max_retries=2, default_retry_delay=0.2)
def publish_to_cdn(self: Any, video_id: int) -> None:
    """Fails every attempt (the CDN origin is down): two retries, then the task fails."""
    try:
        raise CdnUnavailable(f"CDN origin refused video {video_id}")
    except CdnUnavailable as exc:
        raise self.retry(exc=exc) from exc
