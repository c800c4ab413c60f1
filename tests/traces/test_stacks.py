"""stacks: the team's frames marked, library runs folded (never the raise point), paths
relative to the project or site-packages, everything escaped, nothing lost."""

from __future__ import annotations

import html
import os
import re

from django.test import override_settings

import django_tracekit
from django_tracekit.pages.traces import stacks
from tests.support.traces import SITE, UPLOAD_STACK

BASE = "/srv/"


def test_library_runs_fold_and_the_team_frames_stand_out() -> None:
    items = stacks.parse(UPLOAD_STACK, BASE)
    kinds = [type(i).__name__ if not isinstance(i, str) else "text" for i in items]
    # Six Celery/billiard frames folded; the team's two frames; two requests frames folded,
    # the third (where it raised) shown; the exception line.
    assert kinds == ["text", "Fold", "Frame", "Frame", "Fold", "Frame", "text"]
    fold_celery, team1, team2, fold_requests, raised = (items[1], items[2], items[3], items[4],
                                                        items[5])
    assert isinstance(fold_celery, stacks.Fold) and len(fold_celery.frames) == 6
    assert isinstance(fold_requests, stacks.Fold) and len(fold_requests.frames) == 2
    assert stacks.library_count(items) == 8
    assert isinstance(team1, stacks.Frame) and team1.team and team1.shown == "shop/videos/tasks.py"
    assert isinstance(team2, stacks.Frame) and team2.function == "encode"
    assert isinstance(raised, stacks.Frame) and not raised.team
    assert raised.shown == "requests/adapters.py" and raised.path == f"{SITE}/requests/adapters.py"


def test_the_markup_folds_with_details_and_keeps_every_line() -> None:
    markup = stacks.to_html(UPLOAD_STACK, BASE)
    assert markup.count('<details class="tk-lib"><summary>') == 2
    assert "<summary>6 library frames</summary>" in markup
    assert markup.count('class="tk-frame tk-frame-team"') == 2
    assert '<span class="tk-line tk-exc">requests.exceptions.ConnectionError: storage' in markup
    # Every line is still there (as text), the absolute path as the frame's title.
    text = html.unescape(re.sub(r"<summary>.*?</summary>|<[^>]+>", "\n", markup))
    for line in UPLOAD_STACK.split("\n"):
        if line.startswith("  File"):
            shown = line.replace(f"{SITE}/", "").replace(BASE, "")
            assert shown in text, line
    assert f'title="{SITE}/celery/app/trace.py"' in markup


def test_paths_and_what_counts_as_library() -> None:
    assert stacks.shown_path("/home/a/proj/shop/x.py", "/home/a/proj/") == "shop/x.py"
    venv = "/home/a/proj/.venv/lib/python3.12/site-packages/django/core/handlers/base.py"
    assert stacks.shown_path(venv, "/home/a/proj/") == "django/core/handlers/base.py"
    assert stacks.is_library(venv)
    assert stacks.shown_path("/usr/lib/python3.12/json/decoder.py", "") == \
        "python3.12/json/decoder.py"
    assert stacks.is_library("/usr/lib/python3/dist-packages/six.py")
    assert stacks.is_library("<frozen importlib._bootstrap>")
    tracekit = os.path.join(os.path.dirname(django_tracekit.__file__), "middleware.py")
    assert stacks.is_library(tracekit)  # tracekit's own frames are not the team's
    assert stacks.shown_path(tracekit, "/elsewhere/") == "django_tracekit/middleware.py"
    assert not stacks.is_library("/srv/shop/orders/services.py")
    assert not stacks.is_library("shop/orders/services.py")


def test_base_dir_comes_from_the_settings() -> None:
    with override_settings(BASE_DIR="/srv"):
        (frame,) = [i for i in stacks.parse('  File "/srv/shop/a.py", line 1, in f')
                    if isinstance(i, stacks.Frame)]
        assert frame.shown == "shop/a.py"


def test_other_formats_pass_through_escaped() -> None:
    text = ('Traceback (most recent call last):\n  File "/srv/shop/a.py", line 3, in <module>\n'
            "    x = compute('<b>')\n    y = 2\n  ... 4 frames omitted ...\n"
            "[truncated]\nValueError: <img src=x>")
    markup = stacks.to_html(text, BASE)
    assert "<img" not in markup and "<b>" not in markup
    assert '<span class="tk-line">    x = compute(&#x27;&lt;b&gt;&#x27;)</span>' in markup
    assert '<span class="tk-line tk-exc">ValueError: &lt;img src=x&gt;</span>' in markup
    assert "in &lt;module&gt;" in markup
