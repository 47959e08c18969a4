"""Tests of whether a node's mechanism P(node | parents) differs between two periods.

The default for continuous nodes, :class:`ResidualChangeTest`, compares the two periods in
the node's own feature basis: a Chow F-test for a change in the conditional mean (separate
fits per period against one pooled fit), the same test on absolute residuals for a change in
the noise scale, and for roots a Kolmogorov-Smirnov test of the whole distribution, combined
by Bonferroni. All are closed-form least squares, which is why they run in milliseconds
where kernel tests take minutes. Categorical nodes use a likelihood-ratio
test (with parents) or a chi-square test of homogeneity (roots).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import stats

from .mechanisms import Basis, Data, fit_logistic, least_squares


@dataclass(frozen=True)
class ChangeTestResult:
    """Outcome of one node's change test.

    Attributes
    ----------
    p_value
        Combined p-value of "the mechanism is the same in both periods".
    parts
        The component p-values by name (``mean``, ``scale``, ``shape``, ``likelihood``).
    """

    p_value: float
    parts: dict[str, float] = field(default_factory=dict)


class ChangeTest(Protocol):
    """A strategy testing one node's mechanism for a change."""

    def __call__(
        self, basis: Basis, before: Data, after: Data, y_before: np.ndarray, y_after: np.ndarray
    ) -> ChangeTestResult:
        """Return the p-value that the node's mechanism did not change."""
        ...


def _rss(design: np.ndarray, y: np.ndarray) -> tuple[float, int, np.ndarray]:
    coef, rank = least_squares(design, y)
    resid = y - design @ coef
    return float(resid @ resid), int(rank), resid


@dataclass(frozen=True)
class ResidualChangeTest:
    """Chow F-tests of the conditional mean and conditional scale; KS on roots' values.

    The scale test is a Chow test on the absolute residuals of the pooled fit, so noise whose
    spread depends on the parents (heteroscedasticity the basis can describe) does not look
    like a change when the parents' distribution moves. A root's distribution is also
    compared whole (Kolmogorov-Smirnov); a non-root's noise shape is not, because pooled
    residuals mix parent values whose noise differs and would flag unchanged mechanisms.
    """

    def __call__(self, basis, before, after, y_before, y_after) -> ChangeTestResult:  # noqa: D102
        xb = basis.transform(before, len(y_before))
        xa = basis.transform(after, len(y_after))
        design = np.vstack([xb, xa])
        y = np.concatenate([y_before, y_after])
        y = y - y.mean()  # the intercept absorbs it; an offset in the billions would cost digits
        _, _, resid = _rss(design, y)
        # Feasible weighted least squares: noise whose scale follows the parents would make
        # plain F-tests over-reject when the parents' distribution moves.
        weight = 1.0 / _scale_function(design, np.abs(resid))
        xw, yw = design * weight[:, None], y * weight
        _, _, resid = _rss(xw, yw)
        abs_r = np.abs(resid)  # already on the standardised scale
        n_b = len(y_before)
        parts = {
            "mean": _chow_p(xw[:n_b], xw[n_b:], yw[:n_b], yw[n_b:]),
            "scale": _chow_p(xw[:n_b], xw[n_b:], abs_r[:n_b], abs_r[n_b:]),
        }
        if not basis.parents:
            parts["shape"] = _ks_p(y_before, y_after)
        return ChangeTestResult(min(1.0, len(parts) * min(parts.values())), parts)


def _scale_function(design: np.ndarray, abs_resid: np.ndarray) -> np.ndarray:
    """Fitted conditional mean of |residual| (the noise scale), floored to stay positive."""
    coef = least_squares(design, abs_resid)[0]
    fitted = design @ coef
    typical = float(np.mean(abs_resid))
    floor = 0.1 * typical if typical > 0 else 1.0  # relative: data may be in any units
    return np.maximum(fitted, floor)


def _chow_p(xb: np.ndarray, xa: np.ndarray, yb: np.ndarray, ya: np.ndarray) -> float:
    """F-test p-value of separate least-squares fits per period against one pooled fit."""
    rss_b, rank_b, _ = _rss(xb, yb)
    rss_a, rank_a, _ = _rss(xa, ya)
    rss_pooled, rank_p, _ = _rss(np.vstack([xb, xa]), np.concatenate([yb, ya]))
    q = rank_b + rank_a - rank_p
    dof = len(yb) + len(ya) - rank_b - rank_a
    if q <= 0 or dof <= 0:
        return 1.0
    rss_full = rss_b + rss_a
    y = np.concatenate([yb, ya])
    # centred: an offset (timestamps, totals in the billions) must not look like a perfect fit
    scale = max(rss_pooled, float(np.sum((y - y.mean()) ** 2)), 1e-300)
    if rss_full <= 1e-12 * scale:  # both periods fitted exactly: any change is certain
        return 0.0 if rss_pooled > 1e-9 * scale else 1.0
    f = max(rss_pooled - rss_full, 0.0) / q / (rss_full / dof)
    return float(stats.f.sf(f, q, dof))


def _ks_p(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.ks_2samp(a, b, method="asymp").pvalue)


@dataclass(frozen=True)
class CategoricalChangeTest:
    """Chi-square homogeneity test (roots) or likelihood-ratio test of per-period classifiers."""

    def __call__(self, basis, before, after, y_before, y_after) -> ChangeTestResult:  # noqa: D102
        if not basis.parents:
            return ChangeTestResult(_chi2_p(y_before, y_after), {})
        fb, fa = basis.transform(before)[:, 1:], basis.transform(after)[:, 1:]
        ll_b, k_b = _loglik(fb, y_before)
        ll_a, k_a = _loglik(fa, y_after)
        ll_p, k_p = _loglik(np.vstack([fb, fa]), np.concatenate([y_before, y_after]))
        df = k_b + k_a - k_p
        if df <= 0:
            return ChangeTestResult(_chi2_p(y_before, y_after), {})
        lr = max(2.0 * (ll_b + ll_a - ll_p), 0.0)
        p = float(stats.chi2.sf(lr, df))
        return ChangeTestResult(p, {"likelihood": p})


def _chi2_p(a: Sequence[str], b: Sequence[str]) -> float:
    levels = sorted(set(a) | set(b))
    if len(levels) < 2:
        return 1.0
    table = np.array([[np.sum(np.asarray(x) == lv) for lv in levels] for x in (a, b)])
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _loglik(features: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Log-likelihood of a logistic fit and its number of free parameters."""
    classes = sorted(set(y))
    if len(classes) == 1:
        return 0.0, 0
    model = fit_logistic(features, y)
    proba = model.predict_proba(features)
    idx = np.searchsorted(np.asarray(classes, dtype=object), y)
    ll = float(np.sum(np.log(np.clip(proba[np.arange(len(y)), idx], 1e-300, None))))
    return ll, (len(classes) - 1) * (features.shape[1] + 1)


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
