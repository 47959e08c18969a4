"""Feature bases of one node's parents, and the model families that choose them.

``f`` in ``y = f(parents) + noise`` is linear in a feature basis: plain linear, or additive
hinge splines that continue *linearly* beyond the data. That choice is deliberate: latencies,
counts and money add up and saturate, and a model that keeps the last observed slope
extrapolates sensibly where tree ensembles go flat (which is how DoWhy's defaults blame the
child of a changed node).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from .linalg import solve_normal

Data = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Basis:
    """Builds the design matrix of a node from its parents' values.

    Continuous parents contribute ``x`` and hinge terms ``max(0, x - k)`` for each knot ``k``;
    categorical parents contribute one indicator per level beyond the first (an unseen level
    falls back to the first level's baseline). Column 0 is the intercept.

    ``pairs`` adds hinge terms along the difference and the sum of two continuous parents
    (``max(0, d - k)``, see :meth:`directions`), which describe joint effects an additive
    model cannot: ``max`` of parallel calls, ``min``, products. A basis with pairs is not
    additive per parent (:attr:`additive`).

    Continuous columns are centred and divided by the parent's training spread (``scales``):
    next to the intercept, raw values in the billions (bytes, timestamps) would make the
    design so ill-conditioned that least squares drops columns, and results would depend on
    the units. Standardised, the fit is the same in any units.
    """

    parents: tuple[str, ...]
    knots: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    levels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    family: str = "linear"
    scales: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    pairs: Mapping[tuple[str, str], tuple[tuple[float, ...], tuple[float, ...]]] = field(
        default_factory=dict
    )
    squares: frozenset[str] = frozenset()
    products: tuple[tuple[str, str], ...] = ()
    linear: frozenset[str] = frozenset()
    """Parents kept linear (:func:`keep_linear`): no knots, squares, pairs or products."""

    @property
    def additive(self) -> bool:
        """Whether the prediction is a sum of one term per parent (:meth:`term`)."""
        return not (self.pairs or self.products)

    def _width(self, parent: str) -> int:
        """Columns of one parent: its levels beyond the first, or the value, its hinges
        and its square."""
        if parent in self.levels:
            return len(self.levels[parent]) - 1
        return 1 + len(self.knots.get(parent, ())) + (parent in self.squares)

    @property
    def n_features(self) -> int:
        """Columns of the design matrix, intercept included."""
        return (
            1
            + sum(self._width(p) for p in self.parents)
            + sum(len(d) + len(t) for d, t in self.pairs.values())
            + len(self.products)
        )

    def transform(
        self, data: Data, n_rows: int | None = None, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Design matrix for the rows in ``data`` (column name to array); a root's matrix is
        the intercept alone, so it needs ``n_rows``. ``out`` (rows x :attr:`n_features`, best
        in Fortran order) receives it in place, e.g. one period's block of a larger design."""
        n = rows_of(data) if n_rows is None else n_rows
        if out is None:
            out = np.empty((n, self.n_features), order="F")  # filled column by column
        out[:, 0] = 1.0
        j = 1
        for p in self.parents:
            x = data[p]
            if p in self.levels:
                for level in self.levels[p][1:]:
                    out[:, j] = x == level
                    j += 1
                continue
            center, spread = self.scales.get(p, (0.0, 1.0))
            np.subtract(x, center, out=out[:, j])
            out[:, j] /= spread
            j += 1
            linear = j - 1
            for k in self.knots.get(p, ()):
                np.subtract(x, k, out=out[:, j])
                np.maximum(out[:, j], 0.0, out=out[:, j])
                out[:, j] /= spread
                j += 1
            if p in self.squares:
                np.square(out[:, linear], out=out[:, j])
                j += 1
        for pair, knots_by_direction in self.pairs.items():
            for z, knots in zip(self.directions(pair, data), knots_by_direction, strict=True):
                for k in knots:
                    np.subtract(z, k, out=out[:, j])
                    np.maximum(out[:, j], 0.0, out=out[:, j])
                    j += 1
        for a, b in self.products:
            (ca, sa), (cb, sb) = self.scales[a], self.scales[b]
            out[:, j] = (np.asarray(data[a], dtype=float) - ca) / sa
            out[:, j] *= (np.asarray(data[b], dtype=float) - cb) / sb
            j += 1
        return out

    def directions(self, pair: tuple[str, str], data: Data) -> tuple[np.ndarray, np.ndarray]:
        """A pair's two directions: the difference in the data's own units (so that a knot
        at 0 is where ``max(a, b)`` switches), and the sum of the standardised values; both
        divided by a spread so that knots do not depend on the units."""
        (a, b), (ca, sa), (cb, sb) = pair, self.scales[pair[0]], self.scales[pair[1]]
        xa, xb = np.asarray(data[a], dtype=float), np.asarray(data[b], dtype=float)
        return (xa - xb) / math.hypot(sa, sb), (xa - ca) / sa + (xb - cb) / sb

    def slices(self) -> dict[str, slice]:
        """Which coefficients belong to each parent (the basis is additive per parent)."""
        out, j = {}, 1
        for p in self.parents:
            width = self._width(p)
            out[p] = slice(j, j + width)
            j += width
        return out

    def pair_slices(self) -> dict[tuple[str, str], slice]:
        """Which coefficients belong to each pair's hinge terms (they follow the parents')."""
        out, j = {}, 1 + sum(self._width(p) for p in self.parents)
        for pair, (d, t) in self.pairs.items():
            out[pair] = slice(j, j + len(d) + len(t))
            j += len(d) + len(t)
        return out

    @property
    def interactions(self) -> tuple[tuple[str, str], ...]:
        """The pairs of parents with a part of their own: hinges, a product, or both."""
        return (*self.pairs, *(pr for pr in self.products if pr not in self.pairs))

    def product_columns(self) -> dict[tuple[str, str], int]:
        """The design column of each product (they come last)."""
        first = self.n_features - len(self.products)
        return {pair: first + k for k, pair in enumerate(self.products)}

    def product_term(
        self, pair: tuple[str, str], xa: np.ndarray, xb: np.ndarray, coef: float
    ) -> np.ndarray:
        """One product's part of the prediction (``coef`` is its coefficient)."""
        (ca, sa), (cb, sb) = self.scales[pair[0]], self.scales[pair[1]]
        out = np.subtract(xa, ca, dtype=float)
        out *= coef / sa
        out *= np.subtract(xb, cb, dtype=float) / sb
        return out

    def pair_term(
        self, pair: tuple[str, str], xa: np.ndarray, xb: np.ndarray, coef: np.ndarray
    ) -> np.ndarray:
        """One pair's hinge part of the prediction (``coef`` is that pair's slice)."""
        out = np.zeros(len(xa))
        j = 0
        directions = self.directions(pair, {pair[0]: xa, pair[1]: xb})
        for z, knots in zip(directions, self.pairs[pair], strict=True):
            if knots:
                _add_hinges(out, z, knots, coef[j : j + len(knots)])
                j += len(knots)
        return out

    def term(self, parent: str, x: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """One parent's additive part of the prediction; ``coef`` is that parent's slice.

        Simulations that change one parent at a time update only this term instead of
        rebuilding the whole design matrix.
        """
        if parent in self.levels:
            out = np.zeros(len(x))
            for c, level in zip(coef, self.levels[parent][1:], strict=True):
                out += c * (x == level)
            return out
        center, spread = self.scales.get(parent, (0.0, 1.0))
        x = np.asarray(x, dtype=float)
        out = np.subtract(x, center)
        out *= coef[0] / spread
        knots = self.knots.get(parent, ())
        if knots:
            _add_hinges(out, x, knots, np.divide(coef[1 : 1 + len(knots)], spread))
        if parent in self.squares:
            hinge = np.empty(len(x))
            np.subtract(x, center, out=hinge)
            hinge /= spread
            np.square(hinge, out=hinge)
            hinge *= coef[-1]
            out += hinge
        return out


def _add_hinges(out: np.ndarray, x: np.ndarray, knots: Sequence[float], coef: np.ndarray):
    """``out += c * max(x - k, 0)`` for each knot ``k`` and its ``c`` in turn, in place.

    The hinges are formed together (one knots x rows block, three array operations) and
    added one row at a time in the knots' order, so the sums are those of adding each hinge
    by itself, bit for bit, with a fraction of the calls: the anomaly walk evaluates
    hundreds of thousands of terms. Long columns go a few knots at a time (a block of at
    most 2**14 values, which stays in cache), so long columns cost no extra memory."""
    knots, coef = np.asarray(knots, dtype=float), np.asarray(coef, dtype=float)
    step = max(1, HINGE_BLOCK // max(len(x), 1))
    for start in range(0, len(knots), step):
        hinges = np.subtract(x[None, :], knots[start : start + step, None])
        np.maximum(hinges, 0.0, out=hinges)
        hinges *= coef[start : start + step, None]
        for row in hinges:
            out += row


HINGE_BLOCK = 1 << 14
"""Most values of hinges formed at once by :func:`_add_hinges`."""


def keep_linear(basis: Basis, names: Sequence[str] | frozenset[str]) -> Basis:
    """``basis`` with ``names`` entering linearly only. A node's own past enters its
    time-series mechanism this way, so that the mechanism simulates as a filter over the
    whole series (:class:`~causal_attrib.models.interventions.TemporalInterventionModel`)
    and extrapolates as an autoregression does."""
    names = frozenset(names) & frozenset(basis.parents)
    if not names:
        return basis
    return replace(
        basis,
        knots={p: k for p, k in basis.knots.items() if p not in names},
        pairs={pair: k for pair, k in basis.pairs.items() if not set(pair) & names},
        squares=basis.squares - names,
        products=tuple(pr for pr in basis.products if not set(pr) & names),
        linear=basis.linear | names,
    )


def rows_of(data: Data) -> int:
    """Rows of a column mapping (0 when it has no columns)."""
    return len(next(iter(data.values()))) if data else 0


class ModelFamily(Protocol):
    """A strategy that picks the feature basis for one node's mechanism."""

    name: str

    def make_basis(
        self, parents: Sequence[str], data: Data, target: np.ndarray, categorical: frozenset[str]
    ) -> Basis:
        """Return the basis to use for a node with these parents, given its training data."""
        ...


def _levels(parents: Sequence[str], data: Data, categorical: frozenset[str]) -> dict:
    return {p: tuple(sorted(set(data[p]))) for p in parents if p in categorical}


def _scales(parents: Sequence[str], data: Data, categorical: frozenset[str]) -> dict:
    """Mean and standard deviation of each continuous parent (1 for a constant one)."""
    out = {}
    for p in parents:
        if p in categorical:
            continue
        x = np.asarray(data[p], dtype=float)
        x = x[np.isfinite(x)]
        center = float(x.mean()) if x.size else 0.0
        spread = float(x.std()) if x.size else 0.0
        out[p] = (center, spread if spread > 0 else 1.0)
    return out


@dataclass(frozen=True)
class LinearModels:
    """Linear in the parents (one-hot for categorical parents)."""

    name: str = "linear"

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        levels, scales = _levels(parents, data, categorical), _scales(parents, data, categorical)
        return Basis(tuple(parents), {}, levels, self.name, scales)


@dataclass(frozen=True)
class SplineModels:
    """Additive piecewise-linear splines with ``n_knots`` quantile knots per continuous parent.

    Beyond the outermost knots the fit continues with the slope it had there, so predictions
    outside the training range grow the way the data last grew instead of going flat.
    """

    n_knots: int = 4
    name: str = "spline"

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        knots = {}
        qs = np.arange(1, self.n_knots + 1) / (self.n_knots + 1)
        for p in parents:
            if p in categorical:
                continue
            x = np.asarray(data[p], dtype=float)
            lo, hi = x.min(), x.max()
            ks = np.unique(np.quantile(x, qs))
            knots[p] = tuple(float(k) for k in ks if lo < k < hi)
        levels, scales = _levels(parents, data, categorical), _scales(parents, data, categorical)
        return Basis(tuple(parents), knots, levels, self.name, scales)


def _inside(knots: np.ndarray, x: np.ndarray) -> tuple[float, ...]:
    """Distinct knots strictly inside the range of ``x`` (others would be dead columns)."""
    lo, hi = float(np.min(x)), float(np.max(x))
    return tuple(float(k) for k in np.unique(knots) if lo < k < hi)


@dataclass(frozen=True)
class PairwiseModels:
    """Additive splines plus pairwise hinge terms (see :class:`Basis`) for nodes with 2 to
    ``max_parents`` continuous parents; other nodes get the plain spline basis.

    ``n_knots`` quantile knots are placed along each pair's difference and sum; the
    difference also gets a knot at 0.
    """

    n_knots: int = 3
    max_parents: int = 3
    splines: SplineModels = SplineModels()
    name: str = "spline+pairs"

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        basis = self.splines.make_basis(parents, data, target, categorical)
        continuous = [p for p in basis.parents if p not in basis.levels]
        if not 2 <= len(continuous) <= self.max_parents:
            return basis
        qs = np.arange(1, self.n_knots + 1) / (self.n_knots + 1)
        pairs = {}
        for i, a in enumerate(continuous):
            for b in continuous[i + 1 :]:
                diff, total = basis.directions((a, b), data)
                # the difference gets a knot at 0 too: there max(a, b) and min(a, b) bend
                diff_knots = np.append(np.quantile(diff, qs), 0.0)
                pairs[(a, b)] = (
                    _inside(diff_knots, diff),
                    _inside(np.quantile(total, qs), total),
                )
        return replace(basis, pairs=pairs, family=self.name)


@dataclass(frozen=True)
class AutoModels:
    """Choose among candidate families by K-fold cross-validated squared error.

    A more flexible candidate must beat the simpler one by ``min_gain`` (relative MSE) to be
    chosen, so that noise alone never buys flexibility. Categorical nodes use the first
    candidate (logistic regression on linear features). Knots and the choice come from
    every k-th row of at most ``max_rows`` (deterministic); fitting still uses all rows.
    """

    candidates: tuple = (LinearModels(), SplineModels())
    folds: int = 5
    min_gain: float = 0.02
    max_rows: int = 20_000
    name: str = "auto"

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        if len(target) > self.max_rows:  # knots and the choice need no more rows than this
            step = -(-len(target) // self.max_rows)
            data, target = {p: data[p][::step] for p in parents}, target[::step]
        bases = [c.make_basis(parents, data, target, categorical) for c in self.candidates]
        if not parents or target.dtype == object or len(target) < 2 * self.folds:
            return bases[0]
        best, best_mse = bases[0], _cv_mse(bases[0], data, target, self.folds)
        for i, basis in enumerate(bases[1:], start=1):
            if basis in bases[:i]:  # e.g. pairs for a node with one parent: plain splines
                continue
            mse = _cv_mse(basis, data, target, self.folds)
            if mse < best_mse * (1.0 - self.min_gain):
                best, best_mse = basis, mse
        return best


def _cv_mse(basis: Basis, data: Data, y: np.ndarray, folds: int) -> float:
    """K-fold squared error; each fold's fit subtracts that fold from the full normal
    equations (the sum of the folds' own) instead of refitting from scratch."""
    design = basis.transform(data)
    parts = [(design[k::folds], y[k::folds]) for k in range(folds)]
    grams = [(x.T @ x, x.T @ t) for x, t in parts]
    gram, rhs = sum(g for g, _ in grams), sum(r for _, r in grams)
    err = 0.0
    for (xt, yt), (g, r) in zip(parts, grams, strict=True):
        coef = solve_normal(gram - g, rhs - r)[0]
        err += float(np.sum((yt - xt @ coef) ** 2))
    return err / len(y)


@dataclass(frozen=True)
class QuadraticModels:
    """Quadratic in the continuous parents: each parent's value and square, and the product
    of every pair (up to ``max_parents`` continuous parents; beyond, squares only).

    Where a mechanism is a square or a product (a request rate times a cost, an area), a
    quadratic fit carries the curvature beyond the data, where hinge splines continue with
    their last slope and would call a far but ordinary value anomalous. Cross-validation
    (:class:`AutoModels`) chooses it only when the data's curvature asks for it.
    """

    max_parents: int = 4
    name: str = "quadratic"

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        levels, scales = _levels(parents, data, categorical), _scales(parents, data, categorical)
        continuous = [p for p in parents if p not in categorical]
        products = ()
        if len(continuous) <= self.max_parents:
            products = tuple((a, b) for i, a in enumerate(continuous) for b in continuous[i + 1 :])
        return Basis(
            tuple(parents), {}, levels, self.name, scales,
            squares=frozenset(continuous), products=products,
        )  # fmt: skip


@dataclass(frozen=True)
class GrowingModels:
    """Splines with pairwise terms whose knots grow with the rows (``n ** power`` times
    ``scale``, clipped to ``[low, high]``): a regression whose misfit shrinks as data grows,
    which is what a test relying on it needs to stay calibrated at any size."""

    scale: float = 1.0
    power: float = 1 / 3
    low: int = 4
    high: int = 16
    name: str = "growing splines+pairs"

    def knots_for(self, n_rows: int) -> int:
        """Knots per parent for this many rows."""
        return int(min(self.high, max(self.low, round(self.scale * n_rows**self.power))))

    def make_basis(self, parents, data, target, categorical) -> Basis:  # noqa: D102
        k = self.knots_for(len(target))
        family = PairwiseModels(
            n_knots=max(2, k // 3), splines=SplineModels(n_knots=k), name=self.name
        )
        return family.make_basis(parents, data, target, categorical)


EXPLAIN_MODELS = AutoModels(candidates=(LinearModels(), SplineModels(), PairwiseModels()))
"""Default model family of :func:`explain`: linear, additive splines, or splines with
pairwise terms, whichever cross-validates best."""


ANOMALY_MODELS = AutoModels(candidates=(LinearModels(), SplineModels(), QuadraticModels()))
"""Default model family of :func:`attribute_anomalies`: linear, additive splines or
quadratic, whichever cross-validates best. Anomalous rows lie beyond the data by nature, so
how a fit extrapolates decides which node is blamed; a square that splines continue
linearly would leave most of a far value unexplained and blame the node's own noise."""
