"""Reading the numbers the admin shows, as a staff user's browser gets them: the CSV
export, and the HTML pages by their stable ids, classes and data attributes."""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any
from urllib.parse import urlencode

from tests.audit.harness import Stack

DASH = "\u2013"  # what a page shows for a number it does not measure


def _int(text: str) -> int:
    return int(text.replace(",", "").replace("\u202f", "").replace("\xa0", "").strip())


def by_id(page: str, id_: str) -> str:
    found = re.search(rf'id="{re.escape(id_)}"[^>]*>(.*?)</', page, flags=re.S)
    assert found, f"#{id_} not on the page"
    return html.unescape(found.group(1)).strip()


def csv_rows(stack: Stack, **params: str) -> dict[tuple[str, str, str], dict[str, str]]:
    """The usage CSV: (feature, kind, service) -> its columns."""
    text = stack.admin(stack.urls["tracekit_usage"] + "?"
                       + urlencode({**params, "format": "csv"}))
    return {(r["feature"], r["kind"], r["service"]): r for r in csv.DictReader(io.StringIO(text))}


def chart_totals(svg_html: str) -> tuple[int, int]:
    """Sum of a bar chart's calls and errors (each bar's tooltip: "label: N calls, E errors")."""
    bars = re.findall(r"<g><title>[^<]*?: ([\d,]+) calls, ([\d,]+) errors</title>", svg_html)
    return sum(_int(c) for c, _ in bars), sum(_int(e) for _, e in bars)


def usage_page(stack: Stack, **params: str) -> dict[str, Any]:
    page = stack.admin(stack.urls["tracekit_usage"] + "?" + urlencode(params))
    tabs = {kind: (_int(calls), _int(errors or "0")) for kind, calls, errors in re.findall(
        r'data-kind-tab="(\w+)"[^>]*>[^<]*<span class="tk-tab-count">([\d,]+)'
        r'(?: · <span class="tk-err">([\d,]+)</span>)?', page)}
    rows = {}
    for attrs, body in re.findall(r"<tr (data-feature=[^>]*)>(.*?)</tr>", page, flags=re.S):
        values = {k: html.unescape(v) for k, v in re.findall(r'data-([\w-]+)="([^"]*)"',
                                                            attrs + body)}
        link = re.search(r'href="([^"?]*/usage/)', body)
        values["link"] = link.group(1) if link else ""
        rows[values["feature"]] = values
    return {"calls": _int(by_id(page, "tk-total-calls")),
            "errors": _int(by_id(page, "tk-total-errors")),
            "chart": chart_totals(page), "tabs": tabs, "rows": rows}


def feature_page(stack: Stack, link: str) -> dict[str, Any]:
    page = stack.admin(link)
    found: dict[str, Any] = {"calls": _int(by_id(page, "tk-calls")),
                             # an en dash: users are not measured for this kind (requests only)
                             "users": None if by_id(page, "tk-users").strip() == DASH
                             else _int(by_id(page, "tk-users")),
                             "errors": _int(by_id(page, "tk-errors"))}
    # The panel's heading, then its chart (whose own <title> repeats the heading).
    usage_chart = page.split("Calls and errors over time", 1)[1].split(
        "Latency percentiles over time")[0]
    found["chart"] = chart_totals(usage_chart)
    found["n_plus_one"] = _int(by_id(page, "tk-n-plus-one")) if 'id="tk-n-plus-one"' in page else 0
    for key in ("tk-retries", "tk-failed-attempts"):
        if f'id="{key}"' in page:
            found[key] = _int(by_id(page, key))
    versions = {}
    for version, body in re.findall(r'<tr data-version="([^"]*)">(.*?)</tr>', page, flags=re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)]
        versions[version] = {"calls": _int(cells[2]),
                             "users": None if cells[3] == DASH else _int(cells[3]),
                             "error_rate": cells[4]}
    found["versions"] = versions
    return found


def error_groups(stack: Stack) -> dict[str, int]:
    """Error type -> its group's count (a type raised at one place: one group)."""
    page = stack.admin(stack.urls["tracekit_errors"])
    groups: dict[str, int] = {}
    for count, body in re.findall(r'<tr data-group="[^"]*" data-count="(\d+)">(.*?)</tr>',
                                  page, flags=re.S):
        kind = re.search(r'class="tk-err tk-group-type">([^<]*)<', body)
        assert kind, body[:300]
        name = html.unescape(kind.group(1))
        groups[name] = groups.get(name, 0) + int(count)
    return groups


def changes(stack: Stack, before: str, after: str) -> dict[str, dict[str, str]]:
    """Feature -> the change row's cells (calls, error rate, p95 texts, change texts)."""
    page = stack.admin(stack.urls["tracekit_changes"] + "?"
                       + urlencode({"before": before, "after": after}))
    rows = {}
    for name, score, body in re.findall(
            r'<tr data-change="([^"]*)" data-score="([^"]*)">(.*?)</tr>', page, flags=re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body, flags=re.S)
        change = [html.unescape(c) for c in
                  (re.findall(r'<div class="tk-change"[^>]*>([^<]*)</div>', cells[2])
                   or [""])] + [html.unescape(c) for c in
                                (re.findall(r'<div class="tk-change"[^>]*>([^<]*)</div>',
                                            cells[3]) or [""])]
        text = [html.unescape(re.sub(r"<div.*", "", c, flags=re.S)).strip() for c in cells]
        rows[html.unescape(name)] = {"calls": text[1], "error_rate": text[2], "p95": text[3],
                                     "rate_change": change[0], "p95_change": change[1],
                                     "score": score}
    return rows


def traces(stack: Stack, **params: str) -> tuple[int, dict[str, int]]:
    """The explorer's count of kept traces matching ``params`` and, over every page, each
    listed trace's duration (µs)."""
    base = stack.urls["tracekit_traces"] + "?" + urlencode(params)
    page = stack.admin(base)
    count = _int(re.sub(r"\D+", " ", by_id(page, "tk-trace-count")).split()[0]) \
        if 'id="tk-trace-count"' in page else 0
    listed: dict[str, int] = {}
    number = 1
    while True:
        listed.update({t: int(d) for t, d in re.findall(
            r'<tr data-trace="(\w+)"[^>]*data-duration-us="(\d+)"', page)})
        if "page=" + str(number + 1) not in page:
            return count, listed
        number += 1
        page = stack.admin(base + f"&page={number}")


def json_id(body: str) -> str:
    found = re.search(r'"id": ?"([^"]+)"', body)
    assert found, body
    return found.group(1)
