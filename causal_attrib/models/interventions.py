"""Simulating the target under any mix of old and new mechanisms: the game ``explain``
values with Shapley values.

The value of a coalition ``S`` of nodes is the target's statistic in the model where the
nodes in ``S`` run their *new* (after) mechanism and all others their *old* one. Two things
keep it fast and exact where it matters:

* every coalition reuses the same uniforms per node (common random numbers), so differences
  between coalitions are not drowned in sampling noise, and the result is deterministic;
* a node's simulated values depend only on which players upstream of it swapped, so they are
  cached per (node, relevant part of the coalition) and shared between coalitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import networkx as nx
import numpy as np

from .mechanisms import Mechanism


class InterventionModel:
    """Simulates the target under any mix of old and new mechanisms, with shared draws.

    Parameters
    ----------
    graph
        The causal DAG.
    target
        The node whose statistic is explained.
    old, new
        Mechanisms per node; ``new`` only needs entries for the players.
    players
        Nodes that may swap to their new mechanism.
    uniforms
        One array of uniforms per ancestor-or-self of ``target`` (the common random numbers).
    measure
        Turns simulated target values into the statistic.
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        target: str,
        old: Mapping[str, Mechanism],
        new: Mapping[str, Mechanism],
        players: Sequence[str],
        uniforms: Mapping[str, np.ndarray],
        measure: Callable[[np.ndarray], float],
    ):
        relevant = nx.ancestors(graph, target) | {target}
        self.order = [n for n in nx.lexicographical_topological_sort(graph) if n in relevant]
        self.parents = {n: tuple(graph.predecessors(n)) for n in self.order}
        self.old, self.new = old, new
        self.players = frozenset(players)
        # the players at or above each node, in one pass down the order (ancestor sets per
        # node would be quadratic on long chains)
        self.upstream: dict[str, frozenset] = {}
        for n in self.order:
            above = frozenset().union(*(self.upstream[p] for p in self.parents[n]))
            self.upstream[n] = above | ({n} & self.players)
        self.uniforms = uniforms
        self.target = target
        self.measure = measure
        self._cache: dict[tuple[str, frozenset], np.ndarray] = {}
        self._values: dict[frozenset, float] = {}

    def value(self, coalition: frozenset) -> float:
        """The statistic when exactly the nodes in ``coalition`` use their new mechanism."""
        coalition = frozenset(coalition) & self.players
        if coalition not in self._values:
            self._values[coalition] = self.measure(self.simulate(coalition))
            if len(self._cache) > 4096:  # bound memory on very large games
                self._cache.clear()
        return self._values[coalition]

    def simulate(self, coalition: frozenset) -> np.ndarray:
        """The target's values under ``coalition``, node by node down the order (a loop,
        not recursion: graphs thousands of nodes deep are fine), reusing every node whose
        upstream players are swapped the same way as in a coalition simulated before."""
        values: dict[str, np.ndarray] = {}
        for node in self.order:
            key = (node, coalition & self.upstream[node])
            cached = self._cache.get(key)
            if cached is not None:
                values[node] = cached
                continue
            data = {p: values[p] for p in self.parents[node]}
            mech = self.new[node] if node in key[1] else self.old[node]  # key[1]: players only
            values[node] = mech.sample(data, self.uniforms[node])
            if node != self.target:
                self._cache[key] = values[node]
        return values[self.target]
