"""Temporal graphs: edges that act with a delay.

An edge may carry lags (``a -> b [lag=1]`` in DOT, a ``lag`` column in an edge list, a
``lag`` key in node-link JSON): ``b`` at time ``t`` depends on ``a`` at ``t - lag``. A graph
keeps them as the edge attribute :data:`LAGS`, a sorted tuple; an edge without it acts at
lag 0. Only lag-0 edges must form a DAG (they fix the order within one time step); lagged
edges may point back, which is how feedback between services is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import networkx as nx

from ..errors import InputError
from ..features import Feature, lag_name  # noqa: F401 (lag_name: part of the lag vocabulary here)

LAGS = "lags"
"""Edge attribute holding an edge's lags (absent: lag 0 only)."""

MAX_LAG = 1000
"""Largest lag an edge may carry."""


def parse_lag(text: object, where: str) -> int:
    """An edge's lag from a file: a whole number from 0 to :data:`MAX_LAG`; a blank is 0."""
    raw = "" if text is None else str(text).strip()
    if raw == "":
        return 0
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not (value == value and value == int(value) and 0 <= value <= MAX_LAG):
        raise InputError(f"{where}: lag {raw!r} is not a whole number from 0 to {MAX_LAG}")
    return int(value)


def edge_lags(graph: nx.DiGraph, u: str, v: str) -> tuple[int, ...]:
    """The lags of edge ``u -> v`` (``(0,)`` when it carries none)."""
    return tuple(graph.edges[u, v].get(LAGS, (0,)))


def add_lag(graph: nx.DiGraph, u: str, v: str, lag: int) -> bool:
    """Add edge ``u -> v`` at ``lag``; False when the graph already had it at that lag."""
    known = edge_lags(graph, u, v) if graph.has_edge(u, v) else ()
    if lag in known:
        return False
    lags = tuple(sorted({*known, lag}))
    graph.add_edge(u, v)
    if lags == (0,):
        graph.edges[u, v].pop(LAGS, None)
    else:
        graph.edges[u, v][LAGS] = lags
    return True


def is_temporal(graph: nx.DiGraph) -> bool:
    """Whether any edge acts with a delay."""
    return any(d.get(LAGS, (0,)) != (0,) for _, _, d in graph.edges(data=True))


def lagged_edges(graph: nx.DiGraph) -> list[tuple[str, str, int]]:
    """Every ``(cause, effect, lag)`` with a lag above 0, sorted."""
    return sorted((u, v, k) for u, v in graph.edges for k in edge_lags(graph, u, v) if k > 0)


def contemporaneous(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph of lag-0 edges (all nodes kept): what must be a DAG, and the order of the
    nodes within one time step."""
    out = nx.DiGraph()
    out.add_nodes_from(graph.nodes)
    out.add_edges_from((u, v) for u, v in graph.edges if 0 in edge_lags(graph, u, v))
    return out


def copy_lags(links: Iterable[object], graph: nx.DiGraph, where: str) -> None:
    """Set lags from node-link ``links`` (dicts with ``source``, ``target`` and maybe
    ``lag``) on ``graph``, whose edges were copied without attributes. The same pair may
    be listed once per lag."""
    found: dict[tuple[str, str], set[int]] = {}
    for link in links:
        if isinstance(link, dict):
            u, v = str(link.get("source")), str(link.get("target"))
            lag = parse_lag(link.get("lag"), f"{where} edge {u} -> {v}")
            found.setdefault((u, v), set()).add(lag)
    for (u, v), lags in found.items():
        if graph.has_edge(u, v) and lags != {0}:
            graph.edges[u, v][LAGS] = tuple(sorted(lags))


def lag_features(
    graph: nx.DiGraph, lags: int | Mapping[str, int]
) -> dict[str, tuple[Feature, ...]]:
    """What each node's mechanism reads in time-series mode: every parent at its edge's
    lags and up to ``lags`` steps before them, and the node's own last ``lags`` values (a
    self-loop ``a -> a [lag=k]`` adds its own value ``k`` back). ``lags`` is one order for
    every node or an order per node (nodes it leaves out read no past)."""
    out = {}
    for node in graph.nodes:
        order = lags.get(node, 0) if isinstance(lags, Mapping) else lags
        found = {(node, j) for j in range(1, order + 1)}
        for parent in graph.predecessors(node):
            for lag in edge_lags(graph, parent, node):
                if parent == node:
                    found.add((node, lag))
                else:
                    found.update((parent, lag + j) for j in range(order + 1))
        out[node] = tuple(sorted(found))
    return out


def summary_graph(features: dict[str, tuple[Feature, ...]]) -> nx.DiGraph:
    """Who influences whom at any lag: an edge ``p -> x`` when ``x`` reads ``p`` (a node's
    own past is left out). It may have cycles (feedback through lags)."""
    out = nx.DiGraph()
    out.add_nodes_from(features)
    out.add_edges_from((p, x) for x, feats in features.items() for p, _ in feats if p != x)
    return out
