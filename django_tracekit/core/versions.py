"""The default ``service.version``: where a project's version comes from when
``TRACEKIT['SERVICE_VERSION']`` is not set.

In order, the first that gives one:

1. the installed distribution named ``PROJECT_NAME`` (``importlib.metadata.version``);
2. the distribution that provides the ``PROJECT_NAME`` package
   (``importlib.metadata.packages_distributions``: the package ``shop`` of ``shop-web``);
3. the package's ``__version__``, or its ``version`` module's ``__version__``
   (``shop/version.py``), read from the source without importing the project;
4. Django's ``settings.VERSION`` (``"0.7.5"``, ``(1, 0, 0)``): a convention of many
   projects (bookwyrm, NetBox) that show their version in templates;
5. a ``VERSION`` file at ``BASE_DIR`` (its first line: bookwyrm reads it into
   ``settings.VERSION``; other projects write it at release time);
6. the git commit of ``BASE_DIR`` (or the nearest folder above it holding ``.git``), read
   from ``.git`` without running git: ``HEAD`` → its ref → the loose ref file or
   ``packed-refs``; a ``.git`` *file* (``gitdir: ...``: worktrees, submodules) is followed,
   and a worktree's refs are looked up in its common directory. 12 hex digits.

:func:`detect` says which source gave it (``manage.py tracekit_status`` prints it).
Nothing here raises: an unreadable source is skipped.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

HEX = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")  # SHA-1 or SHA-256 object names
SHORT = 12
MAX_PARENTS = 8  # folders above BASE_DIR searched for .git


@dataclass(frozen=True)
class Version:
    value: str | None
    source: str  # how it was found, for people ("git commit of /srv/shop", "none found")


def from_distribution(project_name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(project_name)
    except (metadata.PackageNotFoundError, ValueError):
        return None


def from_providing_distribution(project_name: str) -> tuple[str, str] | None:
    """(distribution, version) of the distribution that installs the package."""
    from importlib import metadata

    folder = _package_folder(project_name)
    if folder is not None and not _installed(folder):
        # A checkout (pontoon, bookwyrm): only a distribution whose metadata sits in the
        # checkout or an editable install of it can provide the package. packages_distributions()
        # reads every installed distribution's file list: about 0.5 s of CPU at every process
        # start in pontoon's 160-distribution virtualenv, for nothing.
        return _checkout_provider(project_name, folder)
    try:
        providers = metadata.packages_distributions().get(project_name) or []
    except Exception:  # a broken dist-info in site-packages must not stop startup
        return None
    for distribution in providers:
        try:
            return distribution, metadata.version(distribution)
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return None


def _spec(project_name: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of the top-level package (or module) ``project_name``, without importing it
    (a dotted name would import its parent package: none)."""
    if not project_name.isidentifier():
        return None
    try:
        return importlib.util.find_spec(project_name)
    except (ImportError, ValueError):
        return None


def _package_folder(project_name: str) -> Path | None:
    """The folder of the top-level package (or module) ``project_name``, without importing it."""
    spec = _spec(project_name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    return Path(spec.origin).resolve().parent if spec.origin and spec.has_location else None


def _installed(folder: Path) -> bool:
    return any(part in ("site-packages", "dist-packages") for part in folder.parts)


def _checkout_provider(project_name: str, folder: Path) -> tuple[str, str] | None:
    """The distribution of a package in a checkout: its metadata found beside the package
    (``setup.py develop``'s ``.egg-info``) or an editable install whose project folder holds
    the package (``direct_url.json``), that lists the package (``top_level.txt`` or files)."""
    import json
    from importlib import metadata
    from urllib.parse import unquote, urlparse

    try:
        for dist in metadata.distributions():
            try:
                home = Path(str(dist.locate_file(""))).resolve()
                beside = home == folder.parent
                editable = False
                if not beside:
                    text = dist.read_text("direct_url.json")
                    if not text:
                        continue
                    direct = json.loads(text)
                    url = urlparse(str(direct.get("url", "")))
                    root = Path(unquote(url.path)).resolve()
                    editable = (url.scheme == "file" and bool(
                        (direct.get("dir_info") or {}).get("editable"))
                        and folder.is_relative_to(root))
                if (beside or editable) and _lists(dist, project_name, editable):
                    name = dist.metadata["Name"]
                    return str(name), dist.version
            except Exception:  # one broken distribution must not hide the others
                continue
    except Exception:
        return None
    return None


def _lists(dist: object, project_name: str, editable: bool) -> bool:
    """Whether ``dist`` declares the package; an editable install that declares nothing (its
    files are a ``.pth`` and a finder) and holds the package's folder does."""
    read_text = getattr(dist, "read_text", None)
    top_level = read_text("top_level.txt") if read_text else None
    if top_level:
        return project_name in top_level.split()
    if editable:
        return True
    return any(file.parts and file.parts[0] in (project_name, f"{project_name}.py")
               for file in getattr(dist, "files", None) or ())


def _literal_version(path: Path) -> str | None:
    """``__version__ = "1.2"`` from a module's source (never imported: importing the
    project's package from the settings could run its code too early)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return None
    for node in tree.body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) else [])
        value = getattr(node, "value", None)
        for target in targets:
            if (isinstance(target, ast.Name) and target.id == "__version__"
                    and isinstance(value, ast.Constant) and isinstance(value.value, str)
                    and value.value.strip()):
                return value.value.strip()
    return None


def from_package(project_name: str) -> tuple[str, str] | None:
    """(where, version) from the package's ``__init__`` or its ``version`` module."""
    spec = _spec(project_name)
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    candidates = [Path(loc) / "__init__.py" for loc in locations]
    if spec.origin and spec.origin.endswith(".py"):
        candidates.insert(0, Path(spec.origin))
    candidates += [Path(loc) / name for loc in locations
                   for name in ("version.py", "_version.py", "__version__.py")]
    for path in dict.fromkeys(candidates):
        found = _literal_version(path)
        if found is not None:
            return str(path), found
    return None


MAX_CHARS = 64  # the stats keep 64 characters of a version


def _plausible(text: str) -> str | None:
    text = text.strip()
    if not text or len(text) > MAX_CHARS or not text.isprintable() or " " in text:
        return None
    return text


def from_settings_value(value: object) -> str | None:
    """``settings.VERSION`` as projects write it: a string, an int, or a tuple of parts
    (``(1, 0, 0)`` → ``1.0.0``); anything else (a callable, a dict) is not a version."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (tuple, list)):
        if not value or not all(isinstance(part, (int, str)) and not isinstance(part, bool)
                                for part in value):
            return None
        return _plausible(".".join(str(part) for part in value))
    if isinstance(value, (str, int)):
        return _plausible(str(value))
    return None


def from_settings() -> str | None:
    from django.conf import settings

    if not settings.configured:
        return None
    try:
        return from_settings_value(getattr(settings, "VERSION", None))
    except Exception:  # a lazy setting that fails must not stop startup
        return None


def from_version_file(base_dir: Path | str) -> tuple[str, str] | None:
    """(path, version) from the first line of ``BASE_DIR/VERSION``."""
    path = Path(base_dir) / "VERSION"
    try:
        with path.open(encoding="utf-8") as file:
            first = file.readline(MAX_CHARS * 4)
    except (OSError, UnicodeDecodeError):
        return None
    found = _plausible(first)
    return (str(path), found) if found else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _git_dir(base: Path) -> Path | None:
    for folder in [base, *list(base.parents)[:MAX_PARENTS]]:
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = _read(dot_git) or ""
            if text.startswith("gitdir:"):
                target = Path(text.removeprefix("gitdir:").strip())
                target = target if target.is_absolute() else (folder / target)
                return target.resolve() if target.is_dir() else None
            return None
    return None


def _resolve_ref(git_dir: Path, ref: str) -> str | None:
    # A worktree's own folder holds HEAD; branches live in the common directory.
    common = git_dir
    pointer = _read(git_dir / "commondir")
    if pointer:
        common = (git_dir / pointer).resolve()
    for folder in dict.fromkeys((git_dir, common)):
        loose = _read(folder / ref)
        if loose and HEX.fullmatch(loose):
            return loose
    packed = _read(common / "packed-refs") or ""
    for line in packed.splitlines():
        sha, _, name = line.partition(" ")
        if name.strip() == ref and HEX.fullmatch(sha):
            return sha
    return None


def git_commit(base_dir: Path | str) -> str | None:
    """The commit ``HEAD`` of the repository holding ``base_dir`` names (12 hex digits)."""
    git_dir = _git_dir(Path(base_dir))
    if git_dir is None:
        return None
    head = _read(git_dir / "HEAD")
    if not head:
        return None
    if HEX.fullmatch(head):  # detached HEAD (CI checkouts, deploy tools)
        return head[:SHORT]
    if head.startswith("ref:"):
        sha = _resolve_ref(git_dir, head.removeprefix("ref:").strip())
        return sha[:SHORT] if sha else None
    return None


@functools.lru_cache(maxsize=16)
def detect(project_name: str, base_dir: Path | str | None) -> Version:
    """The default version and its source (see the module docstring); cached per process
    (``detect.cache_clear()`` forgets)."""
    if project_name:
        value = from_distribution(project_name)
        if value:
            return Version(value, f"installed distribution {project_name!r}")
        provided = from_providing_distribution(project_name)
        if provided:
            return Version(provided[1], f"distribution {provided[0]!r} (provides "
                                        f"package {project_name!r})")
        package = from_package(project_name)
        if package:
            return Version(package[1], f"__version__ in {package[0]}")
    setting = from_settings()
    if setting:
        return Version(setting, "settings.VERSION")
    if base_dir:
        version_file = from_version_file(base_dir)
        if version_file:
            return Version(version_file[1], f"VERSION file {version_file[0]}")
        commit = git_commit(base_dir)
        if commit:
            return Version(commit, f"git commit of {base_dir}")
    return Version(None, "none found (no distribution, __version__, settings.VERSION, VERSION "
                         "file or .git)")


def describe(service_version: str | None, project_name: str) -> str:
    """``tracekit_status``'s line: the version and where it came from."""
    from django.conf import settings

    raw = getattr(settings, "TRACEKIT", None)
    if isinstance(raw, dict) and raw.get("SERVICE_VERSION"):
        return f"{service_version} (TRACEKIT['SERVICE_VERSION'])"
    if service_version and f"service.version={service_version}" in os.environ.get(
            "OTEL_RESOURCE_ATTRIBUTES", "").replace(" ", ""):
        return f"{service_version} (service.version in OTEL_RESOURCE_ATTRIBUTES)"
    from django_tracekit.core.project import project_root

    found = detect(project_name, project_root())  # the root the config's default came from
    if found.value is None or found.value != service_version:
        return f"{service_version or '(none)'} ({found.source})"
    return f"{found.value} ({found.source})"
