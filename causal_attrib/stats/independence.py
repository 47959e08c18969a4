"""Conditional-independence tests, the strategy ``check`` injects.

:class:`GcmTest`, the default, is the generalised covariance measure (Shah & Peters 2020)
with spline regressions: one least-squares solve per (X, Z) serves every Y, so a node's
implications cost about one regression together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from ..models.bases import ModelFamily, SplineModels
from ..models.linalg import residualise
from .tails import chi2_sf
from .wald import wald_statistics


class BoundTest(Protocol):
    """A test bound to one data set: p-values of ``x ⟂ y | given`` for several ``y``."""

    def __call__(self, x: str, ys: Sequence[str], given: Sequence[str]) -> np.ndarray:
        """One p-value per ``y``, in order."""
        ...


class IndependenceTest(Protocol):
    """A conditional-independence test strategy."""

    name: str

    def bind(self, data: Mapping[str, np.ndarray], categorical: frozenset[str]) -> BoundTest:
        """Prepare the test for these columns (continuous as float, categorical as text)."""
        ...


@dataclass(frozen=True)
class GcmTest:
    """The generalised covariance measure (Shah & Peters 2020) with spline regressions.

    To test ``X ⟂ Y | Z``, features of X and of Y are regressed on a basis of Z (``models``)
    and the products of their residuals are tested for mean zero (a Wald chi-square over the
    feature pairs, robust to noise whose spread depends on Z). X enters standardised; Y adds
    a hinge at its median, so that a U-shaped dependence is seen too (``nonlinear``).
    Categorical variables enter as indicators of their ``max_levels`` most common levels.
    ``models`` must build its basis per parent without looking at the regressed variable
    (:class:`LinearModels`, :class:`SplineModels`): each variable's columns are built once.

    One least-squares solve per (X, Z) serves every Y, so a node's implications cost about
    one regression together.
    """

    models: ModelFamily = SplineModels()
    nonlinear: bool = True
    max_levels: int = 10
    name: str = "gcm"
    log_positive: bool = True
    """Test again with the logs of the strictly positive variables (spanning a factor of
    :data:`LOG_SPAN` at least), and count an implication
    as violated only when both scales reject it (the larger p-value). Business graphs are
    full of products and ratios (revenue = orders x price x (1 - discount)), which the
    additive spline regressions miss on the raw scale and fit in logs, where the misfit made
    a correct graph look violated; sums fit on the raw scale. Taking the larger of two valid
    p-values keeps the test valid; it costs a second test of the implications that mention
    a positive variable."""

    def bind(self, data, categorical) -> BoundTest:  # noqa: D102
        raw = _BoundGcm(self, data, categorical)
        positive = frozenset(
            name for name, values in data.items() if name not in categorical and _spans(values)
        )
        if not self.log_positive or not positive:
            return raw
        logged = {n: np.log(v) if n in positive else v for n, v in data.items()}
        return _BothScales(raw, _BoundGcm(self, logged, categorical), positive)


LOG_SPAN = 2.0
"""A positive variable is tested in logs too when its largest value is at least this many
times its smallest: over a narrower span (timestamps, values far from zero) the log is
nearly linear and would only repeat the test."""


def _spans(values) -> bool:
    """Whether ``values`` are numbers, all positive, spanning a factor of :data:`LOG_SPAN`."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.number) or not len(values):
        return False
    low = float(np.min(values))
    return low > 0 and float(np.max(values)) >= LOG_SPAN * low


@dataclass(frozen=True)
class _BothScales:
    """p-values on the raw scale, and the larger of those and the log scale's where a
    positive variable takes part (see :attr:`GcmTest.log_positive`)."""

    raw: BoundTest
    logged: BoundTest
    positive: frozenset[str]

    def __call__(self, x: str, ys: Sequence[str], given: Sequence[str]) -> np.ndarray:
        p = self.raw(x, ys, given)
        if {x, *ys, *given} & self.positive:
            p = np.maximum(p, self.logged(x, ys, given))
        return p


class _BoundGcm:
    """Per-variable feature rows are built once; each call only stacks, projects and tests.

    Everything is laid out features x rows, so gathering a variable's features copies
    contiguous rows and the batched products feed BLAS directly.
    """

    def __init__(self, spec: GcmTest, data: Mapping[str, np.ndarray], categorical: frozenset):
        self.spec = spec
        self.data = data
        self.categorical = categorical
        self.n = len(next(iter(data.values())))
        self._rows: dict[tuple[str, str], np.ndarray] = {}
        self._buf = np.empty((2, 64, self.n))

    def rows(self, name: str, role: str) -> np.ndarray:
        """Feature rows of ``name`` as the tested node (x), the other node (y) or in Z (z)."""
        key = (name, role)
        if key not in self._rows:
            self._rows[key] = np.ascontiguousarray(self._make(name, role).T)
        return self._rows[key]

    def _make(self, name: str, role: str) -> np.ndarray:
        x = self.data[name]
        if role == "z":  # the model family's basis columns for this parent, intercept dropped
            basis = self.spec.models.make_basis([name], self.data, x, self.categorical)
            columns = basis.transform({name: x}, self.n)[:, 1:]
            # standardised: hinges on values like 2e6 are nearly collinear with the linear
            # term otherwise, and the normal equations square that
            sd = columns.std(axis=0)
            return (columns - columns.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
        if name in self.categorical:
            counts = pd.Series(x).value_counts()
            # most common first, ties by name: which levels get indicators must not depend
            # on how pandas orders equal counts
            by_count = sorted(counts.index, key=lambda v: (-counts[v], str(v)))
            levels = by_count[: self.spec.max_levels + 1]
            if len(levels) < 2:
                return np.zeros((self.n, 1))
            return np.column_stack([(x == lv).astype(float) for lv in levels[1:]])
        sd = float(np.std(x))
        z = (x - float(np.mean(x))) / sd if sd > 0 else np.zeros(self.n)
        if role == "y" and self.spec.nonlinear:
            return np.column_stack([z, np.maximum(z - float(np.median(z)), 0.0)])
        return z[:, None]

    def __call__(self, x: str, ys: Sequence[str], given: Sequence[str]) -> np.ndarray:
        design = np.concatenate([np.ones((1, self.n))] + [self.rows(g, "z") for g in given])
        rx_rows = self.rows(x, "x")
        dx = rx_rows.shape[0]
        y_rows = [self.rows(y, "y") for y in ys]
        widths = np.array([r.shape[0] for r in y_rows])
        order = np.argsort(widths, kind="stable")  # equal widths side by side: groups are views
        blocks = [rx_rows] + [y_rows[i] for i in order]
        k = dx + int(widths.sum())
        stacked, fitted = self._buffers(k)
        np.concatenate(blocks, out=stacked)
        scale = np.sqrt(np.einsum("kn,kn->k", stacked, stacked))
        residualise(design, stacked, fitted)
        # a variable the parents determine exactly (a total, a difference) leaves rounding
        # noise, which can correlate with magnitudes; it is independent of anything else
        left = np.sqrt(np.einsum("kn,kn->k", stacked, stacked))
        stacked[left <= 1e-6 * scale] = 0.0
        rx = stacked[:dx]
        stat, df = np.zeros(len(ys)), np.zeros(len(ys), dtype=int)
        start = dx
        for width in np.unique(widths):
            which = order[widths[order] == width]
            part = stacked[start : start + width * len(which)]
            start += width * len(which)
            if dx == 1:
                part *= rx  # the products of residuals, in place
                products = part.reshape(len(which), width, self.n)
            else:
                ry = part.reshape(len(which), 1, width, self.n)
                products = (rx[None, :, None, :] * ry).reshape(len(which), dx * width, self.n)
            stat[which], df[which] = wald_statistics(products)
        out = np.ones(len(ys))
        ok = df > 0
        out[ok] = chi2_sf(stat[ok], df[ok])
        return out

    def _buffers(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Two reusable k x n work arrays: fresh large arrays on every call cost page faults
        that took longer than the arithmetic."""
        if self._buf.shape[1] < k:
            self._buf = np.empty((2, k, self.n))
        return self._buf[0, :k], self._buf[1, :k]
