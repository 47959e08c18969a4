"""False discovery rate control (Benjamini-Hochberg), for change flags and violated
implications alike."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(q, 1.0)
    return out


def q_values_of_tested(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg over the tested statements; NaN stays NaN (untestable)."""
    q = np.full(len(p), np.nan)
    tested = ~np.isnan(p)
    q[tested] = benjamini_hochberg(p[tested])
    return q
