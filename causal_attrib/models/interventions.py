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

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np

from ..features import Feature, lag_name
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

    burn: int = 0
    """Steps simulated before the statistic is measured (rows: none; see the temporal game)."""

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
        self._terms: dict[tuple, np.ndarray] = {}
        self._noise: dict[tuple[str, bool], np.ndarray] = {}
        self._values: dict[frozenset, float] = {}

    def value(self, coalition: frozenset) -> float:
        """The statistic when exactly the nodes in ``coalition`` use their new mechanism."""
        coalition = frozenset(coalition) & self.players
        if coalition not in self._values:
            self._values[coalition] = self.measure(self.simulate(coalition))
            if len(self._cache) + len(self._terms) > 4096:  # bound memory on large games
                # forget the least recently used half: the values every coalition reads
                # (nodes below no swapped player) stay, instead of being simulated again
                for cache in (self._cache, self._terms):
                    for key in list(itertools.islice(cache, len(cache) // 2)):
                        del cache[key]
        return self._values[coalition]

    def simulate(self, coalition: frozenset) -> np.ndarray:
        """The target's values under ``coalition``, node by node down the order (a loop,
        not recursion: graphs thousands of nodes deep are fine), reusing every node whose
        upstream players are swapped the same way as in a coalition simulated before."""
        values: dict[str, np.ndarray] = {}
        for node in self.order:
            key = (node, coalition & self.upstream[node])
            cached = self._cache.pop(key, None)
            if cached is not None:
                values[node] = self._cache[key] = cached  # now the most recently used
                continue
            swapped = node in key[1]  # key[1]: players only
            mech = self.new[node] if swapped else self.old[node]
            if mech.decomposable and len(self.parents[node]) > 1:
                values[node] = self._summed(node, mech, swapped, coalition, values)
            else:
                data = {p: values[p] for p in self.parents[node]}
                values[node] = mech.sample(data, self.uniforms[node])
            if node != self.target:
                self._cache[key] = values[node]
        return values[self.target]

    def _summed(self, node, mech, swapped: bool, coalition: frozenset, values) -> np.ndarray:
        """A node's values as the sum of one term per parent and per pair of parents, each
        cached per the players above those parents: when one parent moved, its terms are
        recomputed instead of the node's whole design."""
        out = np.full(len(self.uniforms[node]), mech.coef[0])
        for p in self.parents[node]:
            key = (node, swapped, p, coalition & self.upstream[p])
            term = self._terms.pop(key, None)
            if term is None:
                term = mech.term(p, values[p])
            self._terms[key] = term  # now the most recently used
            out += term
        for a, b in mech.interactions:
            key = (
                node,
                swapped,
                (a, b),
                coalition & self.upstream[a],
                coalition & self.upstream[b],
            )
            term = self._terms.pop(key, None)
            if term is None:
                term = mech.interaction_term((a, b), values[a], values[b])
            self._terms[key] = term
            out += term
        noise = self._noise.get((node, swapped))
        if noise is None:
            noise = self._noise[(node, swapped)] = mech.noise_sample(self.uniforms[node])
        return out + noise


RHO_MAX = 0.995
"""Largest root a simulated autoregression may have: a fitted unit root (a random walk)
has no stationary statistic to compare, so its memory is capped here (and noted)."""

def ar_coefficients(mechanism: Mechanism, node: str, lags: Sequence[int]) -> np.ndarray:
    """``phi[k - 1]``: the weight of the node's own value ``k`` steps back, for the
    mechanism's linear own-lag terms (zero where it reads none); capped at :data:`RHO_MAX`."""
    phi = np.zeros(max(lags, default=0))
    coef = getattr(mechanism, "coef", None)
    if coef is None:
        return phi
    for k in lags:
        name = lag_name(node, k)
        phi[k - 1] = coef[mechanism.slices[name]][0] / mechanism.basis.scales[name][1]
    rho = largest_root(phi)
    if rho > RHO_MAX:
        phi = phi * (RHO_MAX / rho) ** np.arange(1, len(phi) + 1)
    return phi


def largest_root(phi: np.ndarray) -> float:
    """Modulus of the largest root of ``z^K - phi_1 z^(K-1) - ... - phi_K``: below 1, the
    autoregression forgets its start."""
    if not len(phi) or not np.any(phi):
        return 0.0
    companion = np.zeros((len(phi), len(phi)))
    companion[0] = phi
    companion[1:, :-1] = np.eye(len(phi) - 1)
    return float(np.max(np.abs(np.linalg.eigvals(companion))))


def ar_filter(u: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``x_t = u_t + sum_k phi_k x_{t-k}``, started at its steady level (one C loop)."""
    if not len(phi) or not np.any(phi):
        return u
    from scipy.signal import lfilter, lfilter_zi

    a = np.concatenate([[1.0], -phi])
    zi = lfilter_zi([1.0], a) * float(np.mean(u[: min(len(u), 100)]))
    return lfilter([1.0], a, u, zi=zi)[0]


def shifted(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` delayed by ``lag`` steps, its first value repeated before it starts."""
    if lag == 0:
        return x
    return np.concatenate([np.full(lag, x[0]), x[:-lag]])


MAX_BURN = 5000
"""Most steps a time-mode simulation runs before measuring (see :func:`burn_in`)."""


def burn_in(mechanisms: Iterable[tuple[str, Mechanism, Sequence[int]]], max_lag: int) -> int:
    """Steps to simulate before measuring: until the slowest autoregression has forgotten
    its start to 1e-4, plus the longest lag; at least 50, at most 5,000."""
    rho = max((largest_root(ar_coefficients(m, n, k)) for n, m, k in mechanisms), default=0)
    steps = math.ceil(math.log(1e-4) / math.log(rho)) if rho > 0.01 else 0
    return int(min(MAX_BURN, max(50, steps)) + 5 * max_lag)


class TemporalInterventionModel:
    """The intervention game of time-series mode: each coalition is simulated forward in
    time, so that a changed mechanism acts through every lag and through the node's own
    memory, as it did in the data.

    A node reads its parents at their lags and its own past linearly
    (:func:`~causal_attrib.models.bases.keep_linear`), so given its parents' whole series
    its own series is one autoregressive filter over time (:func:`ar_filter`): as cheap as
    the i.i.d. game. Nodes that influence each other through lagged edges (a cycle of the
    summary graph) are simulated step by step together. The statistic is measured after
    :func:`burn_in` steps. Draws are shared between coalitions, and each group of nodes
    is cached per the players upstream of it, as in :class:`InterventionModel`.

    Parameters
    ----------
    features
        Per node, the (node, lag) pairs its mechanism reads.
    target, old, new, players, uniforms, measure
        As in :class:`InterventionModel`; each uniform array covers ``burn + n`` steps.
    burn
        Steps simulated before the statistic is measured.
    """

    def __init__(
        self,
        features: Mapping[str, Sequence[Feature]],
        target: str,
        old: Mapping[str, Mechanism],
        new: Mapping[str, Mechanism],
        players: Sequence[str],
        uniforms: Mapping[str, np.ndarray],
        measure: Callable[[np.ndarray], float],
        burn: int,
    ):
        self.features = features
        self.groups = simulation_groups(features, target)
        self.old, self.new, self.players = old, new, frozenset(players)
        self.upstream = _upstream(self.groups, features, self.players)
        self.uniforms, self.measure, self.target, self.burn = uniforms, measure, target, burn
        self._cache: dict[tuple[int, frozenset], dict[str, np.ndarray]] = {}
        self._values: dict[frozenset, float] = {}

    def value(self, coalition: frozenset) -> float:
        """The statistic when exactly the nodes in ``coalition`` use their new mechanism."""
        coalition = frozenset(coalition) & self.players
        if coalition not in self._values:
            self._values[coalition] = self.measure(self.simulate(coalition)[self.burn :])
            if len(self._cache) > 1024:  # bound memory: series are long
                self._cache.clear()
        return self._values[coalition]

    def simulate(self, coalition: frozenset) -> np.ndarray:
        """The target's whole simulated series under ``coalition`` (burn-in included)."""
        series: dict[str, np.ndarray] = {}
        for i, group in enumerate(self.groups):
            key = (i, coalition & self.upstream[i])
            done = self._cache.get(key)
            if done is None:
                mechs = {n: self.new[n] if n in key[1] else self.old[n] for n in group}
                done = self._run_group(group, mechs, series)
                self._cache[key] = done
            series.update(done)
        return series[self.target]

    def _run_group(self, group, mechs, series) -> dict[str, np.ndarray]:
        if len(group) == 1:
            node = group[0]
            return {node: self._filtered(node, mechs[node], series)}
        return self._stepped(group, mechs, series)

    def _filtered(self, node: str, mech: Mechanism, series) -> np.ndarray:
        """One node's series given its parents' whole series: forcing, then the filter."""
        u = self.uniforms[node]
        own = [k for p, k in self.features[node] if p == node]
        data = {
            lag_name(p, k): shifted(series[p], k) if p != node else np.zeros(len(u))
            for p, k in self.features[node]
        }
        forcing = mech.sample(data, u) if data else mech.sample({}, u)
        return ar_filter(np.asarray(forcing, dtype=float), ar_coefficients(mech, node, own))

    def _stepped(self, group, mechs, series) -> dict[str, np.ndarray]:
        """Nodes in a feedback loop, one time step at a time (slower: a Python loop)."""
        steps = len(self.uniforms[group[0]])
        out = {n: np.zeros(steps) for n in group}
        noise = {n: mechs[n].noise_sample(self.uniforms[n]) for n in group}
        known = {**series, **out}
        for t in range(steps):
            for node in group:
                row = {
                    lag_name(p, k): known[p][max(t - k, 0) : max(t - k, 0) + 1]
                    for p, k in self.features[node]
                }
                out[node][t] = mechs[node].predict(row)[0] + noise[node][t]
        return out


def simulation_groups(features: Mapping[str, Sequence[Feature]], target: str) -> list[list[str]]:
    """The target's influencers in simulation order: groups of nodes that feed back into
    each other through lags (singletons otherwise), each ordered by its lag-0 edges."""
    summary = nx.DiGraph()
    summary.add_nodes_from(features)
    summary.add_edges_from((p, x) for x, fs in features.items() for p, _ in fs if p != x)
    relevant = nx.ancestors(summary, target) | {target}
    sub = summary.subgraph(relevant)
    condensed = nx.condensation(sub)
    same_step = nx.DiGraph()
    same_step.add_nodes_from(relevant)
    same_step.add_edges_from((p, x) for x in relevant for p, k in features[x] if k == 0 and p != x)
    groups = []
    for c in nx.lexicographical_topological_sort(
        condensed, key=lambda c: min(condensed.nodes[c]["members"])
    ):
        members = condensed.nodes[c]["members"]
        order = nx.lexicographical_topological_sort(same_step.subgraph(members))
        groups.append(list(order))
    return groups


def _upstream(groups, features, players: frozenset) -> list[frozenset]:
    """Per group, the players at or above it (a feedback group shares its members')."""
    where = {n: i for i, g in enumerate(groups) for n in g}
    out: list[frozenset] = []
    for i, group in enumerate(groups):
        above = frozenset(players & set(group))
        for node in group:
            for p, _ in features[node]:
                if p in where and where[p] != i:
                    above |= out[where[p]]
        out.append(above)
    return out
