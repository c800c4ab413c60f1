"""What forwarding knows once installed (set by ``client.install``, read by the hooks)."""

from __future__ import annotations

from dataclasses import dataclass

OUR_PACKAGE = "django_tracekit"


@dataclass(frozen=True)
class Settings:
    service_name: str
    in_app: tuple[str, ...]
    max_frames: int
    trace_url: str | None = None  # TRACE_URL: the team's trace backend
    store_enabled: bool = True  # TRACES['ENABLED']: an error trace is kept in the admin


# None until install() turned forwarding on: every hook is a no-op until then.
current: Settings | None = None


def is_in_app(module: str, in_app: tuple[str, ...]) -> bool:
    top = module.split(".", 1)[0]
    return top != OUR_PACKAGE and top in in_app
