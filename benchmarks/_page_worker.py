"""One code tree's page timer for ``bench_pages_compare.py``: reads URLs on stdin, prints
the server CPU ms of each GET (this process + the PostgreSQL backend).

argv: TREE DATABASE [--seed]  (DATABASE: a SQLite path or ``pg:<name>``). ``--seed``
migrates and seeds the database (``bench_stats.seed_light``, ``tracekit_prune``) instead.
"""

from __future__ import annotations

import os
import sys
import time

tree, database = sys.argv[1], sys.argv[2]
# The tree's own benchmark helpers and package, not this script's folder's.
sys.path[0] = os.path.join(tree, "benchmarks")
sys.path.insert(1, tree)

import bench_stats  # noqa: E402

if database.startswith("pg:"):
    bench_stats.configure({"ENGINE": "django.db.backends.postgresql", "NAME": database[3:],
                           "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"})
else:
    bench_stats.configure({"ENGINE": "django.db.backends.sqlite3", "NAME": database})

from _postgres import backend_cpu_s  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

import django_tracekit  # noqa: E402

assert os.path.realpath(django_tracekit.__file__).startswith(os.path.realpath(tree))

if "--seed" in sys.argv:
    call_command("migrate", verbosity=0)
    bench_stats.seed_light()
    with open(os.devnull, "w") as quiet:
        call_command("tracekit_prune", "--days", "400", stdout=quiet)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    sys.exit(0)

from django_tracekit.models import Feature  # noqa: E402

client = Client()
client.force_login(User.objects.filter(username="bench").first()
                   or User.objects.create_superuser("bench", password="x"))
print("ready", Feature.objects.order_by("-id").values_list("id", flat=True)[0], flush=True)
for line in sys.stdin:
    url = line.strip()
    backend, cpu = backend_cpu_s(), time.process_time()
    response = client.get(url)
    spent = time.process_time() - cpu + backend_cpu_s() - backend
    assert response.status_code == 200, (url, response.status_code)
    print(f"{spent * 1000:.1f}", flush=True)
