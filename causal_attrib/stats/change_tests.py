"""Tests of whether a node's mechanism P(node | parents) differs between two periods.

The default for continuous nodes, :class:`ConditionalChangeTest`, asks whether the period
helps predict the node once its parents are known (a cross-fitted generalised covariance
measure, on the mean and on the noise's spread; roots add a Kolmogorov-Smirnov test), so a
mechanism outside the model family is not called changed because its parents moved.
:class:`ResidualChangeTest` is the older closed-form alternative (Chow F-tests of separate
fits per period against one pooled fit). Categorical nodes use a chi-square test within parent
configurations, calibrated by permutations (with parents), or of homogeneity (roots).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import ClassVar, Protocol

import numpy as np

from ..models.bases import Basis, Data, GrowingModels, LinearModels, ModelFamily, keep_linear
from ..models.categorical import Cells, cell_bins
from ..models.linalg import CrossFit, solve_normal
from .overlap import common_range
from .tails import chi2_sf, f_sf, ks_2samp_p
from .wald import newey_west_lags, wald_p


@dataclass(frozen=True)
class ChangeTestResult:
    """Outcome of one node's change test.

    Attributes
    ----------
    p_value
        Combined p-value of "the mechanism is the same in both periods".
    parts
        The component p-values by name (``mean``, ``scale``, ``shape``, ``likelihood``).
    effects
        How large the change is, by part, whatever its significance: ``mean`` in noise
        standard deviations, ``scale`` as a log ratio of noise spreads (empty when the test
        does not measure one).
    testable
        False when the periods' parents share too little range for any verdict (the
        p-value is then 1: nothing can be flagged).
    """

    @property
    def effect(self) -> float | None:
        """The largest effect part (``None`` when the test measured none)."""
        return max(self.effects.values()) if self.effects else None

    p_value: float
    parts: dict[str, float] = field(default_factory=dict)
    effects: dict[str, float] = field(default_factory=dict)
    testable: bool = True


class ChangeTest(Protocol):
    """A strategy testing one node's mechanism for a change."""

    def __call__(
        self, basis: Basis, before: Data, after: Data, y_before: np.ndarray, y_after: np.ndarray
    ) -> ChangeTestResult:
        """Return the p-value that the node's mechanism did not change."""
        ...


FEWEST_ROWS = 10
"""Fewest rows of a period in the parents' common range for a change test to speak."""


@dataclass(frozen=True)
class ConditionalChangeTest:
    """Does the period help predict the node once its parents are known? A generalised
    covariance measure (Shah & Peters 2020) of node and period given the parents.

    Node and period indicator are both regressed on a flexible basis of the parents
    (``models``; by default knots that grow with the rows), cross-fitted over ``folds``;
    the products of their residuals, times each of the parents' linear features, are tested
    for mean zero (a Wald chi-square with a covariance from the products, so noise whose
    spread follows the parents is no problem). ``scale`` runs the same test, in the
    period's direction alone, on log absolute node residuals that keep each period's own
    mean (the partially linear fit's), which sees a change of the noise's spread and not a
    change of its mean. Only rows whose continuous parents lie in both periods' range take
    part (see ``min_rows``). Roots add a
    Kolmogorov-Smirnov test of the whole distribution.

    Why not compare per-period fits (Chow, :class:`ResidualChangeTest`)? When a mechanism
    lies outside the model family (a square, a saturation, a ``max``) and the parents move,
    the pooled fit's misfit moves with the period and a Chow test calls it a change. Here
    the misfit would have to predict the period *beyond what the parents say*; the test's
    error is the product of both regressions' errors, so it stays calibrated when either is
    good. Without overlap (the periods' parents do not share a range) the period is
    predicted by the parents alone and the test has no power: the data cannot tell a
    change from an unseen part of the same mechanism.
    """

    models: ModelFamily = GrowingModels()
    folds: int = 5
    scale: bool = True
    min_rows: int = 30
    time_ordered: bool = False
    """Rows come in time order (time-series mode): the Wald covariance is Newey-West's."""
    reads_features: ClassVar[bool] = False
    """The test reads only the basis' parents, levels and linear parents, never its
    features (it chooses its own regression): callers need not choose a test basis."""

    def rows_needed(self, smaller: int) -> int:
        """Rows of each period the common range must hold for the test to speak:
        ``min_rows``, or half the smaller period when that is shorter (30 after rows
        with 27 in the common range are testable: the period is small, not unseen), never
        fewer than :data:`FEWEST_ROWS`."""
        return min(self.min_rows, max(FEWEST_ROWS, math.ceil(smaller / 2)))

    def __call__(self, basis, before, after, y_before, y_after) -> ChangeTestResult:  # noqa: D102
        parents, levels = basis.parents, frozenset(basis.levels)
        # Only the common range of continuous parents can speak: beyond it, a "change" and
        # an unseen part of the same mechanism look alike, and the regressions' errors there
        # do not cancel. (A level new in one period stays: it has no old mechanism at all,
        # which is a change.)
        # (Parents kept linear, a node's own past, extrapolate as the model does: no box.)
        ranged = [p for p in parents if p not in levels and p not in basis.linear]
        if ranged:
            # the same box for both periods: the intersection of their ranges (a row of
            # one period beyond it would make the period a step the regressions smooth)
            keep_b, keep_a = common_range(before, after, ranged)
            kept = min(np.count_nonzero(keep_b), np.count_nonzero(keep_a))
            if kept < self.rows_needed(min(len(y_before), len(y_after))):
                return ChangeTestResult(1.0, {}, {}, testable=False)
            before = {p: before[p][keep_b] for p in parents}
            after = {p: after[p][keep_a] for p in parents}
            y_before, y_after = y_before[keep_b], y_after[keep_a]
        n_b, n_a = len(y_before), len(y_after)
        pooled = {p: np.concatenate([before[p], after[p]]) for p in parents}
        y = np.concatenate([y_before, y_after]).astype(float)
        y = y - y.mean()
        period = np.concatenate([np.zeros(n_b), np.ones(n_a)])
        regression = self.models.make_basis(parents, pooled, y, levels)
        regression = keep_linear(replace(regression, levels=basis.levels), basis.linear)
        n = n_b + n_a
        fit = CrossFit(regression.transform(pooled, n), self.folds)
        resid = fit.residuals(np.column_stack([y, period]))
        r_y, r_t = resid[:, 0], resid[:, 1]
        linear = LinearModels().make_basis(parents, pooled, y, levels)
        features = replace(linear, levels=basis.levels).transform(pooled, n)
        weights = features * r_t[:, None]
        hac = newey_west_lags(n) if self.time_ordered else 0
        parts = {"mean": wald_p(weights * r_y[:, None], hac)}
        effect = {"mean": _effect(features, weights, r_y, n_b, float(np.std(r_y[:n_b])))}
        if self.scale:
            # the spread is compared on residuals that keep each period's own mean: those of
            # the pooled fit mix a mean change into it (periods of unequal length shift by
            # unequal amounts), and a pure mean shift read as a change of spread
            coef, _ = solve_normal(weights.T @ weights, weights.T @ r_y)
            own = r_y - weights @ coef
            log_r = np.log(np.abs(own) + 0.2 * float(np.mean(np.abs(own))) + 1e-300)
            r_s = fit.residuals(log_r)
            # one direction (the period itself): the parents' directions add heavy-tailed
            # products that made this part reject twice as often as it should
            parts["scale"] = wald_p(weights[:, :1] * r_s[:, None], hac)
            effect["scale"] = _effect(features[:, :1], weights[:, :1], r_s, n_b, 1.0)
        if not parents:
            parts["shape"] = _ks_p(y_before, y_after)
        return ChangeTestResult(min(1.0, len(parts) * min(parts.values())), parts, effect)


def reads_basis_features(test: ChangeTest) -> bool:
    """Whether ``test`` reads the features of the basis it is given (knots, pairs), so
    that the caller must choose that basis; a test without the flag is assumed to."""
    return bool(getattr(test, "reads_features", True))


def _effect(
    features: np.ndarray, weights: np.ndarray, resid: np.ndarray, n_before: int, unit: float
) -> float:
    """Root mean square over the after rows of the fitted change ``delta(parents) =
    features @ coef``, in ``unit``s; ``coef`` regresses the residuals on the weights
    (features times the period's residual), as in a partially linear model."""
    if not unit > 0:
        return 0.0
    coef, _ = solve_normal(weights.T @ weights, weights.T @ resid)
    delta = features[n_before:] @ coef
    return float(np.sqrt(np.mean(delta**2)) / unit) if delta.size else 0.0


def _fit(gram: np.ndarray, design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """Residuals of ``y`` on ``design`` given the design's Gram matrix, and the fit's rank."""
    coef, rank = solve_normal(gram, design.T @ y)
    return y - design @ coef, rank


@dataclass(frozen=True)
class ResidualChangeTest:
    """Chow F-tests of the conditional mean and conditional scale; KS on roots' values.

    Both are weighted by a fitted noise scale (feasible weighted least squares), and the
    scale test compares log absolute residuals of each period's own fit (a mean change
    stays out of it), so noise whose spread
    depends on the parents (heteroscedasticity the basis can describe) does not look like a
    change when the parents' distribution moves. A root's distribution is also
    compared whole (Kolmogorov-Smirnov); a non-root's noise shape is not, because pooled
    residuals mix parent values whose noise differs and would flag unchanged mechanisms.

    Every least-squares fit here shares a Gram matrix computed once per design and period
    (the plain design, and the weighted one), so a node costs three passes of
    ``rows x features^2`` where separate fits would cost ten.
    """

    def __call__(self, basis, before, after, y_before, y_after) -> ChangeTestResult:  # noqa: D102
        n_b = len(y_before)
        design = np.empty((n_b + len(y_after), basis.n_features), order="F")
        basis.transform(before, n_b, out=design[:n_b])
        basis.transform(after, len(y_after), out=design[n_b:])
        y = np.concatenate([y_before, y_after])
        y = y - y.mean()  # the intercept absorbs it; an offset in the billions would cost digits
        gram = design.T @ design
        resid, _ = _fit(gram, design, y)
        # Feasible weighted least squares: noise whose scale follows the parents would make
        # plain F-tests over-reject when the parents' distribution moves.
        weight = 1.0 / _scale_function(gram, design, np.abs(resid))
        xw, yw = design * weight[:, None], y * weight
        grams = _PeriodGrams(xw, n_b)
        # each period's own fit: the pooled fit's residuals carry a mean change into the
        # spread (a pure mean shift read as a change of scale)
        abs_r = np.abs(  # already on the standardised scale
            np.concatenate(
                [
                    _fit(grams.before, xw[:n_b], yw[:n_b])[0],
                    _fit(grams.after, xw[n_b:], yw[n_b:])[0],
                ]
            )
        )
        # The noise scale is compared on log |standardised residual|: a multiplicative scale
        # becomes an additive shift there, with noise of constant spread, so the F-test stays
        # valid when the parents move; |residual| itself would be as heteroscedastic as y.
        log_r = np.log(abs_r + 1e-3 * float(np.mean(abs_r)) + 1e-300)
        plain = _PeriodGrams(design, n_b, pooled=gram)
        parts = {"mean": grams.chow_p(yw), "scale": plain.chow_p(log_r)}
        if not basis.parents:
            parts["shape"] = _ks_p(y_before, y_after)
        return ChangeTestResult(min(1.0, len(parts) * min(parts.values())), parts)


def _scale_function(gram: np.ndarray, design: np.ndarray, abs_resid: np.ndarray) -> np.ndarray:
    """Fitted conditional mean of |residual| (the noise scale), floored to stay positive."""
    fitted = abs_resid - _fit(gram, design, abs_resid)[0]
    typical = float(np.mean(abs_resid))
    floor = 0.1 * typical if typical > 0 else 1.0  # relative: data may be in any units
    return np.maximum(fitted, floor)


class _PeriodGrams:
    """A design split into two periods, with each period's Gram matrix computed once."""

    def __init__(self, design: np.ndarray, n_before: int, pooled: np.ndarray | None = None):
        self.design, self.n = design, n_before
        xb, xa = design[:n_before], design[n_before:]
        self.before = xb.T @ xb
        if pooled is None:
            self.after = xa.T @ xa
            self.pooled = self.before + self.after
        else:  # the pooled Gram is known: one period's follows by subtraction
            self.pooled, self.after = pooled, pooled - self.before

    def chow_p(self, y: np.ndarray) -> float:
        """F-test p-value of separate fits per period against one pooled fit of ``y``."""
        n, x = self.n, self.design
        rb, rank_b = _fit(self.before, x[:n], y[:n])
        ra, rank_a = _fit(self.after, x[n:], y[n:])
        rp, rank_p = _fit(self.pooled, x, y)
        return _chow_p(
            float(rb @ rb) + float(ra @ ra),
            float(rp @ rp),
            rank_b + rank_a - rank_p,
            len(y) - rank_b - rank_a,
            float(np.sum((y - y.mean()) ** 2)),
        )


def _chow_p(rss_full: float, rss_pooled: float, q: int, dof: int, tss: float) -> float:
    """F-test p-value from the residual sums of squares of the separate and pooled fits."""
    if q <= 0 or dof <= 0:
        return 1.0
    # centred: an offset (timestamps, totals in the billions) must not look like a perfect fit
    scale = max(rss_pooled, tss, 1e-300)
    if rss_full <= 1e-12 * scale:  # both periods fitted exactly: any change is certain
        return 0.0 if rss_pooled > 1e-9 * scale else 1.0
    f = max(rss_pooled - rss_full, 0.0) / q / (rss_full / dof)
    return float(f_sf(f, q, dof))


def _ks_p(a: np.ndarray, b: np.ndarray) -> float:
    return ks_2samp_p(a, b)


@dataclass(frozen=True)
class CategoricalChangeTest:
    """Did P(node | parents) of a categorical node change? A test within parent
    configurations, which holds its level whatever form the mechanism has.

    Rows are grouped by parent configuration (categorical parents' levels, continuous
    parents cut at pooled quantiles, as :class:`~causal_attrib.models.categorical.Cells`);
    within each configuration seen in both periods, a Pearson chi-square compares the
    node's levels between the periods, and the statistic is their sum (a stratified test of
    period and node given the parents, in the spirit of Cochran-Mantel-Haenszel). Its null
    distribution comes from ``n_permutations`` permutations of the period within
    configurations, matched by a scaled chi-square in mean and variance (smooth p-values
    far below 1 / permutations). No model is fitted, so an additive model's misfit of
    interacting parents cannot look like a change; configurations seen in one period only
    say nothing (a parent's new level is the parent's change, not this node's). A level of
    the node that appears or vanishes where both periods have rows is a large statistic.
    Roots: a chi-square test of homogeneity.
    """

    n_permutations: int = 200
    seed: int = 0

    def __call__(self, basis, before, after, y_before, y_after) -> ChangeTestResult:  # noqa: D102
        if not basis.parents:
            return ChangeTestResult(_chi2_p(y_before, y_after), {})
        parents = basis.parents
        pooled = {p: np.concatenate([before[p], after[p]]) for p in parents}
        levels = {p: tuple(sorted(set(pooled[p]))) for p in parents if p in basis.levels}
        n = len(y_before) + len(y_after)
        cells = Cells.fit(parents, pooled, levels, cell_bins(n))
        if not cells.countable:
            return ChangeTestResult(1.0, {}, {}, testable=False)
        strata = np.unique(cells.codes(pooled, n), return_inverse=True)[1]
        y = np.unique(np.concatenate([y_before, y_after]).astype(str), return_inverse=True)[1]
        period = np.concatenate([np.zeros(len(y_before), bool), np.ones(len(y_after), bool)])
        table = _StrataTable(strata, y, period)
        if not table.informative:
            return ChangeTestResult(1.0, {}, {}, testable=False)
        observed = float(table.statistic(table.after))
        rng = np.random.default_rng(self.seed)
        null = table.null(rng, self.n_permutations)
        p = _scaled_chi2_p(observed, null)
        if p > FAR_TAIL:  # not far beyond every permutation: let the permutations speak
            null = np.concatenate([null, table.null(rng, 25 * self.n_permutations)])
            p = _permutation_p(observed, null)
        return ChangeTestResult(p, {"table": p})


class _StrataTable:
    """Rows by stratum and level, for sums of per-stratum chi-squares of period x level.

    Only strata with rows of both periods count (the others add nothing, whatever the
    permutation). Permuting the period within a stratum keeps its after-rows fixed, so
    the after-counts by level follow a multivariate hypergeometric law: the null is drawn
    from it directly, all permutations of a stratum at once.
    """

    def __init__(self, strata: np.ndarray, y: np.ndarray, period: np.ndarray):
        n_strata, n_levels = int(strata.max()) + 1, int(y.max()) + 1
        cell = strata * n_levels + y
        size = n_strata * n_levels
        totals = np.bincount(cell, minlength=size).reshape(n_strata, n_levels)
        after = np.bincount(cell, weights=period, minlength=size).reshape(n_strata, n_levels)
        n_a, sizes = after.sum(axis=1), totals.sum(axis=1)
        keep = (n_a > 0) & (n_a < sizes) & ((totals > 0).sum(axis=1) > 1)
        self.totals, self.after = totals[keep], after[keep]
        self.n_a, self.sizes = n_a[keep].astype(np.int64), sizes[keep].astype(float)

    @property
    def informative(self) -> bool:
        """Whether some stratum has rows of both periods and two levels."""
        return len(self.sizes) > 0

    def statistic(self, after: np.ndarray) -> np.ndarray:
        """Sum over strata of the Pearson chi-square of period x level; ``after`` holds
        after-counts (strata x levels), or a stack of them (draws x strata x levels)."""
        tot, big = self.totals, self.sizes[:, None]
        na = self.n_a[:, None].astype(float)
        expected = na * tot / big
        weight = np.zeros(tot.shape)
        np.divide(big**2, tot * na * (big - na), out=weight, where=tot > 0)
        return np.sum((after - expected) ** 2 * weight, axis=(-2, -1))

    def null(self, rng: np.random.Generator, count: int) -> np.ndarray:
        """The statistic under ``count`` permutations of the period within strata."""
        draws = np.stack(
            [
                rng.multivariate_hypergeometric(tot, int(na), size=count, method="marginals")
                for tot, na in zip(self.totals, self.n_a, strict=True)
            ],
            axis=1,
        )
        return self.statistic(draws)


FAR_TAIL = 1e-8
"""A scaled chi-square p-value below this is taken as is; above it, more permutations run
and the p-value is no smaller than theirs (sparse configurations make the statistic
heavier-tailed than a scaled chi-square)."""


def _permutation_p(observed: float, null: np.ndarray) -> float:
    """The scaled chi-square p-value, floored by the permutations' own: ``(1 + k) / (B + 1)``
    with ``k`` of ``B`` permutations at least as large, or half a count when none is."""
    k = int(np.count_nonzero(null >= observed))
    return max(_scaled_chi2_p(observed, null), (max(k, 0.5) + (k > 0)) / (len(null) + 1))


def _scaled_chi2_p(observed: float, null: np.ndarray) -> float:
    """Upper tail of ``observed`` under a scaled chi-square with the permutations' mean
    and variance (a * chi2(d): a = var / 2 mean, d = 2 mean^2 / var)."""
    mean, var = float(np.mean(null)), float(np.var(null, ddof=1))
    if not mean > 0:
        return 1.0 if observed <= 0 else 0.0
    if not var > 0:
        return 1.0 if observed <= mean else 0.0
    scale, dof = var / (2.0 * mean), 2.0 * mean**2 / var
    return float(chi2_sf(observed / scale, dof))


def _chi2_p(a: Sequence[str], b: Sequence[str]) -> float:
    levels = sorted(set(a) | set(b))
    if len(levels) < 2:
        return 1.0
    table = np.array([[np.sum(np.asarray(x) == lv) for lv in levels] for x in (a, b)])
    from scipy import stats  # imported here: 0.7 s at start-up otherwise

    return float(stats.chi2_contingency(table, correction=False).pvalue)
