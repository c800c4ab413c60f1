"""The video pipeline: every step is a span named by its code location, no names written."""

from __future__ import annotations

import random
import time

import django_tracekit as tracekit


class TranscodeError(Exception):
    pass


class ProcessVideo:
    def __init__(self, video_id: int) -> None:
        self.video_id = video_id

    @tracekit.traced
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

    @tracekit.traced
    def probe(self) -> int:
        time.sleep(0.002)
        return 30 + self.video_id % 90

    @tracekit.traced
    def transcode(self, duration: int) -> None:
        self.encode(duration)
        if random.random() < 0.15:  # some steps fail sometimes
            raise TranscodeError(f"codec crashed on video {self.video_id}")

    @tracekit.traced(attributes={"video.codec": "h264"})
    def encode(self, duration: int) -> None:
        time.sleep(duration / 10_000)

    @tracekit.traced
    def thumbnail(self) -> None:
        time.sleep(0.001)


@tracekit.traced
def share_link(video_id: int) -> str:
    return f"https://shop.example/v/{video_id:06d}"
