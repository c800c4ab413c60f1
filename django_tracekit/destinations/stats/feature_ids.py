"""Feature ids: a feature's row is made the first time a process writes it, and its id is
cached per process for an hour (every flush names the same features again)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from django_tracekit.destinations.stats.records import FeatureKey
from django_tracekit.storage.usage_models import Feature
from django_tracekit.storage.writer import clean_text

CACHE_SECONDS = 3600

_cache: dict[tuple[str, FeatureKey], int] = {}
_since = time.monotonic()


def clear_cache() -> None:
    global _since
    _cache.clear()
    _since = time.monotonic()


def forget() -> None:
    """Ids cached by this process may name no row (a rolled-back transaction, a feature
    pruned meanwhile): look them up again."""
    _cache.clear()


def expire() -> None:
    """Forget the ids once an hour (a feature pruned and made again has a new id)."""
    if time.monotonic() - _since > CACHE_SECONDS:
        clear_cache()


def clip(feature: str, kind: str, service: str, bmp: bool = False) -> FeatureKey:
    """A feature's key as its row stores it."""
    return (clean_text(feature, 255, bmp_only=bmp), clean_text(kind, 8),
            clean_text(service, 128, bmp_only=bmp))


def ids_for(alias: str, keys: Iterable[FeatureKey]) -> dict[FeatureKey, int]:
    """The ids of the features ``keys`` (made where missing; cached per process)."""
    ids: dict[FeatureKey, int] = {}
    missing: list[FeatureKey] = []
    for key in keys:
        cached = _cache.get((alias, key))
        if cached is None:
            missing.append(key)
        else:
            ids[key] = cached
    if not missing:
        return ids
    missing.sort()
    manager = Feature.objects.using(alias)
    manager.bulk_create([Feature(name=n, kind=k, service=s) for n, k, s in missing],
                        ignore_conflicts=True, batch_size=500)
    found: dict[FeatureKey, int] = {}
    folded: dict[FeatureKey, int] = {}
    for start in range(0, len(missing), 500):
        names = {n for n, _, _ in missing[start:start + 500]}
        for pk, name, kind, service in manager.filter(name__in=names).values_list(
                "id", "name", "kind", "service"):
            found[(name, kind, service)] = pk
            folded[_fold((name, kind, service))] = pk
    for key in missing:
        # MySQL's default collations compare case- and trailing-space-insensitively (and
        # some accent-insensitively): the row that exists may be spelled differently; it is
        # the same feature there. Whatever the collation, the database's own lookup says.
        pk = found.get(key) or folded.get(_fold(key))
        if pk is None:
            pk = manager.filter(name=key[0], kind=key[1], service=key[2]).order_by(
                "id").values_list("id", flat=True).first()
            if pk is None:  # the database stored something else than it was given
                raise ValueError(f"feature {key!r} not found after inserting it")
        ids[key] = pk
        _cache[(alias, key)] = pk
    return ids


def _fold(key: FeatureKey) -> FeatureKey:
    return key[0].casefold().rstrip(), key[1], key[2].casefold().rstrip()
