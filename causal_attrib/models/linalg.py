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
    whose eigenvalue is at most 1e-10 of the largest (the design's null space)."""
    eigval, eigvec = np.linalg.eigh(gram)
    if not eigval.size:
        return eigvec, eigval
    keep = eigval > 1e-10 * max(float(eigval.max()), 0.0)
    return eigvec[:, keep], eigval[keep]
