from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

import django_tracekit as tracekit


class PaymentDeclined(Exception):
    pass


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello")


def _charge(amount: int) -> None:
    raise PaymentDeclined(f"card declined for {amount}")  # the raise frame the tests find


def boom(request: HttpRequest) -> HttpResponse:
    _charge(42)
    return HttpResponse("unreachable")


@csrf_exempt
def secret(request: HttpRequest) -> HttpResponse:
    raise PaymentDeclined("declined with secrets around")


def handled(request: HttpRequest) -> HttpResponse:
    try:
        _charge(7)
    except PaymentDeclined as exc:
        # The team records the error on the span *and* reports it to Sentry by hand.
        tracekit.record_error(exc)
        import sentry_sdk

        sentry_sdk.capture_exception(exc)
    return HttpResponse("handled")


@csrf_exempt
def leaky(request: HttpRequest) -> HttpResponse:
    """Fails with secrets in its locals, the way real views hold them (tests/faults)."""
    pw_from_form = request.POST.get("pw_from_form")  # noqa: F841
    passphrase = request.POST.get("passphrase")  # noqa: F841
    body = request.body
    form = request.POST  # noqa: F841
    pairs = list(request.POST.items())  # noqa: F841
    nested = {"user": {"name": "visible-name", "password": request.POST.get("password")}}  # noqa: F841
    visible_local = "-".join(("visible", "local", "value"))  # noqa: F841 (not in the source)
    raise PaymentDeclined(f"declined ({len(body)} bytes)")


# --- issue 21: tracekit's formatting of raising objects, vendor keys, breadcrumbs ---------
# The failing code lives in ``reprshop`` (tests/faults/projects/reprshop, auto-traced when
# TK_AUTOTRACE_INCLUDE names it: modules under ``tests`` never are).


def reprshop_ping(request: HttpRequest) -> HttpResponse:
    from reprshop import billing

    return HttpResponse(billing.ping())


def broken_local(request: HttpRequest) -> HttpResponse:
    from reprshop import billing

    billing.charge_holding_broken()
    return HttpResponse("unreachable")


def broken_args(request: HttpRequest) -> HttpResponse:
    from reprshop import billing

    billing.charge_with_broken_args()
    return HttpResponse("unreachable")


def broken_log(request: HttpRequest) -> HttpResponse:
    from reprshop import billing

    billing.log_broken()
    return HttpResponse("logged")


SESSION_TOKEN = "tok" + "Sess" + "9f8e7d6c5b4a"


def _login_sql() -> str:
    # Built at run time: the source lines Sentry sends as context hold no secret.
    return "SELECT name FROM logins WHERE password = '" + "hun" + "ter2'"


def crumbs(request: HttpRequest) -> HttpResponse:
    """Raw SQL with a literal and a cache key holding a session token, then a failure:
    the SDK's default integrations leave SQL and Redis breadcrumbs on the event."""
    from django.core.cache import cache
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS logins (name text, password text)")
        cursor.execute(_login_sql())
    cache.get(f"session:{SESSION_TOKEN}")
    raise PaymentDeclined("declined after the breadcrumbs")
