"""The project's own view decorators (auto-traced like the rest of the project)."""

import functools

from django.http import HttpResponseForbidden


def audited(func):
    # A functools.wraps wrapper: on a function view, or through method_decorator.
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def passes(test_func):
    # The shape of django.contrib.auth's user_passes_test/login_required: a factory whose
    # wrapper calls the view only when the test passes.
    def decorator(view_func):
        @functools.wraps(view_func)
        def guarded(request, *args, **kwargs):
            if test_func(request):
                return view_func(request, *args, **kwargs)
            return HttpResponseForbidden()
        return guarded
    return decorator
