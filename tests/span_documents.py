"""Spans of a small shop, and the same spans written in each trace format.

OTLP JSON is written with the ``opentelemetry-proto`` messages' JSON encoding (protobuf's
``json_format``: base64 ids, enum names, 64-bit integers as strings); Jaeger and Zipkin
documents follow their published schemas (Jaeger's query API ``data[].spans[]`` with
``processes``; Zipkin's v2 ``Span`` list). Times are whole microseconds, the resolution
Jaeger and Zipkin keep, so every format holds exactly the same spans.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POD = {
    "frontend": "frontend-579b9bff58-t2dbm",
    "cart": "cart-5f6585d649-fnmft",
    "redis": "redis-0",
    "catalog": "catalog-cf787dd48-vpjrd",
    "catalogdb": "catalogdb-x7k2p",
}


@dataclass(frozen=True)
class Span:
    trace: str  # 32 hex digits
    span: str  # 16 hex digits
    parent: str  # "" for a root
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool = False
    kind: str = "SERVER"


def shop_spans(n_requests: int = 120, seed: int = 0, start_s: int = 1_700_000_000) -> list[Span]:
    """Requests to ``frontend``, which calls ``cart`` through a client span of its own
    (``cart`` calls ``redis``) and then ``catalog`` directly (``catalog`` calls
    ``catalogdb``). About 1 in 10 ``cart`` requests fails. Spread over about 3 minutes."""
    rng = np.random.default_rng(seed)
    spans = []
    ids = iter(rng.choice(2**62, size=n_requests * 10, replace=False).tolist())

    def hex16() -> str:
        return f"{next(ids):016x}"

    for r in range(n_requests):
        trace = f"{r + 1:016x}{next(ids):016x}"
        t0 = start_s * 10**6 + int(r * 180e6 / n_requests) + int(rng.integers(0, 1000))
        us = lambda low, high: int(rng.integers(low, high))  # noqa: E731
        root = hex16()
        client, cart, redis, catalog, db = (hex16() for _ in range(5))
        c0 = t0 + us(100, 300)
        k0 = c0 + us(50, 150)
        r0 = k0 + us(100, 300)
        r1 = r0 + us(200, 2000)
        k1 = r1 + us(100, 500)
        c1 = k1 + us(50, 150)
        g0 = c1 + us(100, 300)
        d0 = g0 + us(100, 300)
        d1 = d0 + us(1000, 8000)
        g1 = d1 + us(100, 900)
        t1 = g1 + us(100, 400)
        failed = bool(rng.random() < 0.1)
        spans += [
            Span(trace, root, "", "frontend", "GET /", t0 * 1000, t1 * 1000, failed),
            Span(trace, client, root, "frontend", "cart.Get", c0 * 1000, c1 * 1000, failed,
                 "CLIENT"),  # fmt: skip
            Span(trace, cart, client, "cart", "cart.Get", k0 * 1000, k1 * 1000, failed),
            Span(trace, redis, cart, "redis", "GET", r0 * 1000, r1 * 1000),
            Span(trace, catalog, root, "catalog", "catalog.List", g0 * 1000, g1 * 1000),
            Span(trace, db, catalog, "catalogdb", "SELECT", d0 * 1000, d1 * 1000),
        ]
    assert_well_formed(spans)
    return spans


def assert_well_formed(spans: list[Span]) -> None:
    """The ground truth the trace tests compare against must itself be sound: unique span
    ids, every parent present in its trace, every child inside its parent's interval, and
    times in whole microseconds (what every format can hold)."""
    by_id = {s.span: s for s in spans}
    assert len(by_id) == len(spans), "duplicate span ids"
    for s in spans:
        assert s.start_ns < s.end_ns and s.start_ns % 1000 == 0 and s.end_ns % 1000 == 0
        if s.parent:
            parent = by_id[s.parent]
            assert parent.trace == s.trace, "a parent in another trace"
            assert parent.start_ns <= s.start_ns and s.end_ns <= parent.end_ns, s


def write_otlp(spans: list[Span], path: Path, lines: int = 1) -> Path:
    """OTLP JSON via the protobuf messages: one document, or ``lines`` batches, one per line."""
    from google.protobuf import json_format
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.resource.v1 import resource_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    docs = []
    for part in np.array_split(np.arange(len(spans)), lines):
        data = trace_pb2.TracesData()
        by_service: dict[str, list[Span]] = {}
        for i in part:
            by_service.setdefault(spans[i].service, []).append(spans[i])
        for service, mine in by_service.items():
            resource = resource_pb2.Resource(attributes=[common_pb2.KeyValue(
                key="service.name", value=common_pb2.AnyValue(string_value=service))])  # fmt: skip
            scope = trace_pb2.ScopeSpans(scope=common_pb2.InstrumentationScope(name="shop"))
            for s in mine:
                scope.spans.append(
                    trace_pb2.Span(
                        trace_id=bytes.fromhex(s.trace),
                        span_id=bytes.fromhex(s.span),
                        parent_span_id=bytes.fromhex(s.parent),
                        name=s.name,
                        kind=getattr(trace_pb2.Span, f"SPAN_KIND_{s.kind}"),
                        start_time_unix_nano=s.start_ns,
                        end_time_unix_nano=s.end_ns,
                        status=trace_pb2.Status(
                            code=trace_pb2.Status.STATUS_CODE_ERROR if s.error else 0
                        ),
                    )
                )
            data.resource_spans.append(
                trace_pb2.ResourceSpans(resource=resource, scope_spans=[scope])
            )
        docs.append(json_format.MessageToDict(data))
    if lines == 1:
        path.write_text(json.dumps(docs[0], indent=2), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(d) + "\n" for d in docs), encoding="utf-8")
    return path


def write_jaeger(spans: list[Span], path: Path) -> Path:
    """A Jaeger query-API export: ``{"data": [trace, ...]}``, processes per trace."""
    traces: dict[str, list[Span]] = {}
    for s in spans:
        traces.setdefault(s.trace, []).append(s)
    data = []
    for trace, mine in traces.items():
        processes = {}
        out = []
        for s in mine:
            pid = next((k for k, v in processes.items() if v["serviceName"] == s.service), None)
            if pid is None:
                pid = f"p{len(processes) + 1}"
                processes[pid] = {"serviceName": s.service, "tags": []}
            tags = [{"key": "span.kind", "type": "string", "value": s.kind.lower()}]
            if s.error:
                tags.append({"key": "error", "type": "bool", "value": True})
            refs = (
                [{"refType": "CHILD_OF", "traceID": trace, "spanID": s.parent}] if s.parent else []
            )
            out.append({
                "traceID": trace, "spanID": s.span, "flags": 1, "operationName": s.name,
                "references": refs, "startTime": s.start_ns // 1000,
                "duration": (s.end_ns - s.start_ns) // 1000, "tags": tags, "logs": [],
                "processID": pid, "warnings": None,
            })  # fmt: skip
        data.append({"traceID": trace, "spans": out, "processes": processes, "warnings": None})
    doc = {"data": data, "total": 0, "limit": 0, "offset": 0, "errors": None}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def write_zipkin(spans: list[Span], path: Path) -> Path:
    """A Zipkin v2 list of spans."""
    out = []
    for s in spans:
        span = {
            "traceId": s.trace, "id": s.span, "kind": s.kind, "name": s.name,
            "timestamp": s.start_ns // 1000, "duration": (s.end_ns - s.start_ns) // 1000,
            "localEndpoint": {"serviceName": s.service},
        }  # fmt: skip
        if s.parent:
            span["parentId"] = s.parent
        if s.error:
            span["tags"] = {"error": "500"}
        out.append(span)
    path.write_text(json.dumps(out), encoding="utf-8")
    return path


def write_csv(spans: list[Span], path: Path) -> Path:
    """A flat span CSV like Nezha's, with a status column; services as pod names."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["TraceID", "SpanID", "ParentID", "PodName", "OperationName",
                         "StartTimeUnixNano", "EndTimeUnixNano", "Duration",
                         "StatusCode"])  # fmt: skip
        for s in spans:
            writer.writerow([
                s.trace, s.span, s.parent or "root", POD[s.service], s.name, s.start_ns,
                s.end_ns, (s.end_ns - s.start_ns) // 1000, "Error" if s.error else "Ok",
            ])  # fmt: skip
    return path


WRITERS = {"otlp": write_otlp, "jaeger": write_jaeger, "zipkin": write_zipkin, "csv": write_csv}
