"""The top-level export keys: EXPORTER, OTLP_ENDPOINT, OTLP_PROTOCOL, OTLP_HEADERS,
SAMPLE_RATE; each falls back to its ``OTEL_*`` variable, then to its default."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast
from urllib.parse import unquote, urlsplit

from django_tracekit.conf.base import Reader, valid_url

CHECK_IDS = {"SAMPLE_RATE": "E003", "EXPORTER": "E004", "OTLP_ENDPOINT": "E006",
             "OTLP_PROTOCOL": "E007", "OTLP_HEADERS": "E032"}
#: An OTEL_* variable that cannot be parsed / a sampler tracekit does not support.
UNPARSABLE_ENV = "E008"
UNSUPPORTED_SAMPLER = "W004"

EXPORTER_NAMES = ("otlp", "console", "none")
OTLP_PROTOCOLS = ("http/protobuf", "grpc")
_OTLP_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}
_SAMPLERS_WITH_RATIO = ("traceidratio", "parentbased_traceidratio")
_SAMPLERS_FIXED = {
    "always_on": 1.0,
    "parentbased_always_on": 1.0,
    "always_off": 0.0,
    "parentbased_always_off": 0.0,
}
_RATIO_HINT = "Use a ratio between 0.0 (nothing) and 1.0 (everything), e.g. 0.1."
_DOTTED_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")


@dataclass(frozen=True)
class ExportSettings:
    exporters: tuple[str, ...]
    exporter_explicit: bool  # set in TRACEKIT or OTEL_TRACES_EXPORTER, not the default
    otlp_endpoint: str
    otlp_protocol: Literal["http/protobuf", "grpc"]
    otlp_headers: Mapping[str, str]
    sample_rate: float


def parse_otlp_headers(text: str) -> dict[str, str]:
    """Parse the ``OTEL_EXPORTER_OTLP_HEADERS`` format: ``k1=v1,k2=v2`` (URL-encoded)."""
    headers: dict[str, str] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        if "=" not in item:
            raise ValueError(f"header {item.strip()!r} has no '='")
        name, _, value = item.partition("=")
        headers[unquote(name.strip()).lower()] = unquote(value.strip())
    return headers


def traces_endpoint(base: str, protocol: str) -> str:
    """OTLP/HTTP wants the full ``/v1/traces`` URL; a bare base URL gets it appended."""
    if protocol != "http/protobuf":
        return base
    path = urlsplit(base).path
    if path in ("", "/"):
        return base.rstrip("/") + "/v1/traces"
    return base


def read(r: Reader) -> ExportSettings:
    protocol = _protocol(r)
    return ExportSettings(
        exporters=_exporters(r, endpoint_configured=_endpoint_configured(r)),
        exporter_explicit=r.top.explicit("EXPORTER") or bool(r.env.get("OTEL_TRACES_EXPORTER")),
        otlp_endpoint=_endpoint(r, protocol),
        otlp_protocol=cast(Literal["http/protobuf", "grpc"], protocol),
        otlp_headers=_headers(r),
        sample_rate=_sample_rate(r),
    )


def _endpoint_configured(r: Reader) -> bool:
    """An OTLP endpoint was named somewhere (settings or env), not the localhost fallback."""
    return (r.top.explicit("OTLP_ENDPOINT")
            or bool(r.env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
            or bool(r.env.get("OTEL_EXPORTER_OTLP_ENDPOINT")))


def _exporters(r: Reader, *, endpoint_configured: bool) -> tuple[str, ...]:
    id, hint = CHECK_IDS["EXPORTER"], ("Use 'otlp', 'console', 'none' or a dotted path to a "
                                       "factory returning a SpanExporter or SpanProcessor.")
    if r.top.explicit("EXPORTER"):
        value = r.top.merged["EXPORTER"]
        key = "TRACEKIT['EXPORTER']"
        if isinstance(value, str):
            names = [value]
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            names = list(value)
        else:
            r.invalid(r.top, "EXPORTER", id, "a str or a list of str", hint)
            return ("none",)
    elif r.env.get("OTEL_TRACES_EXPORTER"):
        key = "OTEL_TRACES_EXPORTER"
        names = [n.strip() for n in r.env["OTEL_TRACES_EXPORTER"].split(",") if n.strip()]
    else:
        return ("otlp",) if endpoint_configured else ("none",)
    valid: list[str] = []
    for name in names:
        if name in EXPORTER_NAMES or _DOTTED_PATH.match(name):
            valid.append(name)
        else:
            r.report(id, key, f"unknown exporter {name!r}.", hint)
    if "none" in valid and len(valid) > 1:
        valid.remove("none")
    return tuple(valid) or ("none",)


def _protocol(r: Reader) -> str:
    if "OTLP_PROTOCOL" in r.raw:
        key, value = "TRACEKIT['OTLP_PROTOCOL']", r.raw["OTLP_PROTOCOL"]
    else:
        key = next((k for k in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
                    if r.env.get(k)), "")
        value = r.env.get(key, "http/protobuf") if key else "http/protobuf"
    if value not in OTLP_PROTOCOLS:
        r.report(CHECK_IDS["OTLP_PROTOCOL"], key, f"unsupported OTLP protocol {value!r}.",
                 "Use 'http/protobuf' (port 4318) or 'grpc' (port 4317).")
        return "http/protobuf"
    return str(value)


def _endpoint(r: Reader, protocol: str) -> str:
    if r.top.explicit("OTLP_ENDPOINT"):
        key, value, is_full = "TRACEKIT['OTLP_ENDPOINT']", r.raw["OTLP_ENDPOINT"], False
    elif r.env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        key, is_full = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", True
        value = r.env[key]
    elif r.env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        key, is_full = "OTEL_EXPORTER_OTLP_ENDPOINT", False
        value = r.env[key]
    else:
        return traces_endpoint(_OTLP_DEFAULT_ENDPOINTS[protocol], protocol)
    if not isinstance(value, str) or not valid_url(value):
        r.report(CHECK_IDS["OTLP_ENDPOINT"], key, f"{value!r} is not a valid http(s) URL.",
                 "Use e.g. 'http://collector:4318' (http/protobuf) or 'http://collector:4317' "
                 "(grpc).")
        return traces_endpoint(_OTLP_DEFAULT_ENDPOINTS[protocol], protocol)
    # The *_TRACES_ENDPOINT env var is used as-is by spec; base URLs get the signal path.
    return value if is_full else traces_endpoint(value, protocol)


def _headers(r: Reader) -> dict[str, str]:
    if "OTLP_HEADERS" in r.raw:
        value = r.raw["OTLP_HEADERS"]
        if isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str)
                                              for k, v in value.items()):
            return {k.lower(): v for k, v in value.items()}
        r.invalid(r.top, "OTLP_HEADERS", CHECK_IDS["OTLP_HEADERS"], "a dict of str to str",
                  "Use e.g. {'authorization': 'Bearer …'}.")
        return {}
    for key in ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"):
        if r.env.get(key):
            try:
                return parse_otlp_headers(r.env[key])
            except ValueError as exc:
                r.report(UNPARSABLE_ENV, key, f"cannot be parsed: {exc}.",
                         "Use the 'name1=value1,name2=value2' format (URL-encode values).")
                return {}
    return {}


def _sample_rate(r: Reader) -> float:
    if "SAMPLE_RATE" in r.raw:
        key, rate = "TRACEKIT['SAMPLE_RATE']", r.raw["SAMPLE_RATE"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            return float(r.invalid(r.top, "SAMPLE_RATE", CHECK_IDS["SAMPLE_RATE"],
                                   "a number between 0.0 and 1.0", _RATIO_HINT))
        return _ratio(r, key, float(rate))
    sampler = r.env.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if not sampler:
        return 1.0
    if sampler in _SAMPLERS_FIXED:
        return _SAMPLERS_FIXED[sampler]
    if sampler not in _SAMPLERS_WITH_RATIO:
        r.report(UNSUPPORTED_SAMPLER, "OTEL_TRACES_SAMPLER",
                 f"sampler {sampler!r} is not supported; sampling everything.",
                 "Use traceidratio/parentbased_traceidratio or TRACEKIT['SAMPLE_RATE'].")
        return 1.0
    key = "OTEL_TRACES_SAMPLER_ARG"
    arg = r.env.get(key, "1.0")
    try:
        rate = float(arg)
    except ValueError:
        r.report(UNPARSABLE_ENV, key, f"{arg!r} is not a number.", "Use a ratio such as 0.1.")
        return 1.0
    return _ratio(r, key, rate)


def _ratio(r: Reader, key: str, rate: float) -> float:
    if not 0.0 <= rate <= 1.0:
        r.report(CHECK_IDS["SAMPLE_RATE"], key, f"{rate!r} is outside 0..1.", _RATIO_HINT)
        return 1.0
    return rate
