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
