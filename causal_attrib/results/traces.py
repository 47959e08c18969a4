"""What ``graph`` and ``metrics`` make from spans: a service graph with call counts, and a
table of per-service metrics per time window. Plain data; :mod:`causal_attrib.rendering.traces`
writes them out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd

METRICS = (
    "requests",
    "error_rate",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p99_ms",
    "self_p50_ms",
    "self_p90_ms",
    "self_p99_ms",
)
"""The metrics of each service in a window, in column order."""


@dataclass(frozen=True)
class CallEdge:
    """A causal edge of the service graph: ``cause`` (the callee) feeds ``effect`` (the
    caller) through ``calls`` calls; ``lag`` 1 for an edge kept from a cycle as acting one
    time step later."""

    cause: str
    effect: str
    calls: int
    lag: int = 0


@dataclass(frozen=True)
class ServiceGraph:
    """The causal service graph read from spans: every service, every call edge."""

    services: tuple[str, ...]
    edges: tuple[CallEdge, ...]
    spans: int
    notes: tuple[str, ...] = ()

    def to_networkx(self) -> nx.DiGraph:
        """The graph with each edge's ``calls`` and, on lagged edges, ``lags`` (the
        attribute :func:`causal_attrib.read_graph` reads)."""
        import networkx as nx

        graph = nx.DiGraph()
        graph.add_nodes_from(self.services)
        for e in self.edges:
            lags = {"lags": (e.lag,)} if e.lag else {}
            graph.add_edge(e.cause, e.effect, calls=e.calls, **lags)
        return graph


@dataclass(frozen=True)
class TraceMetrics:
    """One row per time window: ``time`` (the window's start, UTC) and, per service,
    the :data:`METRICS` as ``service.metric`` columns (or one column per service named by
    the service, when a single metric was asked for)."""

    table: pd.DataFrame
    window: str
    services: tuple[str, ...]
    spans: int
    notes: tuple[str, ...] = ()
