"""How far two periods' parents share a range: where they do not, a verdict on the node's
mechanism rests on extrapolation, whatever test or model made it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

TAIL = 0.005
"""Share of each tail of the reference period left out of its range (outliers do not
stretch it)."""

LOW_OVERLAP = 0.9
"""Below this overlap, a node's flag and the contributions through it are marked as resting
on extrapolation."""


def inside_share(
    reference: Mapping[str, np.ndarray],
    other: Mapping[str, np.ndarray],
    parents: Sequence[str],
    categorical: frozenset[str],
) -> float:
    """Share of ``other``'s rows whose every parent lies in ``reference``'s range (see
    :func:`inside`)."""
    mask = inside(reference, other, parents, categorical)
    return float(np.mean(mask)) if mask.size else 1.0


def inside(
    reference: Mapping[str, np.ndarray],
    other: Mapping[str, np.ndarray],
    parents: Sequence[str],
    categorical: frozenset[str],
) -> np.ndarray:
    """Which of ``other``'s rows have every parent in ``reference``'s range: the central
    ``1 - 2 * TAIL`` of a continuous parent, the levels seen for a categorical one."""
    rows = len(next(iter(other.values()))) if other else 0
    mask = np.ones(rows, dtype=bool)
    for p in parents:
        ref, values = reference[p], other[p]
        if p in categorical:
            mask &= np.isin(values, np.unique(ref))
            continue
        lo, hi = _range(ref)
        mask &= (values >= lo) & (values <= hi)
    return mask


def common_range(
    before: Mapping[str, np.ndarray], after: Mapping[str, np.ndarray], parents: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of each period have every (continuous) parent inside the intersection of
    both periods' ranges: the one box where the two periods can be compared."""
    masks = [np.ones(len(next(iter(d.values()))), dtype=bool) for d in (before, after)]
    for p in parents:
        (lo_b, hi_b), (lo_a, hi_a) = _range(before[p]), _range(after[p])
        lo, hi = max(lo_b, lo_a), min(hi_b, hi_a)
        for mask, values in zip(masks, (before[p], after[p]), strict=True):
            mask &= (values >= lo) & (values <= hi)
    return masks[0], masks[1]


def _range(values: np.ndarray) -> tuple[float, float]:
    """The central ``1 - 2 * TAIL`` of a continuous column."""
    lo, hi = np.quantile(np.asarray(values, dtype=float), [TAIL, 1.0 - TAIL])
    return float(lo), float(hi)


def parent_overlap(
    before: Mapping[str, np.ndarray],
    after: Mapping[str, np.ndarray],
    parents: Sequence[str],
    categorical: frozenset[str],
) -> float | None:
    """The smaller of the two directions' :func:`inside_share` (after rows in the before
    range: the old mechanism extrapolates; and the reverse); ``None`` for a root."""
    if not parents:
        return None
    return min(
        inside_share(before, after, parents, categorical),
        inside_share(after, before, parents, categorical),
    )
