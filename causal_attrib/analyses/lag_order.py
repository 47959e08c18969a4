"""How far back the mechanisms of time-series mode look: chosen by an information criterion.

For each candidate ``L`` every node is regressed, linearly, on what it would read with
``L`` lags (:func:`causal_attrib.inputs.lags.lag_features`), on the before period's rows;
the ``L`` with the smallest summed BIC wins. BIC rather than AIC because a few lags too
many cost every test power while one too few only leaves a little autocorrelation, which
the change tests' residual products tolerate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import networkx as nx
import numpy as np

from ..inputs.lags import lag_features
from ..inputs.periods import BEFORE, Periods
from ..models.linalg import least_squares

MAX_AUTO_LAGS = 6
"""Largest lag order tried when ``--lags`` is not given."""


def choose_lags(
    graph: nx.DiGraph, periods: Periods, max_lags: int = MAX_AUTO_LAGS
) -> tuple[int, dict[int, float]]:
    """The lag order with the smallest summed BIC on the before period, and every BIC.

    Parameters
    ----------
    graph
        The temporal graph.
    periods
        The series; the before period's rows (with the history before them) are used.
    max_lags
        Largest order tried; fewer when the period is short (at least 10 rows per
        coefficient of the largest model).
    """
    block = next(b for b in periods.blocks if (b.period == BEFORE).any())
    values = {n: np.asarray(v, dtype=float) for n, v in block.history(BEFORE).items()}
    rows = len(next(iter(values.values())))
    widest = max(len(f) for f in lag_features(graph, max_lags).values()) + 1
    while max_lags > 0 and rows < 10 * widest + max_lags:
        max_lags -= 1
        widest = max(len(f) for f in lag_features(graph, max_lags).values()) + 1
    deepest = lag_features(graph, max_lags)
    reach = max((k for fs in deepest.values() for _, k in fs), default=0)
    usable = _usable_rows(block, values, reach)
    scores = {
        lags: _bic(values, lag_features(graph, lags), usable, reach) for lags in range(max_lags + 1)
    }
    best = min(scores, key=lambda k: (scores[k], k))
    return best, scores


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


def _bic(values, features, usable: np.ndarray, reach: int) -> float:
    """Summed BIC of every node's linear regression on its features."""
    n = int(np.count_nonzero(usable))
    if n < 2:
        return math.inf
    total = 0.0
    for node, feats in features.items():
        design = np.ones((n, len(feats) + 1))
        for j, (p, k) in enumerate(feats, start=1):
            design[:, j] = np.roll(values[p], k)[usable]  # usable rows never wrap around
        y = values[node][usable]
        coef = least_squares(design, y)[0]
        rss = float(np.sum((y - design @ coef) ** 2))
        total += n * math.log(max(rss / n, 1e-300)) + design.shape[1] * math.log(n)
    return total
