"""A serializer-heavy DRF list endpoint: throughput cost of tracekit (default configuration)
vs no instrumentation, opentelemetry-instrumentation-django, Sentry and ddtrace.

``GET /api/books/``: a ``ListAPIView`` returning 25 books through a nested
``ModelSerializer`` (author with a ``SerializerMethodField``, tags many=True, three more
``SerializerMethodField`` methods per book), on SQLite with ``select_related`` /
``prefetch_related`` (3 queries per request). The app lives in a temporary ``BASE_DIR``, so
in tracekit's default configuration (``django_tracekit`` first, stats on, trace store on,
its own provider) every serializer method and view method of it is auto-traced: ~100
auto-traced calls per request, nearly all below the threshold, inside a recorded trace.
That is the case issue 26 measured on a real project (0.845x the requests/s).

Served in-process through ``WSGIHandler`` like ``bench_request``, timed in process CPU
time per request (all threads) (whose drop points, child
environment and peer set-ups it follows): one subprocess per contender and round, rounds
alternate, medians. Goal: tracekit's throughput cost vs no instrumentation <= 5 %.

    .venv/bin/python benchmarks/bench_drf.py [--rounds 3] [--number 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE)]

from _contenders import (  # noqa: E402
    FLUSH,
    SEEN,
    dropping_processor,
    run_rounds,
    setup_ddtrace,
    setup_otel_contrib,
    setup_sentry,
    wsgi_request,
)
from _summary import record  # noqa: E402
from _timing import print_table  # noqa: E402

__all__ = ["dropping_processor"]  # TRACEKIT['EXPORTER'] = "__main__.dropping_processor"

CONTENDERS = ("none", "tracekit", "otel-contrib", "sentry", "ddtrace")
PATH = "/api/books/"
OBJECTS = 25

APP_FILES = {
    "__init__.py": "",
    "models.py": '''
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=100)
    email = models.EmailField()

    class Meta:
        app_label = "drfshop"


class Tag(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        app_label = "drfshop"


class Book(models.Model):
    title = models.CharField(max_length=200)
    isbn = models.CharField(max_length=20)
    pages = models.IntegerField()
    price = models.DecimalField(max_digits=8, decimal_places=2)
    published = models.DateField()
    author = models.ForeignKey(Author, on_delete=models.CASCADE, related_name="books")
    tags = models.ManyToManyField(Tag, related_name="books")

    class Meta:
        app_label = "drfshop"
        ordering = ["id"]
''',
    "serializers.py": '''
from decimal import Decimal

from rest_framework import serializers

from .models import Author, Book, Tag


class AuthorSerializer(serializers.ModelSerializer):
    display_name = serializers.SerializerMethodField()

    class Meta:
        model = Author
        fields = ["id", "name", "email", "display_name"]

    def get_display_name(self, obj):
        return f"{obj.name} <{obj.email}>"


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]


class BookSerializer(serializers.ModelSerializer):
    author = AuthorSerializer()
    tags = TagSerializer(many=True)
    summary = serializers.SerializerMethodField()
    price_with_tax = serializers.SerializerMethodField()
    is_long = serializers.SerializerMethodField()

    class Meta:
        model = Book
        fields = ["id", "title", "isbn", "pages", "price", "published", "author", "tags",
                  "summary", "price_with_tax", "is_long"]

    def get_summary(self, obj):
        return f"{obj.title} ({obj.published.year})"

    def get_price_with_tax(self, obj):
        return str((obj.price * Decimal("1.2")).quantize(Decimal("0.01")))

    def get_is_long(self, obj):
        return obj.pages > 300
''',
    "views.py": '''
from rest_framework.generics import ListAPIView

from .models import Book
from .serializers import BookSerializer


class BookList(ListAPIView):
    serializer_class = BookSerializer

    def get_queryset(self):
        return Book.objects.select_related("author").prefetch_related("tags")
''',
    "urls.py": '''
from django.urls import path

from .views import BookList

urlpatterns = [path("api/books/", BookList.as_view())]
''',
}

BASE_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
APPS = ["django.contrib.contenttypes", "django.contrib.auth", "rest_framework", "drfshop"]


def write_app(base: Path) -> None:
    package = base / "drfshop"
    package.mkdir()
    for name, source in APP_FILES.items():
        (package / name).write_text(source.lstrip())
    sys.path.insert(0, str(base))


def configure(base: Path, installed_apps: list[str], middleware: list[str],
              **extra: Any) -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="bench-only", ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF="drfshop.urls", BASE_DIR=str(base),
        INSTALLED_APPS=installed_apps, MIDDLEWARE=middleware,
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3",
                               "NAME": str(base / "bench.sqlite3"),
                               # Django's default 0: a new connection per request, and SQLite
                               # reads the whole schema on each; for breakdowns only (every
                               # contender alike), e.g. BENCH_DRF_CONN_MAX_AGE=600
                               "CONN_MAX_AGE": int(os.environ.get("BENCH_DRF_CONN_MAX_AGE",
                                                                  "0"))}},
        USE_TZ=True, LOGGING_CONFIG=None,
        REST_FRAMEWORK={"DEFAULT_AUTHENTICATION_CLASSES": [],
                        "DEFAULT_PERMISSION_CLASSES": [],
                        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
                        "UNAUTHENTICATED_USER": None},
        **extra,
    )


def setup_none(base: Path) -> None:
    configure(base, APPS, list(BASE_MIDDLEWARE))


def setup_tracekit(base: Path) -> None:
    """Default configuration: first in INSTALLED_APPS (auto-tracing of BASE_DIR), stats and
    trace store on (migrated tables), its own provider; only the exporter is the dropping
    one every contender gets."""
    from django_tracekit import bootstrap

    FLUSH.append(bootstrap.flush)
    configure(base, ["django_tracekit", *APPS],
              ["django_tracekit.middleware.TracekitMiddleware", *BASE_MIDDLEWARE],
              TRACEKIT={"PROJECT_NAME": "drfshop", "EXPORTER": "__main__.dropping_processor",
                        # For breakdowns only (where the cost goes), e.g.
                        # BENCH_DRF_TRACEKIT='{"DB": {"ENABLED": false}}'
                        **json.loads(os.environ.get("BENCH_DRF_TRACEKIT", "{}"))})


SETUPS: dict[str, Callable[[Path], None]] = {
    "none": setup_none,
    "tracekit": setup_tracekit,
    "otel-contrib": lambda base: setup_otel_contrib(lambda: setup_none(base)),
    "sentry": lambda base: setup_sentry(lambda: setup_none(base)),
    "ddtrace": lambda base: setup_ddtrace(lambda: setup_none(base)),
}


def seed() -> None:
    import datetime
    from decimal import Decimal

    from drfshop.models import Author, Book, Tag  # type: ignore[import-not-found]

    authors = [Author.objects.create(name=f"Author {i}", email=f"a{i}@example.com")
               for i in range(5)]
    tags = [Tag.objects.create(name=f"tag{i}") for i in range(4)]
    for i in range(OBJECTS):
        book = Book.objects.create(
            title=f"Book number {i}", isbn=f"978-0-{i:06d}", pages=100 + 17 * i,
            price=Decimal("9.99") + i, published=datetime.date(2000 + i % 20, 1 + i % 12, 1),
            author=authors[i % len(authors)])
        book.tags.set(tags[: 1 + i % len(tags)])


def cpu_per_call(func: Callable[[], object], number: int, repeat: int = 7) -> float:
    """Median over ``repeat`` rounds of the process CPU time per call (all threads: the
    tracers' background threads are charged too). CPU time, not wall time: on a shared
    machine the wall time of separate processes varies far more than their cost."""
    rounds = []
    for _ in range(repeat):
        start = time.process_time()
        for _ in range(number):
            func()
        rounds.append((time.process_time() - start) / number)
    return statistics.median(rounds)


def run_child(name: str, number: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="tk-drf-"))
    write_app(base)
    SETUPS[name](base)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)
    seed()
    one_request, statuses = wsgi_request(PATH)
    one_request()
    if statuses[-1] != "200 OK":
        raise RuntimeError(f"{name}: the list view answered {statuses[-1]}")
    from drfshop.models import Book
    from drfshop.serializers import BookSerializer  # type: ignore[import-not-found]

    count = len(BookSerializer(Book.objects.all(), many=True).data)
    if count != OBJECTS:
        raise RuntimeError(f"{name}: {count} objects serialized, expected {OBJECTS}")
    auto_traced = calls = None
    if name == "tracekit":
        from django_tracekit.sources import autotrace

        auto_traced = autotrace.is_instrumented(
            sys.modules["drfshop.serializers"].BookSerializer.get_summary)
        before = autotrace.counters.snapshot()
        one_request()
        after = autotrace.counters.snapshot()  # (the stats flusher may drain: then retry)
        calls = sum(c for c, _t, _m in after.values()) - sum(
            c for c, _t, _m in before.values())
    seconds = cpu_per_call(one_request, number)
    for flush in FLUSH:
        flush()
    return {"name": name, "seconds": seconds, "seen": SEEN[0], "requests": 7 * number + 2,
            "auto_traced": auto_traced, "calls_per_request": calls}


def run_parent(rounds: int, number: int) -> int:
    done = run_rounds(__file__, CONTENDERS, rounds, number, cwd=REPO, timeout=900)
    extra, failures = done.last, done.failures
    results = {name: statistics.median(values) for name, values in done.samples.items()}
    if "none" not in results:
        print(f"uninstrumented run failed: {failures.get('none')}")
        return 1
    print_table(f"DRF list endpoint, {OBJECTS} objects, nested serializer (per request)",
                results, "none", unit="ms",
                note=f"CPU time, median of {rounds} rounds x 7 repeats x {number} requests, "
                     "one subprocess per contender and round")
    print("\n## Throughput vs no instrumentation")
    print("| contender | requests/s | throughput ratio | cost | spans/request |")
    print("|---|---:|---:|---:|---:|")
    for name in CONTENDERS:
        if name not in results:
            print(f"| {name} | {failures.get(name, 'not run')} | | | |")
            continue
        ratio = results["none"] / results[name]
        spans = extra[name]["seen"] / extra[name]["requests"]
        print(f"| {name} | {1 / results[name]:8.1f} | {ratio:.3f}x | {(1 - ratio) * 100:5.1f} % "
              f"| {spans:.2f} |")
    record(**{f"drf.{name}": results["none"] / results[name] for name in results})
    tk = extra.get("tracekit")
    if tk is not None:
        print(f"\ntracekit: serializer methods auto-traced: {tk['auto_traced']}; "
              f"auto-traced calls per request: {tk['calls_per_request']}")
    print("\n## Goal")
    if "tracekit" in results:
        cost = 1 - results["none"] / results["tracekit"]
        verdict = "met" if cost <= 0.05 else "NOT met"
        print(f"- tracekit throughput cost: {cost * 100:.1f} % (goal <= 5 %): {verdict}")
    for name, reason in failures.items():
        if name not in results:
            print(f"- {name}: {reason}")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contender", choices=CONTENDERS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--number", type=int, default=100)
    args = parser.parse_args(argv)
    if args.contender:
        print(json.dumps(run_child(args.contender, args.number)), flush=True)
        return 0
    return run_parent(args.rounds, args.number)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
