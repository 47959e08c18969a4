"""Adding parsed edges to a graph, remembering the ones a file lists twice."""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

REPEATED = "repeated"
"""Where a graph being parsed keeps its repeated edges, until the loader turns them into a
note (:class:`causal_attrib.inputs.graphs.LoadedGraph`)."""


def add_edges(graph: nx.DiGraph, pairs: Iterable[tuple[str, str]]) -> None:
    """Add edges, remembering the ones already present (reported as a note, not an error)."""
    for u, v in pairs:
        if graph.has_edge(u, v):
            graph.graph.setdefault(REPEATED, []).append((u, v))
        graph.add_edge(u, v)
