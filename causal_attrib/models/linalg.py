"""The one least-squares solver every fit and test uses.

Normal equations of unit-norm columns, inverted on the eigenvalues above 1e-10 of the
largest: a rank-deficient design (a constant parent, a knot beyond one period's data) loses
those directions as with an SVD, several times faster than ``numpy.linalg.lstsq`` on the tall
designs that dominate this tool's run time.
"""

from __future__ import annotations

import numpy as np


def least_squares(design: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, int]:
    """Minimum-norm least-squares coefficients of ``y`` on ``design``, and the design's rank
    (accurate because :class:`~causal_attrib.models.bases.Basis` standardises its columns)."""
    return solve_normal(design.T @ design, design.T @ y)


def solve_normal(gram: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, int]:
    """Least squares from the normal equations ``gram @ coef = rhs``, and the rank kept.

    Callers that fit several responses on one design (or a design and its parts) compute the
    Gram matrix once and pass it here, since it is the costly ``rows x features^2`` step.
    """
    norms = np.sqrt(np.diag(gram)).copy()
    norms[norms == 0] = 1.0
    v, kept = kept_eigen(gram / np.outer(norms, norms))
    if not kept.size:
        return np.zeros_like(rhs), 0
    return (v @ ((v.T @ (rhs / norms)) / kept)) / norms, int(kept.size)


def residualise(design: np.ndarray, targets: np.ndarray, work: np.ndarray) -> None:
    """Replace the rows of ``targets`` by their residuals from a least-squares fit on the
    rows of ``design`` (both laid out features x rows, as the independence tests keep
    them; ``work``: scratch shaped like ``targets``).

    The same solve as :func:`solve_normal`, arranged for many responses at once: the
    pseudo-inverse of the unit-norm Gram matrix is formed once and applied to all of them.
    """
    norms = np.sqrt(np.einsum("pn,pn->p", design, design))
    norms[norms == 0] = 1.0
    scaled = design / norms[:, None]
    v, kept = kept_eigen(scaled @ scaled.T)
    coef = ((v / kept) @ v.T) @ (scaled @ targets.T)
    np.matmul(coef.T, scaled, out=work)
    targets -= work


def kept_eigen(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors and eigenvalues of a unit-norm Gram matrix, without the directions
    whose eigenvalue is at most 1e-10 of the largest (the design's null space).

    Entries that are not finite (a product that overflowed) make their directions null.
    If LAPACK's divide-and-conquer eigensolver does not converge (it can on real data with
    a wide dynamic range), the decomposition falls back to an SVD, then to the slower but
    more robust QR-iteration drivers: a fit never ends in a ``LinAlgError``.
    """
    gram = finite_gram(gram)
    eigval, eigvec = symmetric_eigen(gram)
    if not eigval.size:
        return eigvec, eigval
    keep = eigval > 1e-10 * max(float(eigval.max()), 0.0)
    return eigvec[:, keep], eigval[keep]


def finite_gram(gram: np.ndarray) -> np.ndarray:
    """The Gram matrix with the rows and columns of non-finite entries zeroed (their
    directions become null instead of poisoning the whole decomposition)."""
    bad = ~np.isfinite(gram)
    if not bad.any():
        return gram
    dead = bad.any(axis=0)
    gram = np.where(bad, 0.0, gram)
    gram[dead, :] = 0.0
    gram[:, dead] = 0.0
    return gram


def symmetric_eigen(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of a symmetric positive semi-definite
    matrix, by the first of LAPACK's routines that converges (in order: fast to robust).
    A stack of matrices is decomposed whole when it can be, else one by one."""
    if gram.ndim == 3:
        try:
            return np.linalg.eigh(gram)
        except np.linalg.LinAlgError:
            parts = [symmetric_eigen(g) for g in gram]
            return np.stack([v for v, _ in parts]), np.stack([u for _, u in parts])
    from scipy import linalg

    try:
        return np.linalg.eigh(gram)
    except np.linalg.LinAlgError:
        pass
    for driver in ("gesdd", "gesvd"):
        try:  # for a symmetric PSD matrix the SVD is its eigen-decomposition
            u, s, _ = linalg.svd(gram, lapack_driver=driver, check_finite=False)
            return s[::-1], u[:, ::-1]
        except (np.linalg.LinAlgError, ValueError):
            continue
    return linalg.eigh(gram, driver="ev", check_finite=False)


class CrossFit:
    """K-fold cross-fitted least squares on one design: each row's fit comes from the other
    folds, so residuals carry no overfitting (what the generalised covariance measure
    needs). Each fold's solver is the full normal equations minus the fold's own, formed
    once and applied to every response.
    """

    def __init__(self, design: np.ndarray, folds: int = 5):
        self.design, self.folds = design, folds
        blocks = [design[k::folds] for k in range(folds)]
        grams = [finite_gram(b.T @ b) for b in blocks]
        total = sum(grams)
        self._solvers = [_pseudo_inverse(total - g) for g in grams]

    def residuals(self, targets: np.ndarray) -> np.ndarray:
        """Cross-fitted residuals of ``targets`` (rows, or rows x responses)."""
        x, k = self.design, self.folds
        rhs_total = x.T @ targets
        out = np.empty_like(targets, dtype=float)
        for fold, solver in enumerate(self._solvers):
            xk, yk = x[fold::k], targets[fold::k]
            coef = solver @ (rhs_total - xk.T @ yk)
            out[fold::k] = yk - xk @ coef
        return out


def _pseudo_inverse(gram: np.ndarray) -> np.ndarray:
    """Pseudo-inverse of a Gram matrix on its kept eigen-directions (unit-norm columns)."""
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    norms[norms == 0] = 1.0
    v, kept = kept_eigen(gram / np.outer(norms, norms))
    return ((v / kept) @ v.T) / np.outer(norms, norms)
