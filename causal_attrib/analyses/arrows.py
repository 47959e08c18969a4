"""Arrow strength: how much of a node's spread flows through each of its incoming edges
(Janzing et al. 2013; the method behind ``dowhy.gcm.arrow_strength``).

The strength of ``p -> c`` is how much the variance of ``c`` grows when the edge is cut:
``p`` is fed an independent draw from its marginal while the other parents keep their
values, ``E[Var(c | edge cut)] - E[Var(c | parents)]``. For an additive-noise mechanism
the noise's variance cancels, so it is the mean over parent rows of the variance of
``f(p', others)`` over independent ``p'``: no noise needs to be sampled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import networkx as nx
import numpy as np

from ..models.mechanisms import AdditiveNoiseMechanism, Mechanism
from ..results.influence import EdgeStrength

ROWS = 500
"""Parent rows the expectation averages over."""
DRAWS = 200
"""Independent draws of the cut parent per row."""


def arrow_strengths(
    graph: nx.DiGraph,
    nodes: Sequence[str],
    mechanisms: Mapping[str, Mechanism],
    columns: Mapping[str, np.ndarray],
    seed: int,
) -> tuple[EdgeStrength, ...]:
    """The strength of every edge into ``nodes`` whose child has an additive-noise
    mechanism, children in the given order, strongest edge first within a child.

    ``share`` divides the strength by the child's variance in the data: the part of the
    child's spread that flows through the edge (shares of one child can add up to more or
    less than 1 when its parents are dependent or interact).
    """
    rng = np.random.default_rng(seed)
    out = []
    for child in nodes:
        mechanism = mechanisms.get(child)
        if not isinstance(mechanism, AdditiveNoiseMechanism):
            continue
        spread = float(np.var(columns[child]))
        strengths = [
            (parent, _strength(mechanism, parent, columns, rng))
            for parent in sorted(graph.predecessors(child))
        ]
        strengths.sort(key=lambda item: (-round(item[1], 12), item[0]))
        for parent, strength in strengths:
            share = strength / spread if spread > 0 else None
            out.append(EdgeStrength(parent, child, strength, share))
    return tuple(out)


def _strength(
    mechanism: AdditiveNoiseMechanism,
    parent: str,
    columns: Mapping[str, np.ndarray],
    rng: np.random.Generator,
) -> float:
    """Mean over parent rows of Var over independent draws of ``parent`` of f."""
    parents = mechanism.basis.parents
    n = len(columns[parent])
    rows = rng.choice(n, size=min(ROWS, n), replace=False)
    draws = rng.integers(0, n, size=len(rows) * DRAWS)  # fresh draws for every row
    data = {p: np.repeat(columns[p][rows], DRAWS) for p in parents}
    data[parent] = columns[parent][draws]
    predicted = mechanism.predict(data).reshape(len(rows), DRAWS)
    return float(np.mean(np.var(predicted, axis=1)))
