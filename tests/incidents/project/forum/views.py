from django.http import HttpRequest, JsonResponse
from opentelemetry import trace

from . import accounts, tasks
from .middleware import UserBanned


def _ids(**extra: object) -> JsonResponse:
    context = trace.get_current_span().get_span_context()
    return JsonResponse({"trace_id": format(context.trace_id, "032x"), **extra})


def signup(request: HttpRequest) -> JsonResponse:
    """A form with 5 names, 3 of them invalid: 200 with the messages."""
    names = request.GET.get("names", "alice,admin,bob!,root,carol").split(",")
    return _ids(errors=accounts.clean_usernames(names))


def signup_strict(request: HttpRequest) -> JsonResponse:
    """The same validator, its error not handled: the request answers 500."""
    accounts.validate_username(request.GET.get("name", "admin"))
    return _ids()


def sync(request: HttpRequest) -> JsonResponse:
    result = tasks.sync_profile.delay(7)
    return _ids(task_id=result.id)


def banned(request: HttpRequest) -> JsonResponse:
    """Raises; the ban middleware's process_exception answers 403: handled."""
    raise UserBanned("user 7 is banned")
