"""Synthetic time series with known ground truth: monitoring metrics as they behave.

Every node is ``x_t = sum_p w_p g(p_{t - lag}) + phi x_{t-1} + e_t`` (an AR(1) with inputs;
lags from the graph's edges), so that a node wanders slowly even when nothing changed. A
planted change (a shift of a node's level, or a scale of its innovations) starts at one
step; a spike adds to one node's innovations for a few steps (an incident); a cycle adds a
daily rhythm to a node. Each node's series is rescaled by constants of the rows before
``at``, which keeps values readable and is part of the mechanism (children read the
rescaled values).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
import pandas as pd
from scipy.signal import lfilter


@dataclass(frozen=True)
class Planted:
    """Something that happens to one node from step ``at``: ``kind`` is ``shift`` (its
    level moves by ``size`` innovation SDs), ``scale`` (innovations times ``size``) or
    ``spike`` (``size`` innovation SDs added for ``length`` steps)."""

    node: str
    kind: str = "shift"
    size: float = 1.0
    at: int = 1000
    length: int = 1


def service_graph(lagged: bool = False) -> nx.DiGraph:
    """``db -> cache -> api -> web`` and ``db -> api``; with ``lagged``, ``db`` acts on
    ``cache`` one step later and on ``api`` two steps later."""
    g = nx.DiGraph()
    g.add_edge("db", "cache", **({"lags": (1,)} if lagged else {}))
    g.add_edge("db", "api", **({"lags": (2,)} if lagged else {}))
    g.add_edge("cache", "api")
    g.add_edge("api", "web")
    return g


def simulate_series(
    graph: nx.DiGraph,
    n_steps: int = 2000,
    *,
    phi: float = 0.9,
    planted: tuple[Planted, ...] = (),
    cycle: tuple[str, float, float] | None = None,
    nonlinear: bool = False,
    seed: int = 0,
) -> pd.DataFrame:
    """One series per node (columns) and a step column ``t`` (0, 1, ...).

    Parameters
    ----------
    graph
        A temporal graph whose lag-0 edges form a DAG and whose lagged edges do not feed
        back (each node is one filter over its parents' whole series).
    n_steps
        Length of the series.
    phi
        Every node's own memory (AR(1) coefficient).
    planted
        Changes, spikes or scales, with the step where each starts.
    cycle
        ``(node, period, amplitude)``: a sine of this period added to the node's input.
    nonlinear
        Parents act through ``tanh`` and a square instead of linearly.
    seed
        Seed of weights and innovations.
    """
    rng = np.random.default_rng(seed)
    order = list(nx.lexicographical_topological_sort(_feeding(graph)))
    at = min((p.at for p in planted), default=n_steps // 2)
    x: dict[str, np.ndarray] = {}
    for node in order:
        u = rng.normal(size=n_steps)
        for p in planted:
            if p.node == node:
                _plant(u, p, phi)
        for parent in sorted(graph.predecessors(node)):
            for lag in edge_lags(graph, parent, node):
                w = rng.uniform(0.5, 1.0) * rng.choice([-1.0, 1.0])
                z = _delayed(x[parent], lag)
                u += w * (np.tanh(z) + 0.3 * z**2 if nonlinear else z)
        if cycle is not None and cycle[0] == node:
            u += cycle[2] * np.sin(2 * np.pi * np.arange(n_steps) / cycle[1])
        series = lfilter([1.0], [1.0, -phi], u)
        ref = series[: max(at, 10)]
        x[node] = (series - ref.mean()) / ref.std()
    frame = pd.DataFrame({n: x[n] for n in graph.nodes})
    frame.insert(0, "t", np.arange(n_steps))
    return frame


def _feeding(graph: nx.DiGraph) -> nx.DiGraph:
    """The graph over which nodes are generated in order (every edge, lags ignored)."""
    out = nx.DiGraph()
    out.add_nodes_from(graph.nodes)
    out.add_edges_from((u, v) for u, v in graph.edges if u != v)
    return out


def edge_lags(graph: nx.DiGraph, u: str, v: str) -> tuple[int, ...]:
    """The lags of edge ``u -> v`` as graphs keep them (attribute ``lags``, default 0)."""
    return tuple(graph.edges[u, v].get("lags", (0,)))


def _plant(u: np.ndarray, planted: Planted, phi: float) -> None:
    start = planted.at
    if planted.kind == "shift":  # the level moves by size innovation SDs at steady state
        u[start:] += planted.size * (1 - phi) if phi < 1 else planted.size
    elif planted.kind == "scale":
        u[start:] *= planted.size
    elif planted.kind == "spike":
        u[start : start + planted.length] += planted.size
    else:
        raise ValueError(f"unknown planted kind {planted.kind!r}")


def _delayed(x: np.ndarray, lag: int) -> np.ndarray:
    return x if lag == 0 else np.concatenate([np.full(lag, x[0]), x[:-lag]])
