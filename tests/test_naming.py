"""The naming convention, exactly as DESIGN.md states it."""

from __future__ import annotations

import functools
import sys

import pytest
from django.test import override_settings

from django_tracekit.core import naming
from django_tracekit.core.naming import convention_name, name_for
from tests import samples


def test_design_example() -> None:
    assert convention_name("shop.orders.services", "Checkout.run", "shop") == (
        "shop/orders/services/Checkout/run")


def test_project_prefix_added_to_foreign_top_package() -> None:
    assert convention_name("orders.services", "Checkout.run", "shop") == (
        "shop/orders/services/Checkout/run")


def test_locals_dropped_lambda_renamed() -> None:
    assert convention_name("shop.m", "outer.<locals>.inner", "shop") == "shop/m/outer/inner"
    assert convention_name("shop.m", "f.<locals>.<lambda>", "shop") == "shop/m/f/lambda"
    assert convention_name("shop.m", "<genexpr>", "shop") == "shop/m/genexpr"


def test_no_project_means_no_prefix() -> None:
    assert convention_name("orders.services", "run", "") == "orders/services/run"


@pytest.mark.parametrize(("obj", "expected"), [
    (samples.plain, "tests/samples/plain"),
    (samples.Checkout, "tests/samples/Checkout"),
    (samples.Checkout.run, "tests/samples/Checkout/run"),
    (samples.Checkout().run, "tests/samples/Checkout/run"),
    (samples.Checkout.static, "tests/samples/Checkout/static"),
    (samples.Checkout.klass, "tests/samples/Checkout/klass"),
    (samples.Checkout.__dict__["total"], "tests/samples/Checkout/total"),
    (samples.Checkout.Inner.deep, "tests/samples/Checkout/Inner/deep"),
    (samples.outer(), "tests/samples/outer/inner"),
    (samples.square, "tests/samples/lambda"),
    (samples.decorated, "tests/samples/decorated"),
    (functools.partial(samples.plain), "tests/samples/plain"),
])
def test_name_for(obj: object, expected: str) -> None:
    assert name_for(obj) == expected


def test_name_for_uses_project_setting() -> None:
    with override_settings(TRACEKIT={"PROJECT_NAME": "shop"}):
        assert name_for(samples.Checkout.run) == "shop/tests/samples/Checkout/run"
    assert name_for(samples.Checkout.run) == "tests/samples/Checkout/run"


def test_location_attributes_are_semconv() -> None:
    location = naming.location_for(samples.decorated)
    # functools.wraps copies the name; the code location is the wrapped function's.
    assert location.attributes == {
        "code.function.name": "tests.samples.decorated",
        "code.file.path": samples.__file__,
        "code.line.number": samples.decorated.__wrapped__.__code__.co_firstlineno,
    }


def test_frame_names_are_cached_per_code_object() -> None:
    def probe() -> naming.CodeLocation:
        return naming.caller_location(0)

    first = probe()
    assert first.name == "tests/test_naming/test_frame_names_are_cached_per_code_object/probe"
    assert probe() is first  # the same object: computed once, then a dict hit
    assert naming._by_code[probe.__code__] is first


def test_qualname_fallback_indexes_module_code(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python 3.10 has no co_qualname: names come from an index of the module's code."""
    monkeypatch.setattr(naming, "_HAS_CO_QUALNAME", False)
    naming.clear_cache()
    try:
        g = vars(samples)
        assert naming.location_for_code(samples.Checkout.run.__code__, g).name == (
            "tests/samples/Checkout/run")
        assert naming.location_for_code(samples.Checkout.Inner.deep.__code__, g).name == (
            "tests/samples/Checkout/Inner/deep")
        inner = samples.outer()
        assert naming.location_for_code(inner.__code__, g).name == "tests/samples/outer/inner"
        assert naming.location_for_code(samples.decorated.__wrapped__.__code__, g).name == (
            "tests/samples/decorated")
        fget = samples.Checkout.__dict__["total"].fget
        assert naming.location_for_code(fget.__code__, g).name == "tests/samples/Checkout/total"
    finally:
        naming.clear_cache()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="co_qualname exists from 3.11")
def test_co_qualname_path_matches_fallback() -> None:
    naming.clear_cache()
    code = samples.Checkout.Inner.deep.__code__
    assert naming.location_for_code(code, vars(samples)).name == (
        "tests/samples/Checkout/Inner/deep")
