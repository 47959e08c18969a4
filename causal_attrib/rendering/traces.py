"""The service graph in the graph formats the other commands read (DOT, edge-list CSV,
node-link JSON), and the metrics table as CSV. Byte-stable: same spans, same text."""

from __future__ import annotations

import csv
import io
import json

from ..results.traces import ServiceGraph, TraceMetrics


def graph_text(graph: ServiceGraph, fmt: str) -> str:
    """``graph`` as ``dot``, ``csv`` (``cause,effect,calls,lag``) or ``json`` (node-link)."""
    if fmt == "dot":
        return _dot(graph)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["cause", "effect", "calls", "lag"])
        linked = {e.cause for e in graph.edges} | {e.effect for e in graph.edges}
        writer.writerows([e.cause, e.effect, e.calls, e.lag] for e in graph.edges)
        writer.writerows([s, "", "", ""] for s in graph.services if s not in linked)
        return out.getvalue()
    if fmt == "json":
        doc = {
            "directed": True,
            "multigraph": False,
            "graph": {"spans": graph.spans},
            "nodes": [{"id": s} for s in graph.services],
            "edges": [
                {"source": e.cause, "target": e.effect, "calls": e.calls}
                | ({"lag": e.lag} if e.lag else {})
                for e in graph.edges
            ],
        }
        return json.dumps(doc, indent=2) + "\n"
    raise ValueError(f"unknown graph output format {fmt!r}")


def _dot(graph: ServiceGraph) -> str:
    lines = [
        "// causal service graph from spans: callee -> caller, calls = calls seen",
        "digraph services {",
    ]
    lines += [f"  {_quote(s)};" for s in graph.services]
    for e in graph.edges:
        lag = f", lag={e.lag}" if e.lag else ""
        lines.append(f"  {_quote(e.cause)} -> {_quote(e.effect)} [calls={e.calls}{lag}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def metrics_csv(metrics: TraceMetrics) -> str:
    """The metrics table as CSV: empty cells where a service had no requests."""
    return metrics.table.to_csv(index=False, lineterminator="\n")
