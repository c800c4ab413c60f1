"""Django cache calls as an integration: a source of CLIENT spans (``cache.get``...)."""

from __future__ import annotations

from django_tracekit.integrations.base import Integration


class CacheIntegration(Integration):
    identifier = "cache"
    role = "source"

    def refusal(self) -> str | None:
        if not self.config.cache_enabled:
            return "TRACEKIT['CACHE']['ENABLED'] is False"
        return super().refusal()

    def setup_once(self) -> None:
        from django_tracekit.sources.cache import install

        install.install()
