"""Information-theoretic anomaly scores, ``-log P(a value at least this unusual)``, of
continuous values (with tails that extrapolate) and of categories."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..choices import Direction, parse_choice
from ..models.bases import Data
from ..models.mechanisms import ClassifierMechanism
from .robust import resolution


@dataclass(frozen=True)
class TailScorer:
    """Information-theoretic score of a continuous value: ``-log P(|X - m| / s >= |x - m| / s)``.

    ``m`` is the median and ``s`` a robust scale of the reference sample. Inside the sample the
    probability is the empirical share; beyond the top ``tail_fraction`` of it, an exponential
    tail fitted to those points takes over, so far outliers get large but finite scores.

    Parameters
    ----------
    tail_fraction
        Share of the largest deviations used to fit the exponential tail.
    min_tail
        Fewest points in the tail fit.
    max_score
        Cap on scores (``e**-100`` is beyond anything a sample can support).
    """

    tail_fraction: float = 0.05
    min_tail: int = 5
    max_score: float = 100.0
    direction: Direction = Direction.BOTH

    def __post_init__(self):
        object.__setattr__(self, "direction", parse_choice(Direction, self.direction, "direction"))

    def fit(self, values: np.ndarray) -> FittedTail:
        """Learn centre, scale and tail from reference values (NaN ignored)."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        centre = float(np.median(x))
        dev = np.abs(x - centre)
        scale = 1.4826 * float(np.median(dev))
        if scale <= 0:
            scale = 1.2533 * float(np.mean(dev))
        if scale <= 0:  # a constant: any deviation at all is extreme
            scale = 1e-9 * max(1.0, abs(centre))
        fitted = FittedTail(self, centre, scale, np.array([]))
        step = resolution(x) / scale  # the metric's resolution, in feature units
        return FittedTail(self, centre, scale, np.sort(fitted.feature(x)), step)

    def tail_size(self, n: int) -> int:
        """How many of ``n`` largest points the exponential tail is fitted to."""
        return min(n, max(self.min_tail, math.ceil(self.tail_fraction * n)))

    def log_tail(
        self, counts: np.ndarray, n: int, top: np.ndarray, t: np.ndarray, step: float = 0.0
    ) -> np.ndarray:
        """``-log P(F >= t)`` from ``counts`` (points with ``F >= t``, per ``t``) among ``n``,
        and ``top``, the ``tail_size(n)`` largest points: empirical up to the smallest of
        them, exponential (fitted to them) beyond. The tail decays by at most a factor e
        per ``step`` (the metric's resolution in feature units): a metric recorded in steps
        whose largest points tie cannot show a sharper tail, so a one-step move past them
        scores about one nat more than the top, not the cap."""
        k = len(top)
        u = float(top.min())
        beta = max(float(top.mean()) - u, step, 1e-3)
        with np.errstate(divide="ignore"):
            log_p = np.where(
                t <= u, np.log(np.maximum(counts, 1) / n), np.log(k / n) - (t - u) / beta
            )
        return np.clip(-log_p, 0.0, self.max_score)


def _as_extreme(t: np.ndarray | float) -> np.ndarray:
    """Nudge thresholds down so that a value equal to the observed one counts as extreme
    (re-simulating the observed row reproduces it only up to rounding)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    return t - 1e-9 * np.maximum(1.0, t)


@dataclass(frozen=True)
class FittedTail:
    """A :class:`TailScorer` fitted to one reference sample."""

    scorer: TailScorer
    centre: float
    scale: float
    features: np.ndarray = field(repr=False)
    step: float = 0.0
    """The reference's resolution in feature units (see :meth:`TailScorer.log_tail`)."""

    def feature(self, values: np.ndarray | float) -> np.ndarray:
        """Deviation from the reference median in robust-scale units (one-sided if asked)."""
        dev = (np.asarray(values, dtype=float) - self.centre) / self.scale
        if self.scorer.direction == "high":
            return np.maximum(dev, 0.0)
        if self.scorer.direction == "low":
            return np.maximum(-dev, 0.0)
        return np.abs(dev)

    def score(self, values: np.ndarray | float) -> np.ndarray:
        """Scores of ``values`` against the reference."""
        f, t = self.features, _as_extreme(self.feature(values))
        n = len(f)
        counts = n - np.searchsorted(f, t, side="left")
        return self.scorer.log_tail(counts, n, f[n - self.scorer.tail_size(n) :], t, self.step)

    def score_one(self, value: float) -> float:
        """Score of a single value."""
        return float(self.score(float(value))[0])

    def score_noise(self, data: Data, value: float, noise: float) -> float:
        """Score of one row's noise (this scorer was fitted to the node's noise)."""
        return self.score_one(noise)

    def score_sample(self, sample: np.ndarray, observed: float) -> float:
        """Score of ``observed`` against a simulated ``sample`` (same feature, same tail rule).

        This runs once per coalition, so it counts and partitions instead of sorting."""
        f, t = self.feature(sample), _as_extreme(self.feature(observed))
        n = len(f)
        k = self.scorer.tail_size(n)
        top = np.partition(f, n - k)[n - k :]
        counts = np.array([np.count_nonzero(f >= t[0])])
        return float(self.scorer.log_tail(counts, n, top, t, self.step)[0])


@dataclass(frozen=True)
class LevelScorer:
    """IT score of a category: ``-log P(p(X) <= p(x))``, the chance of a level at most as
    likely as the one seen; half a count of smoothing keeps unseen levels finite."""

    counts: Mapping[str, int]
    n: int

    @classmethod
    def fit(cls, values: np.ndarray) -> LevelScorer:
        """Count levels in the reference (missing values ignored)."""
        s = pd.Series([v for v in values if v is not None], dtype=object)
        return cls(dict(s.value_counts()), len(s))

    def score_one(self, level: str) -> float:
        """Score of one observed level."""
        c = self.counts.get(level, 0)
        rarer = sum(k for k in self.counts.values() if k <= c)
        return float(-np.log((rarer + 0.5) / (self.n + 1)))

    def score_noise(self, data: Data, value: str, noise: str) -> float:
        """Score of a root's level (its noise is its value)."""
        return self.score_one(noise)

    def score_sample(self, sample: np.ndarray, observed: str) -> float:
        """Score of ``observed`` against a simulated sample of levels."""
        c = self.counts.get(observed, 0)
        rare = np.fromiter((self.counts.get(v, 0) <= c for v in sample), bool, len(sample))
        return float(-np.log((rare.sum() + 0.5) / (len(sample) + 1)))


def conditional_level_score(proba: np.ndarray, classes: tuple, level: str) -> float:
    """Score of a category given its parents: ``-log P(p(X|pa) <= p(x|pa))``."""
    px = proba[classes.index(level)] if level in classes else 0.0
    tail = min(1.0, sum(v for v in proba if v <= px + 1e-12))  # rounding can sum past 1
    return float(min(100.0, -np.log(max(tail, np.exp(-100.0)))))


@dataclass(frozen=True)
class ConditionalLevelScorer:
    """Scores a categorical node's level given its parents, from its classifier."""

    mechanism: ClassifierMechanism

    def score_noise(self, data: Data, value: str, noise: object) -> float:
        """Score of one row's level given that row's parents."""
        mech = self.mechanism
        return conditional_level_score(mech.proba(data)[0], mech.classes, value)
