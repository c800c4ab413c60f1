"""The video pipeline. Auto-tracing names every step after its code location
(``shop/videos/services/ProcessVideo/transcode``): no span names, no decorators."""

from __future__ import annotations

import logging
import os
import random
import time
import zlib

from django.core.cache import cache

import django_tracekit as tracekit

# Log lines become events of the span they were written in: no log search needed.
logger = logging.getLogger(__name__)


class TranscodeError(Exception):
    pass


class ProcessVideo:
    def __init__(self, video_id: int) -> None:
        self.video_id = video_id

    def run(self) -> dict[str, object]:
        duration = self.probe()
        try:
            self.transcode(duration)
        except TranscodeError as exc:
            # Handled: the trace keeps the error (full stack), the user gets a fallback.
            tracekit.record_error(exc)
            return {"video": self.video_id, "status": "queued-for-retry"}
        self.thumbnail()
        return {"video": self.video_id, "status": "done", "seconds": duration}

    def probe(self) -> int:
        time.sleep(0.002)
        return 30 + self.video_id % 90

    def transcode(self, duration: int) -> None:
        self.encode(duration)
        logger.info("transcoding video %s (%s s)", self.video_id, duration)
        if random.random() < 0.15:  # some steps fail sometimes
            logger.warning("codec unstable on video %s", self.video_id)
            raise TranscodeError(f"codec crashed on video {self.video_id}")

    @tracekit.traced(attributes={"video.codec": "h264"})  # a span with extra attributes
    def encode(self, duration: int) -> None:
        crc = 0
        for chunk in range(200):
            crc = checksum(crc, chunk)
        time.sleep(duration / 10_000)

    def thumbnail(self) -> None:
        time.sleep(0.001)


@tracekit.no_autotrace  # hot: called 200 times per video, nothing to learn from its spans
def checksum(crc: int, chunk: int) -> int:
    return zlib.crc32(chunk.to_bytes(2, "big"), crc)


RELEASE = tuple(int(n) for n in os.environ.get("SHOP_VERSION", "1.5.0").split(".")[:2])


def share_link(video_id: int) -> str:
    if RELEASE >= (1, 5) and video_id % 2:
        # The regression release 1.5.0 brought: odd videos' links fail (the changes page).
        raise KeyError(f"share-link:{video_id}")
    # A cache call: a span with cache.hit in the request's trace.
    return str(cache.get_or_set(f"share-link:{video_id}",
                                lambda: f"https://shop.example/v/{video_id:06d}", 300))
