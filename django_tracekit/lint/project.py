"""Default lint targets for a Django project: its own apps (needs configured settings)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def own_app_paths(base_dir: Path | None, app_paths: Iterable[str | Path]) -> list[Path]:
    """The app directories under ``base_dir`` (the project's own code, not site-packages).

    Without ``base_dir`` the current directory stands in for it; when no app lives under it,
    ``base_dir`` itself is linted rather than nothing.
    """
    root = (base_dir or Path.cwd()).resolve()
    own = sorted({Path(p).resolve() for p in app_paths if Path(p).resolve().is_relative_to(root)})
    # An app nested in another app's directory is linted through its parent already.
    own = [p for p in own if not any(p != q and p.is_relative_to(q) for q in own)]
    return own or [root]


def django_default_paths() -> list[Path]:
    from django.apps import apps

    from django_tracekit.core.project import project_root

    base_dir = project_root()
    return own_app_paths(
        Path(base_dir) if base_dir else None,
        [config.path for config in apps.get_app_configs()],
    )
