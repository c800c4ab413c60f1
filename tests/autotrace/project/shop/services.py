"""Code exercised by the auto-tracing tests. SLOW = above MIN_DURATION_MS (20 ms)."""

import functools
import time
from typing import ClassVar

import django_tracekit as tracekit
from django_tracekit import no_autotrace

SLOW = 0.03


def fast(x):
    return x + 1


def fast_helper(x):
    """Excluded by the glob "shop.services.fast_*": never counted, never a span."""
    return x


def slow(x):
    time.sleep(SLOW)
    return fast(x)


def logged(func):
    # A decorator defined in project code: its wrapper is auto-traced too.
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


def tag(func):
    # A decorator that registers the function (like @receiver/@app.task): the registry
    # must hold the instrumented function.
    REGISTRY.append(func)
    return func


REGISTRY = []


@logged
@tag
def decorated(x):
    time.sleep(SLOW)
    return x


class Base:
    kinds: ClassVar[list[str]] = []

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Base.kinds.append(cls.__name__)


class Checkout(Base):
    def __init__(self, items):
        self.items = items

    def run(self):
        total = self.total
        self.validate()
        return self.apply(total)

    @property
    def total(self):
        time.sleep(SLOW)
        return sum(self.items)

    def validate(self):
        return all(isinstance(i, int) for i in self.items)

    @staticmethod
    def apply(total):
        return total

    @classmethod
    def build(cls, items):
        def nested(values):
            time.sleep(SLOW)
            return list(values)
        return cls(nested(items))


def recurse(n):
    if n == 0:
        time.sleep(SLOW)
        return 0
    return recurse(n - 1) + 1


def inner_error():
    raise ValueError("broken")


def outer_error():
    return inner_error()


def with_span():
    # Fast itself, but another instrumentation opens a span inside it: this call must be
    # kept as the span's parent.
    with tracekit.span("inside"):
        pass


def numbers(n):
    for i in range(n):
        if i == 1:
            time.sleep(SLOW)
        yield i


def consume():
    # The generator's segments and this consumer's own calls must not nest in each other.
    out = []
    for value in numbers(3):
        out.append(fast(value))
    return out


@no_autotrace
def pulled_back(x):
    time.sleep(SLOW)
    return x


@no_autotrace
class PulledBack:
    def method(self):
        time.sleep(SLOW)
        return 1


quiet = tracekit.no_autotrace  # an alias the rewriter cannot see: handled after import


@quiet
def pulled_back_by_alias():
    time.sleep(SLOW)
    return 2


def system_check(app_configs, **kwargs):
    """A project's system check: run by every check run, never the product's use."""
    check_helper()
    return []


def check_helper():
    return None
