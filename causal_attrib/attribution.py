"""Shapley attribution of a change in a target statistic to mechanism swaps.

The value of a coalition ``S`` of nodes is the target's statistic in the model where the
nodes in ``S`` run their *new* (after) mechanism and all others their *old* one. Shapley
values of that game add up to v(all) - v(none), the change the fitted models reproduce.

Three things keep it fast and exact where it matters:

* only nodes whose mechanism changed can move the value; every other node is a dummy player
  with a zero Shapley value, so it is left out of the game altogether;
* every coalition reuses the same uniforms per node (common random numbers), so differences
  between coalitions are not drowned in sampling noise, and the result is deterministic;
* a node's simulated values depend only on which players upstream of it swapped, so they are
  cached per (node, relevant part of the coalition) and shared between coalitions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import numpy as np

from .exit_codes import InputError
from .mechanisms import Mechanism


@dataclass(frozen=True)
class Statistic:
    """A named summary of the target's distribution (the quantity whose change we explain)."""

    name: str
    func: Callable[[np.ndarray], float]

    def __call__(self, values: np.ndarray) -> float:
        """Evaluate the statistic on a sample."""
        return float(self.func(values))


def parse_statistic(text: str) -> Statistic:
    """Turn ``mean``, ``median``, ``std``, ``var`` or ``pNN`` (e.g. ``p95``, ``p99.9``) into a
    :class:`Statistic`.

    Raises
    ------
    InputError
        For an unknown name or a quantile outside (0, 100).
    """
    name = text.strip().lower()
    simple = {
        "mean": np.mean,
        "median": np.median,
        "std": lambda x: np.std(x, ddof=1) if len(x) > 1 else 0.0,
        "var": lambda x: np.var(x, ddof=1) if len(x) > 1 else 0.0,
    }
    if name in simple:
        return Statistic(name, simple[name])
    m = re.fullmatch(r"p(\d+(?:\.\d+)?)", name)
    if m:
        q = float(m.group(1))
        if not 0.0 < q < 100.0:
            raise InputError(f"quantile statistic {text!r} must be between p0 and p100 (exclusive)")
        return Statistic(name, lambda x, q=q: np.quantile(x, q / 100.0))
    raise InputError(
        f"unknown statistic {text!r}: use mean, median, std, var or a quantile such as p95"
    )


def latin_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stratified uniforms: one draw in each of ``n`` equal strata, in random order."""
    return (rng.permutation(n) + rng.random(n)) / n


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
        self.upstream = {
            n: frozenset((nx.ancestors(graph, n) | {n}) & self.players) for n in self.order
        }
        self.uniforms = uniforms
        self.target = target
        self.measure = measure
        self._cache: dict[tuple[str, frozenset], np.ndarray] = {}
        self._values: dict[frozenset, float] = {}

    def value(self, coalition: frozenset) -> float:
        """The statistic when exactly the nodes in ``coalition`` use their new mechanism."""
        coalition = frozenset(coalition) & self.players
        if coalition not in self._values:
            self._values[coalition] = self.measure(self._simulate(self.target, coalition))
            if len(self._cache) > 4096:  # bound memory on very large games
                self._cache.clear()
        return self._values[coalition]

    def _simulate(self, node: str, coalition: frozenset) -> np.ndarray:
        key = (node, coalition & self.upstream[node])
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        data = {p: self._simulate(p, coalition) for p in self.parents[node]}
        mech = self.new[node] if node in key[1] else self.old[node]  # key[1] holds players only
        values = mech.sample(data, self.uniforms[node])
        if node != self.target:
            self._cache[key] = values
        return values


def shapley_values(
    players: Sequence[str],
    value: Callable[[frozenset], float],
    *,
    max_exact: int = 10,
    n_permutations: int = 256,
    rng: np.random.Generator | None = None,
    evaluate: Callable[[list[frozenset]], list[float]] | None = None,
) -> dict[str, float]:
    """Shapley values of a set function over ``players``.

    Exact (all 2^k coalitions) for ``k <= max_exact`` players; otherwise an average over
    ``n_permutations`` random orderings, half of them the reverse of the other half
    (antithetic pairs). Both satisfy efficiency: the values add up to v(all) - v(none).

    The coalitions needed are listed first and valued in one call of ``evaluate`` (default:
    ``value`` on each in turn), so an engine can value them in parallel batches; the sums
    run in a fixed order afterwards, so the result does not depend on where they ran.
    """
    players = list(players)
    k = len(players)
    if k == 0:
        return {}
    exact = k <= max_exact
    orders: list[list[str]] = []
    if exact:
        needed = [frozenset(c) for size in range(k + 1) for c in combinations(players, size)]
    else:
        rng = rng or np.random.default_rng(0)
        for _ in range(max(1, n_permutations // 2)):
            perm = [players[j] for j in rng.permutation(k)]
            orders += [perm, perm[::-1]]
        seen: dict[frozenset, None] = {frozenset(): None}
        for order in orders:
            for i in range(1, k + 1):
                seen[frozenset(order[:i])] = None
        needed = list(seen)
    valued = evaluate(needed) if evaluate is not None else [value(c) for c in needed]
    v = dict(zip(needed, valued, strict=True))
    phi = dict.fromkeys(players, 0.0)
    if exact:
        weights = [
            math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)
        ]
        for i, player in enumerate(players):
            others = players[:i] + players[i + 1 :]
            for size in range(k):
                for subset in combinations(others, size):
                    s = frozenset(subset)
                    phi[player] += weights[size] * (v[s | {player}] - v[s])
        return phi
    for order in orders:
        coalition: frozenset = frozenset()
        previous = v[coalition]
        for player in order:
            coalition = coalition | {player}
            current = v[coalition]
            phi[player] += current - previous
            previous = current
    return {p: total / len(orders) for p, total in phi.items()}
