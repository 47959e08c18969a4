"""Adding parsed edges to a graph, remembering the ones a file lists twice."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

from .lags import add_lag

REPEATED = "repeated"
"""Where a graph being parsed keeps its repeated edges, until the loader turns them into a
note (:class:`causal_attrib.inputs.graphs.LoadedGraph`)."""


def add_edges(graph: nx.DiGraph, pairs: Iterable[tuple[str, str]], lag: int = 0) -> None:
    """Add edges at ``lag``, remembering the ones already present at that lag (reported as
    a note, not an error)."""
    for u, v in pairs:
        if not add_lag(graph, u, v, lag):
            graph.graph.setdefault(REPEATED, []).append((u, v))
