"""How far back the mechanisms of time-series mode look: chosen by an information criterion.

For each candidate ``L`` every node is regressed, linearly, on what it would read with
``L`` lags (:func:`causal_attrib.inputs.lags.lag_features`), on the before period's rows,
and each node takes the ``L`` with the smallest BIC of its own regression among the orders
its rows can support. One order for all nodes would be held back by the node with the most
parents (with 60 rows and 9 parents, no lag at all) and so would leave every quantized,
slowly moving metric (memory, CPU) scored by its level instead of its steps. BIC rather
than AIC because a few lags too many cost every test power while one too few only leaves
a little autocorrelation, which the change tests' residual products tolerate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np

from ..inputs.lags import lag_features
from ..inputs.periods import BEFORE, Periods
from ..models.linalg import least_squares
from ..stats.robust import resolution

MAX_AUTO_LAGS = 6
"""Largest lag order tried when ``--lags`` is not given."""

ROWS_PER_COEFFICIENT = 10
"""Fewest before rows per coefficient of a node's model for its lag order to be tried."""


def choose_lags(
    graph: nx.DiGraph, periods: Periods, max_lags: int = MAX_AUTO_LAGS
) -> tuple[dict[str, int], dict[int, float]]:
    """Each node's lag order, the one with the smallest BIC of its own regression on the
    before period, and the summed BIC of every order tried for all nodes at once.

    Parameters
    ----------
    graph
        The temporal graph.
    periods
        The series; the before period's rows (with the history before them) are used.
    max_lags
        Largest order tried; for each node fewer when the period is short (at least
        :data:`ROWS_PER_COEFFICIENT` rows per coefficient of that node's largest model),
        so a node with many parents stays without lags while a node that reads only its
        own past still gets the memory its rows can support.
    """
    block = next(b for b in periods.blocks if (b.period == BEFORE).any())
    values = {n: np.asarray(v, dtype=float) for n, v in block.history(BEFORE).items()}
    rows = len(next(iter(values.values())))
    # the deepest order's history must leave rows for the smallest model (an intercept
    # and one lag); each node's own order is then held to what its model can afford
    max_lags = max(0, min(max_lags, rows - 2 * ROWS_PER_COEFFICIENT))
    deepest = lag_features(graph, max_lags)
    reach = max((k for fs in deepest.values() for _, k in fs), default=0)
    usable = _usable_rows(block, values, reach)
    n = int(np.count_nonzero(usable))
    per_order = {lags: lag_features(graph, lags) for lags in range(max_lags + 1)}
    node_bic = {
        lags: {node: _node_bic(values, node, feats, usable) for node, feats in fs.items()}
        for lags, fs in per_order.items()
    }
    orders = {}
    for node in graph.nodes:
        fits = [
            lags
            for lags in per_order
            if n >= ROWS_PER_COEFFICIENT * (len(per_order[lags][node]) + 1)
        ] or [0]
        orders[node] = min(fits, key=lambda k: (node_bic[k][node], k))
    scores = {lags: float(sum(b.values())) for lags, b in node_bic.items()}
    return orders, scores


def largest_order(lags: int | Mapping[str, int]) -> int:
    """The deepest order of one order or of an order per node."""
    return max(lags.values(), default=0) if isinstance(lags, Mapping) else int(lags)


def lags_json(lags: int | Mapping[str, int]) -> dict:
    """The JSON fields of a lag choice: ``lags`` (the largest order) and, for an order per
    node, ``node_lags`` (the nodes that read some past, by name)."""
    if not isinstance(lags, Mapping):
        return {"lags": int(lags)}
    return {"lags": largest_order(lags), "node_lags": {n: k for n, k in sorted(lags.items()) if k}}


def _usable_rows(block, values: Mapping[str, np.ndarray], reach: int) -> np.ndarray:
    """Rows of the before history whose whole past up to ``reach`` is present."""
    n = len(next(iter(values.values())))
    ok = np.ones(n, dtype=bool)
    ok[: min(reach, n)] = False
    present = np.all([np.isfinite(v) for v in values.values()], axis=0)
    times = block.times[:n]
    for k in range(min(reach, n - 1) + 1):  # a lag as deep as the rows leaves none usable
        valid = block.axis.lag_valid(times, k)
        ok &= valid
        ok[k:] &= present[: n - k]
    ok &= block.period[:n] == BEFORE
    return ok


def _node_bic(values, node: str, feats, usable: np.ndarray) -> float:
    """BIC of one node's linear regression on its features (``inf`` with under 2 rows).
    The error variance is never taken below the rounding error of the node's resolution
    (``step**2 / 12``), nor below rounding error in floating point: a metric recorded in
    steps that a model fits exactly has not been explained better than one fitted to
    within a step, and a flat metric would otherwise reward any order by an accident of
    floating point."""
    n = int(np.count_nonzero(usable))
    if n < 2:
        return math.inf
    design = np.ones((n, len(feats) + 1))
    for j, (p, k) in enumerate(feats, start=1):
        design[:, j] = np.roll(values[p], k)[usable]  # usable rows never wrap around
    # standardised: a large level beside small moves, or one column in far larger units
    # than another, must not hide a lag from the solver's eigenvalue cut-off
    spread = design[:, 1:].std(axis=0)
    design[:, 1:] = (design[:, 1:] - design[:, 1:].mean(axis=0)) / np.where(spread > 0, spread, 1)
    raw = values[node][usable]
    y = raw - raw.mean()
    coef = least_squares(design, y)[0]
    rss = float(np.sum((y - design @ coef) ** 2))
    floor = max(resolution(raw) ** 2 / 12, (1e-9 * max(1.0, float(np.max(np.abs(raw))))) ** 2)
    return n * math.log(max(rss / n, floor)) + design.shape[1] * math.log(n)
