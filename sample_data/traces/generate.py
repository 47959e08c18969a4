"""Generate ``spans.csv``: an hour of distributed-tracing spans of a small shop, with an
incident; and from it, with causal-attrib, ``graph.dot`` (``causal-attrib graph``) and
``latency.csv`` (``causal-attrib metrics --window 30s --metric latency_p50_ms``). Run
``python sample_data/traces/generate.py``; the output is deterministic.

Services: ``frontend`` calls ``cart`` (which calls ``redis``) and then ``catalog`` (which
calls ``catalogdb``). One request every 5 seconds from 12:00:00 to 12:59:55 UTC on
2026-01-05. Each service's own time is lognormal; a caller's latency is its own time plus
its calls'. About 1 request in 50 fails at ``cart`` (and so at ``frontend``).

Ground truth: from 12:50:00 to 12:54:59 ``catalogdb`` itself got 25 ms slower (a lock);
``catalog`` and ``frontend`` are slow only because of it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
START = 1_767_614_400  # 2026-01-05T12:00:00Z
INCIDENT = (START + 50 * 60, START + 55 * 60)
OWN_MS = {"frontend": 4.0, "cart": 2.0, "redis": 0.5, "catalog": 3.0, "catalogdb": 6.0}


def spans(seed: int = 7) -> list[tuple]:
    rng = np.random.default_rng(seed)
    out = []
    for r in range(720):
        t0 = (START + 5 * r) * 10**9 + int(rng.integers(0, 10**9))
        own = {s: int(rng.lognormal(np.log(ms), 0.25) * 1e6) for s, ms in OWN_MS.items()}
        if INCIDENT[0] * 10**9 <= t0 < INCIDENT[1] * 10**9:
            own["catalogdb"] += 25 * 10**6
        failed = rng.random() < 0.02
        trace = f"{r:04x}{int(rng.integers(0, 2**48)):012x}"
        ids = [f"{int(i):08x}" for i in rng.integers(0, 2**32, size=5)]
        half = own["frontend"] // 2
        cart0 = t0 + half
        redis0 = cart0 + own["cart"] // 2
        redis1 = redis0 + own["redis"]
        cart1 = redis1 + own["cart"] - own["cart"] // 2
        catalog0 = cart1 + 100_000
        db0 = catalog0 + own["catalog"] // 2
        db1 = db0 + own["catalogdb"]
        catalog1 = db1 + own["catalog"] - own["catalog"] // 2
        t1 = catalog1 + own["frontend"] - half
        out += [
            (trace, ids[0], "", "frontend", "GET /product", t0, t1, failed),
            (trace, ids[1], ids[0], "cart", "GetCart", cart0, cart1, failed),
            (trace, ids[2], ids[1], "redis", "HGET", redis0, redis1, False),
            (trace, ids[3], ids[0], "catalog", "GetProduct", catalog0, catalog1, False),
            (trace, ids[4], ids[3], "catalogdb", "SELECT", db0, db1, False),
        ]
    return out


def main() -> None:
    with open(HERE / "spans.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["TraceID", "SpanID", "ParentID", "ServiceName", "OperationName",
                         "StartTimeUnixNano", "EndTimeUnixNano", "StatusCode"])  # fmt: skip
        for trace, span, parent, service, name, start, end, failed in spans():
            status = "ERROR" if failed else "OK"
            writer.writerow([trace, span, parent, service, name, start, end, status])
    from causal_attrib.analyses.traces import service_graph, trace_metrics
    from causal_attrib.rendering.traces import graph_text, metrics_csv

    spans_csv = [HERE / "spans.csv"]
    (HERE / "graph.dot").write_text(graph_text(service_graph(spans_csv), "dot"))
    table = trace_metrics(spans_csv, window="30s", metric="latency_p50_ms")
    (HERE / "latency.csv").write_text(metrics_csv(table))


if __name__ == "__main__":
    main()
