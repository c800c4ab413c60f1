"""The unused-code page (``admin:tracekit_unused``), usable at size.

A real project has hundreds of auto-traced functions that did not run in a range (716 in 75
modules on one): listing them all made a 268 KB page, 32,000 px tall. So the page opens on
the modules, sorted, each a collapsed group (``<details>``) with its count,
:data:`MODULES_PER_PAGE` to a page. While the functions of those groups are few
(:data:`INLINE_FUNCTIONS`) their rows are in the page; beyond, a group holds a link to its
module (``?module=``: that module alone, opened, :data:`PER_PAGE` functions a page) which a
small script (``unused.js``) follows when the group is opened, putting the rows in place.
The search matches the function name and the module. The first view stays far below 100 KB
and works at once, without the script too.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from django_tracekit.conf import get_config
from django_tracekit.core.features import FUNCTION
from django_tracekit.pages.shared import feature_filter, params
from django_tracekit.pages.shared.formats import local_time, query_string
from django_tracekit.pages.shared.stats_notice import functions_untold
from django_tracekit.pages.shared.window import window_from
from django_tracekit.pages.unused.unused_queries import unused_functions

PER_PAGE = 200  # functions per page of one module: ~70 KB of rows at most
MODULES_PER_PAGE = 100  # collapsed groups per page (~300 bytes each)
INLINE_FUNCTIONS = 200  # beyond, a group's rows are loaded when it is opened
OPEN_FUNCTIONS = 40  # up to this many on a page, every group starts open
KEPT = ("range", "from", "to", "service", "q")


def unused_view(model_admin: Any, request: HttpRequest,
                base_context: Any) -> HttpResponse:
    """Auto-traced functions with no call in the range, grouped by module.

    ``base_context(request, window, query, title)`` is the usage pages' common context."""
    query = model_admin._params(request)
    if isinstance(query, HttpResponse):
        return query
    window = window_from(query.values)
    module = params.clean(request.GET.get("module") or "") or ""
    not_observed: dict[str, dict[str, Any]] = {}
    # Function calls not counted in this database (STATS['KINDS'], or the stats off with
    # metrics on): every function would look unused. Say so instead of listing them.
    untold = functions_untold(get_config())
    functions = [] if untold else unused_functions(window, query.q, query.service,
                                                   not_observed)
    per_module: dict[str, int] = {}
    for function in functions:
        per_module[function["module"]] = per_module.get(function["module"], 0) + 1
    if module:
        functions = [f for f in functions if f["module"] == module]
    stamps: dict[int, str] = {}  # functions are recorded in batches: few distinct times

    def stamp(seconds: int) -> str:
        text = stamps.get(seconds)
        if text is None:
            text = stamps[seconds] = date_format(local_time(seconds), "DATETIME_FORMAT")
        return text

    kept = {k: v for k, v in query.values.items() if k in KEPT}
    by_module: dict[str, list[dict[str, Any]]] = {}
    for function in functions:
        by_module.setdefault(function["module"], []).append(function)
    paginator: Paginator[Any]
    if module:  # one module: its functions, a page of them at a time
        paginator = Paginator(by_module.get(module, []), PER_PAGE)
        page = paginator.get_page(query.page)
        chosen = [(module, list(page.object_list))] if page.object_list else []
    else:  # the modules, a page of them; rows inline only while the page stays small
        paginator = Paginator(sorted(by_module), MODULES_PER_PAGE)
        page = paginator.get_page(query.page)
        chosen = [(str(m), by_module[str(m)]) for m in page.object_list]
    listed_count = sum(len(f) for _, f in chosen)
    inline = bool(module) or listed_count <= INLINE_FUNCTIONS
    groups: list[dict[str, Any]] = []
    for name, listed in chosen:
        prefix = name.replace(".", "/") + "/"
        groups.append({
            "module": name, "total": per_module.get(name, 0),
            "url": query_string(kept, module=name),
            "functions": [{
                "name": f["name"],
                # In its module's group the module path is said once, in the heading.
                "short": f["name"].split(prefix, 1)[1] if prefix in f["name"] else f["name"],
                "service": ", ".join(f["services"]),
                "first_seen": stamp(f["first_seen"]),
                "last_seen": stamp(f["last_seen"])} for f in listed] if inline else None})
    context = base_context(request, window, query, _("Unused code"), (FUNCTION,))
    context.update({
        "untold": untold,
        "groups": groups, "total": number_format(sum(per_module.values()),
                                                 force_grouping=True),
        "not_observed": [{"module": name, "services": ", ".join(entry["services"]),
                          "count": len(entry["functions"])}
                         for name, entry in sorted(not_observed.items())],
        "module_count": number_format(len(per_module), force_grouping=True),
        "module": module, "page": page, "paginator": paginator,
        "page_query": query_string({**kept, **({"module": module} if module else {})}),
        "all_modules_url": query_string(kept),
        # One module alone, or a handful of functions, is opened; more start collapsed
        # (their counts are the overview).
        "open": bool(module) or len(groups) == 1 or (inline and listed_count <= OPEN_FUNCTIONS),
        "inline": inline,
        "q": query.q, "service": query.service, "services": feature_filter.services(),
        "usage_query": query_string({k: v for k, v in query.values.items()
                               if k in ("range", "from", "to", "service")}, kind="function"),
    })
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/django_tracekit/unused.html", context)
