"""Simulating a fitted SCM with some nodes' noise pinned to what an anomalous row showed:
the game ``anomaly`` values with Shapley values, walked one ordering at a time.

Along an ordering only the descendants of the node just added are re-simulated, with the
same draws for every coalition (common random numbers). Nodes whose prediction is a sum of
one term per parent and one per pair of parents (:attr:`summed`) keep those terms, so when
one parent's draws change only its terms are recomputed; the random-noise draws and the
empty coalition's values are computed once and shared by every row and ordering.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .mechanisms import FixedNoise, Mechanism

Term = str | tuple[str, str]
"""A part of a summed node's prediction: one parent's term, or a pair's."""


class NoiseWalker:
    """Walks orderings of pinned noises over the target's ancestors.

    Parameters
    ----------
    order
        The target's ancestors and the target, in topological order.
    parents
        Each node's parents.
    mechanisms
        Each node's fitted mechanism.
    descendants
        Each node's descendants among ``order`` (itself first), in topological order.
    uniforms
        One array of uniforms per node (the common random numbers).
    """

    def __init__(
        self,
        order: Sequence[str],
        parents: Mapping[str, tuple[str, ...]],
        mechanisms: Mapping[str, Mechanism],
        descendants: Mapping[str, Sequence[str]],
        uniforms: Mapping[str, np.ndarray],
    ):
        self.order, self.parents, self.mechanisms = order, parents, mechanisms
        self.descendants, self.uniforms = descendants, uniforms
        self.summed = {n for n in order if parents[n] and mechanisms[n].decomposable}
        self.noise = {n: mechanisms[n].noise_sample(uniforms[n]) for n in self.summed}
        self.values: dict[str, np.ndarray] = {}
        self.terms: dict[str, dict[Term, np.ndarray]] = {}
        self.fx: dict[str, np.ndarray] = {}
        # A node's simulated values depend only on which of the node and its ancestors are
        # pinned: as bits of the coalition, `closure`. States seen before in the same row
        # are reused (see `_remembered`).
        self.bit = {n: 1 << i for i, n in enumerate(order)}
        self.closure: dict[str, int] = {}
        for node in order:
            mask = self.bit[node]
            for p in parents[node]:
                mask |= self.closure.get(p, 0)
            self.closure[node] = mask
        self._row: tuple = ()
        self._memo: dict[tuple[str | None, int], tuple | float] = {}
        self._small: dict[str, bool] = {}
        for node in order:
            if node in self.summed:
                parts = self._parts(node)
                self.terms[node] = {t: self._term(node, t, self.values) for t in parts}
                self.fx[node] = self._sum(node, self.terms[node])
                self.values[node] = self.fx[node] + self.noise[node]
            else:
                data = {p: self.values[p] for p in parents[node]}
                self.values[node] = mechanisms[node].sample(data, uniforms[node])

    def _parts(self, node: str) -> list[Term]:
        """A summed node's terms: its parents, then its pairs of parents."""
        return [*self.parents[node], *self.mechanisms[node].interactions]

    def _term(self, node: str, part: Term, values: Mapping[str, np.ndarray]) -> np.ndarray:
        mech = self.mechanisms[node]
        if isinstance(part, tuple):
            return mech.interaction_term(part, values[part[0]], values[part[1]])
        return mech.term(part, values[part])

    def _sum(self, node: str, terms: Mapping[Term, np.ndarray]) -> np.ndarray:
        out = np.full(len(self.uniforms[node]), self.mechanisms[node].coef[0])
        for t in terms.values():
            out += t
        return out

    def walk(
        self,
        ordering: Sequence[str],
        pinned: Mapping[str, FixedNoise],
        target: str,
        measure: Callable[[np.ndarray], float],
        empty_value: float,
        phi: dict[str, float],
    ) -> float:
        """Add each player's marginal contribution along ``ordering`` to ``phi`` (the drop
        of ``measure`` of the target as its noise is pinned); return the grand coalition's
        value."""
        values, fx = dict(self.values), dict(self.fx)
        terms: dict[str, dict[Term, np.ndarray]] = {}
        coalition: set[str] = set()
        memo, small = self._remembered(pinned, measure, ordering)
        mask = 0
        previous = empty_value
        for player in ordering:
            coalition.add(player)
            mask |= self.bit[player]
            changed: set[str] = set()
            for node in self.descendants[player]:
                moved = {p for p in self.parents[node] if p in changed}
                if node != player and not moved:
                    continue
                changed.add(node)
                key = (node, mask & self.closure[node])
                seen = memo.get(key)
                if seen is not None:
                    values[node], node_fx, local = seen
                    if node_fx is not None:
                        fx[node] = node_fx
                    if local is None:
                        terms.pop(node, None)
                    else:
                        terms[node] = dict(local)
                    continue
                if node in self.summed:
                    if moved:
                        local = terms.get(node)
                        if local is None:
                            local = terms[node] = dict(self.terms[node])
                        for part in local:
                            if part in moved or (isinstance(part, tuple) and set(part) & moved):
                                local[part] = self._term(node, part, values)
                        fx[node] = self._sum(node, local)
                    noise = pinned[node].noise if node in coalition else self.noise[node]
                    values[node] = fx[node] + noise
                else:
                    mech = pinned[node] if node in coalition else self.mechanisms[node]
                    data = {p: values[p] for p in self.parents[node]}
                    values[node] = mech.sample(data, self.uniforms[node])
                if small[node]:
                    local = terms.get(node)
                    memo[key] = (values[node], fx.get(node), None if local is None else dict(local))
            key = (None, mask & self.closure[target])  # None: the target's measure
            value = memo.get(key)
            if value is None:
                value = memo[key] = measure(values[target])
            phi[player] += previous - value
            previous = value
        return previous

    def _remembered(
        self, pinned: Mapping[str, FixedNoise], measure: Callable, ordering: Sequence[str]
    ) -> tuple[dict[tuple[str | None, int], tuple | float], dict[str, bool]]:
        """The states this row's walks have simulated, by (node, pinned bits of the node
        and its ancestors), and which nodes are worth remembering.

        The same state gives the same arrays bit for bit (the same inputs, the same
        operations), so a remembered one is reused instead of simulated again. Only nodes
        with at most :data:`REMEMBER_PLAYERS` players among themselves and their ancestors
        are kept (at most 2**that states each): the states of nodes below many players
        rarely recur and would hold memory. The target's measure is always kept (a float).
        A new row (new pins, a new measure) starts afresh."""
        if self._row != (pinned, measure):
            players = 0
            for node in ordering:
                players |= self.bit[node]
            self._row, self._memo = (pinned, measure), {}
            self._small = {
                n: (self.closure[n] & players).bit_count() <= REMEMBER_PLAYERS for n in self.order
            }
        return self._memo, self._small


REMEMBER_PLAYERS = 8
"""Most players among a node and its ancestors for the walker to remember the node's
simulated states (see :meth:`NoiseWalker._remembered`)."""
