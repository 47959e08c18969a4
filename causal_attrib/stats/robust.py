"""How unusual a node's own noise (innovation) is, calibrated so that neither coarse metrics
nor earlier excursions in the reference can fool it.

Three rules, each answering a failure seen on recorded incidents:

* **Resolution.** A metric that moves in steps (memory in MiB, a latency read off histogram
  buckets) has a robust spread of zero, so any one-step move looks infinitely unusual. The
  spread is never taken below the metric's *resolution*: the median gap between the distinct
  values the reference holds (with one distinct value, the smallest move the window shows).
  A one-step move is then about one robust standard deviation, not the cap.
* **Earlier excursions.** A real reference holds earlier incidents. Centre and spread are the
  median and MAD, which a few rows cannot move, and reference rows further than
  :data:`EXCURSION` robust SDs out are then left out (their number is reported), so an earlier
  alarm neither widens the spread nor counts as normal.
* **What n rows support.** The score in nats, ``-log P(|Z| >= z)`` for a normal ``Z``, is
  capped at ``ln(n + 1)``: with n clean reference rows nothing can be shown to be rarer
  than 1 in n + 1. The deviation itself (``z``) is not capped: beyond the reference it orders
  the candidates by how far out they are, as a graph-free baseline would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

EXCURSION = 5.0
"""Robust SDs beyond which a reference row is an earlier excursion, left out of calibration."""

MAD_TO_SD = 1.4826
"""The MAD of a normal sample times this is its standard deviation."""


def resolution(values: np.ndarray, window: np.ndarray | None = None) -> float:
    """The smallest move a metric is recorded with: the median gap between the distinct
    finite ``values`` (the reference); with fewer than two distinct values, the smallest
    non-zero move of ``window`` away from the one value (0 when nothing moved)."""
    x = np.asarray(values, dtype=float)
    distinct = np.unique(x[np.isfinite(x)])
    if distinct.size >= 2:
        return float(np.median(np.diff(distinct)))
    if distinct.size == 0 or window is None:
        return 0.0
    w = np.asarray(window, dtype=float)
    moves = np.abs(w[np.isfinite(w)] - distinct[0])
    moves = moves[moves > 0]
    return float(moves.min()) if moves.size else 0.0


@dataclass(frozen=True)
class RobustCalibration:
    """Centre and spread of one node's reference noise, robust to excursions and resolution.

    Attributes
    ----------
    centre, scale
        Median and spread (MAD as an SD, at least the resolution) of the clean rows.
    rows
        Clean reference rows (what the score's cap ``ln(rows + 1)`` rests on).
    excluded
        Reference rows left out as earlier excursions.
    """

    centre: float
    scale: float
    rows: int
    excluded: int

    @classmethod
    def fit(cls, reference: np.ndarray, step: float = 0.0) -> RobustCalibration:
        """Calibrate on ``reference`` noise (NaN ignored); ``step`` is the metric's
        :func:`resolution`, the least the spread can be."""
        r = np.asarray(reference, dtype=float)
        r = r[np.isfinite(r)]
        if r.size == 0:
            return cls(0.0, max(step, 1e-12), 0, 0)
        centre, scale = _centre_scale(r, step)
        clean = r[np.abs(r - centre) <= EXCURSION * scale]
        if 0 < clean.size < r.size:
            centre, scale = _centre_scale(clean, step)
        return cls(centre, scale, int(clean.size), int(r.size - clean.size))

    def deviation(self, values: np.ndarray | float) -> np.ndarray:
        """``|x - centre| / scale`` (NaN stays NaN)."""
        return np.abs(np.asarray(values, dtype=float) - self.centre) / self.scale

    def score(self, values: np.ndarray | float) -> np.ndarray:
        """Nats, ``-log P(|Z| >= z)``, capped at ``ln(rows + 1)`` (what the rows support)."""
        z = self.deviation(values)
        with np.errstate(invalid="ignore"):
            nats = -(special.log_ndtr(-z) + math.log(2.0))
        return np.minimum(np.maximum(nats, 0.0), math.log(self.rows + 1))


def _centre_scale(r: np.ndarray, step: float) -> tuple[float, float]:
    """Median and spread. When more than half the rows sit on one value (a histogram
    bucket, a flat metric) the MAD is 0; the spread is then the MAD of the rows that moved
    off it (how far the metric goes when it moves), still a median."""
    centre = float(np.median(r))
    dev = np.abs(r - centre)
    spread = MAD_TO_SD * float(np.median(dev))
    if spread <= 0 and np.any(dev > 0):
        spread = MAD_TO_SD * float(np.median(dev[dev > 0]))
    if spread <= 0 and step <= 0:  # constant and no resolution known: any move is one step
        spread = float(np.std(r)) or 1e-9 * max(1.0, abs(centre))
    return centre, max(spread, step)
