"""Synthetic structural causal models with known ground truth, for tests and benchmarks.

Everything is driven by a ``numpy.random.Generator`` so that a scenario is reproducible from
its seed. The generating process is explicit: which nodes' mechanisms change, and how.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

SHAPES = ("chain", "tree", "er", "diamond", "collider")
CHANGES = ("shift", "scale", "coef")


@dataclass(frozen=True)
class Scenario:
    """A graph, before/after data, and the nodes whose mechanisms really changed."""

    graph: nx.DiGraph
    before: pd.DataFrame
    after: pd.DataFrame
    target: str
    changed: tuple[str, ...]
    info: dict = field(default_factory=dict)

    def true_effect(self, statistic: str = "mean", n_rows: int = 200_000) -> tuple[float, float]:
        """How much the planted changes move the target's ``statistic`` (``mean`` or
        ``std``), and the target's standard deviation before.

        Both periods are drawn from the generating SCM with the same noise (common random
        numbers), so the difference is the changes' effect up to about 1/sqrt(n_rows).
        """
        kw = {"nonlinear": self.info["nonlinear"], "params": self.info["params"]}
        kw["heteroscedastic"] = self.info.get("heteroscedastic", False)
        before, _ = simulate(self.graph, n_rows, np.random.default_rng(1), **kw)
        changes = dict.fromkeys(self.changed, self.info["change"])
        after, _ = simulate(self.graph, n_rows, np.random.default_rng(1), changes=changes, **kw)
        stat = {"mean": np.mean, "std": np.std}[statistic]
        y_b, y_a = before[self.target].to_numpy(), after[self.target].to_numpy()
        return float(stat(y_a) - stat(y_b)), float(np.std(y_b))


def make_graph(shape: str, n_nodes: int, rng: np.random.Generator, degree: float = 2.0):
    """A DAG named ``X0..X{n-1}`` in topological order; the last node is a natural target."""
    names = [f"X{i}" for i in range(n_nodes)]
    g = nx.DiGraph()
    g.add_nodes_from(names)
    if shape == "chain":
        g.add_edges_from(zip(names[:-1], names[1:], strict=True))
    elif shape == "tree":  # in-tree: every node feeds one later node, all paths end at X{n-1}
        for i in range(n_nodes - 1):
            g.add_edge(names[i], names[int(rng.integers(i + 1, n_nodes))])
    elif shape == "er":  # Erdos-Renyi DAG with expected degree `degree`, connected to the sink
        p = min(1.0, degree / max(n_nodes - 1, 1))
        for i in range(n_nodes):
            for j in range(i + 1, n_nodes):
                if rng.random() < p:
                    g.add_edge(names[i], names[j])
        for i in range(n_nodes - 1):
            if g.out_degree(names[i]) == 0:
                g.add_edge(names[i], names[int(rng.integers(i + 1, n_nodes))])
    elif shape == "diamond":
        g = nx.DiGraph([("A", "B"), ("A", "C"), ("B", "D"), ("C", "D")])
    elif shape == "collider":
        g = nx.DiGraph([("A", "C"), ("B", "C"), ("C", "D")])
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return g


def _nonlinear(kind: int, x: np.ndarray) -> np.ndarray:
    if kind == 0:
        return np.log1p(np.exp(x))  # softplus: flat on the left, linear on the right
    if kind == 1:
        return 2.0 * np.tanh(x / 2.0)  # saturating
    return x


def simulate(
    graph: nx.DiGraph,
    n_rows: int,
    rng: np.random.Generator,
    *,
    nonlinear: bool = False,
    changes: dict[str, str] | None = None,
    params: dict | None = None,
    heteroscedastic: bool = False,
    outliers: dict[str, float] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Draw ``n_rows`` from the SCM; ``changes`` maps node -> ``shift``/``scale``/``coef``.

    ``outliers`` maps node -> size: that node's own noise is shifted by ``size`` noise
    standard deviations in every row (an anomaly whose root cause is known).

    Returns the data and the parameters, so that the same SCM can be drawn again with changes.
    Non-root mechanisms are ``sum_i w_i g_i(x_i)`` (``g`` identity, or when ``nonlinear`` a
    softplus/tanh per edge; nodes with several parents then also add ``max`` of them) plus
    Gaussian noise, optionally with a scale that grows with the first parent.
    """
    order = list(nx.topological_sort(graph))
    if params is None:
        params = {}
        for node in order:
            parents = sorted(graph.predecessors(node))
            k = max(len(parents), 1)
            params[node] = {
                "parents": parents,
                "w": rng.choice([-1.0, 1.0], len(parents))
                * rng.uniform(0.5, 1.0, len(parents))
                / np.sqrt(k),
                "g": rng.integers(0, 3, len(parents)) if nonlinear else np.full(len(parents), 2),
                "max": bool(nonlinear and len(parents) > 1),
                "sd": float(rng.uniform(0.5, 1.0)),
            }
    changes = changes or {}
    data: dict[str, np.ndarray] = {}
    for node in order:
        p = params[node]
        w = p["w"].copy()
        sd = p["sd"]
        noise = rng.normal(0.0, 1.0, n_rows)
        kind = changes.get(node)
        if kind == "coef" and len(w):
            w[0] = -2.0 * w[0] if abs(w[0]) > 0.2 else w[0] + 1.5
        if kind == "scale":
            sd = sd * 2.5
        value = np.zeros(n_rows)
        for i, parent in enumerate(p["parents"]):
            value += w[i] * _nonlinear(int(p["g"][i]), data[parent])
        if p["max"]:
            value += 0.5 * np.max(np.column_stack([data[q] for q in p["parents"]]), axis=1)
        if heteroscedastic and p["parents"]:
            sd = sd * (0.5 + 0.5 * np.abs(np.tanh(data[p["parents"][0]])))
        value += sd * (noise + (outliers or {}).get(node, 0.0))
        if kind == "shift" or (kind == "coef" and not len(w)):
            value += 2.0 * p["sd"]
        data[node] = value
    return pd.DataFrame({n: data[n] for n in graph.nodes}), params


def make_scenario(
    shape: str,
    n_nodes: int,
    n_rows: int,
    seed: int,
    *,
    n_changes: int = 1,
    change: str = "shift",
    nonlinear: bool = False,
    heteroscedastic: bool = False,
    changed: Sequence[str] | None = None,
) -> Scenario:
    """A before/after pair with ``n_changes`` changed ancestors of the last node.

    ``changed`` overrides which nodes change; ``n_changes=0`` is the no-change control.
    """
    rng = np.random.default_rng(seed)
    graph = make_graph(shape, n_nodes, rng)
    target = list(nx.topological_sort(graph))[-1]
    candidates = sorted(nx.ancestors(graph, target) | {target}, key=str)
    if changed is None:
        picks = rng.choice(len(candidates), size=min(n_changes, len(candidates)), replace=False)
        changed = [candidates[i] for i in sorted(picks)]
    before, params = simulate(
        graph, n_rows, rng, nonlinear=nonlinear, heteroscedastic=heteroscedastic
    )
    after, _ = simulate(
        graph,
        n_rows,
        rng,
        nonlinear=nonlinear,
        heteroscedastic=heteroscedastic,
        params=params,
        changes=dict.fromkeys(changed, change),
    )
    info = {
        "shape": shape,
        "change": change,
        "nonlinear": nonlinear,
        "heteroscedastic": heteroscedastic,
        "seed": seed,
        "params": params,
    }
    return Scenario(graph, before, after, target, tuple(changed), info)


@dataclass(frozen=True)
class OutlierScenario:
    """Normal rows and anomalous rows whose root cause (an unusual noise) is known."""

    graph: nx.DiGraph
    reference: pd.DataFrame
    anomalies: pd.DataFrame
    target: str
    culprit: str


def make_outlier_scenario(
    shape: str,
    n_nodes: int,
    n_rows: int,
    seed: int,
    *,
    culprit: str | None = None,
    size: float = 8.0,
    n_anomalies: int = 1,
    nonlinear: bool = False,
) -> OutlierScenario:
    """Reference data, and ``n_anomalies`` rows where ``culprit``'s noise is ``size`` standard
    deviations off (default culprit: a random parent of the last node)."""
    rng = np.random.default_rng(seed)
    graph = make_graph(shape, n_nodes, rng)
    target = list(nx.topological_sort(graph))[-1]
    if culprit is None:
        parents = sorted(graph.predecessors(target)) or [target]
        culprit = parents[int(rng.integers(len(parents)))]
    reference, params = simulate(graph, n_rows, rng, nonlinear=nonlinear)
    anomalies, _ = simulate(
        graph, n_anomalies, rng, nonlinear=nonlinear, params=params, outliers={culprit: size}
    )
    return OutlierScenario(graph, reference, anomalies, target, culprit)
