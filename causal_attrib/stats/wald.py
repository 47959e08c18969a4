"""The Wald test that a vector of row products has mean zero: the last step of every
generalised covariance measure here (``check``'s independence tests, ``explain``'s change
tests). The covariance is estimated from the products themselves, so noise whose spread
depends on the conditioning variables keeps the test valid.
"""

from __future__ import annotations

import numpy as np

from ..models.linalg import symmetric_eigen
from .tails import chi2_sf


def wald_statistics(products: np.ndarray, hac_lags: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Wald statistics (and degrees of freedom) that each ``products[g]`` has mean zero.

    ``products`` is (tests, features, rows). The covariance is inverted on its numerically
    non-zero eigenvalues, so collinear features cost degrees of freedom instead of
    exploding; a constant residual gives df 0. With ``hac_lags``, rows are in time order
    and the covariance is Newey-West's over that many lags: products of autocorrelated
    residuals vary more than independent rows would say.
    """
    n = products.shape[2]
    mean = products.mean(axis=2)  # (g, k)
    cov = products @ products.swapaxes(1, 2) / n - mean[:, :, None] * mean[:, None, :]
    if hac_lags:
        centred = products - mean[:, :, None]
        for lag in range(1, min(hac_lags, n - 1) + 1):
            gamma = centred[:, :, lag:] @ centred[:, :, :-lag].swapaxes(1, 2) / n
            cov = cov + (1.0 - lag / (hac_lags + 1.0)) * (gamma + gamma.swapaxes(1, 2))
    scale = np.maximum(np.einsum("gaa->ga", cov).max(axis=1), 1e-300)
    eigval, eigvec = symmetric_eigen(cov / scale[:, None, None])
    top = eigval.max(axis=1, keepdims=True)
    keep = (eigval > 1e-10 * top) & (top > 1e-12)
    proj = np.einsum("gak,ga->gk", eigvec, mean / np.sqrt(scale)[:, None])
    safe = np.where(keep, eigval, 1.0)
    stat = n * np.sum(np.where(keep, proj**2 / safe, 0.0), axis=1)
    return stat, keep.sum(axis=1)


def wald_p(products: np.ndarray, hac_lags: int = 0) -> float:
    """P-value that the rows x features ``products`` have mean zero (1 without any
    direction left to test); ``hac_lags`` as in :func:`wald_statistics`."""
    stat, df = wald_statistics(products.T[None], hac_lags)
    return float(chi2_sf(stat[0], df[0])) if df[0] > 0 else 1.0


def newey_west_lags(n_rows: int) -> int:
    """Newey and West's (1994) rule for the lags of a HAC covariance: 4 (n/100)^(2/9)."""
    return int(4 * (n_rows / 100.0) ** (2.0 / 9.0))
