"""Categorical mechanisms P(node | parents) whose parents may interact.

Discrete systems (a plan, a region, an error class, a yes/no flag) are full of tables
whose parents interact: the chance of a failure depends on *which* pair of settings a row
has, not on a sum of one effect per setting. A logistic model with additive parents misfits
such tables, and the misfit looks like a change when the parents' mix moves.

:class:`TableMechanism` is a conditional probability table over parent configurations
(categorical parents' levels, continuous parents cut at quantiles), shrunk towards a
regularised multinomial logistic model on the node's feature basis:

    P(y | cell, x) = (count(cell, y) + s * softmax(basis(x) @ W)[y]) / (count(cell) + s)

A well-populated cell speaks for itself; a sparse or unseen one borrows from the smooth
model, and continuous parents keep their effect within a cell through it. The pseudo-count
``s`` (0: the table alone, infinite: the logistic model alone) is chosen by K-fold
cross-validated log-loss, as :class:`~causal_attrib.models.bases.AutoModels` chooses a
numeric family. Every field is an array, a number, text or a tuple or mapping of those
(saved models need no pickled estimators).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import optimize

from .bases import Basis, Data, rows_of

STRENGTHS = (0.0, 0.5, 2.0, 8.0, 32.0, 128.0, float("inf"))
"""Candidate pseudo-counts of the smooth model: the table alone to the logistic alone."""

MIN_GAIN = 0.002
"""Relative cross-validated log-loss a table must gain over the logistic model."""

FOLDS = 5
PENALTY = 1.0
"""Ridge penalty of the logistic model's slopes (a Gaussian prior of variance 1 on
standardised features: irrelevant at thousands of rows, finite when a level separates)."""

FLOOR = 1e-12
"""Least probability scored (a held-out level the training folds never saw)."""


@dataclass(frozen=True)
class Cells:
    """How rows map to parent configurations: each categorical parent's levels (a level not
    among them gets its own slot), each continuous parent's bin edges."""

    parents: tuple[str, ...]
    levels: Mapping[str, tuple[str, ...]]
    edges: Mapping[str, tuple[float, ...]]

    @classmethod
    def fit(
        cls, parents: Sequence[str], data: Data, levels: Mapping[str, tuple[str, ...]], bins: int
    ) -> Cells:
        """Cells from these levels and ``bins`` quantile bins of each continuous parent."""
        qs = np.arange(1, bins) / bins
        edges = {}
        for p in parents:
            if p in levels:
                continue
            x = np.asarray(data[p], dtype=float)
            edges[p] = tuple(float(e) for e in np.unique(np.quantile(x, qs))) if x.size else ()
        return cls(tuple(parents), dict(levels), edges)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Codes per parent (levels plus one for an unseen level; bins)."""
        return tuple(
            len(self.levels[p]) + 1 if p in self.levels else len(self.edges[p]) + 1
            for p in self.parents
        )

    @property
    def countable(self) -> bool:
        """Whether every configuration has its own 63-bit code."""
        return float(np.prod([float(s) for s in self.sizes])) < 2.0**62

    def codes(self, data: Data, n_rows: int | None = None) -> np.ndarray:
        """One integer per row naming its configuration (mixed radix over the parents)."""
        n = rows_of(data) if n_rows is None else n_rows
        out = np.zeros(n, dtype=np.int64)
        for p, size in zip(self.parents, self.sizes, strict=True):
            out *= size
            out += self.code_of(p, data[p])
        return out

    def code_of(self, parent: str, x: np.ndarray) -> np.ndarray:
        """One parent's code per row: its level's index (unseen: the extra slot), or bin."""
        if parent in self.levels:
            levels = self.levels[parent]
            lookup = {level: k for k, level in enumerate(levels)}
            return np.fromiter((lookup.get(v, len(levels)) for v in x), np.int64, len(x))
        edges = np.asarray(self.edges[parent], dtype=float)
        return np.searchsorted(edges, np.asarray(x, dtype=float), side="right").astype(np.int64)


def cell_bins(n_rows: int) -> int:
    """Quantile bins per continuous parent: more with more rows (3 to 8)."""
    return int(min(8, max(3, round(0.5 * n_rows ** (1 / 3)))))


@dataclass(frozen=True)
class SoftmaxModel:
    """A multinomial logistic model: ``coef`` is features x classes (column 0 of the design
    is the intercept); classes the model never saw get probability 0."""

    coef: np.ndarray

    def proba(self, design: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per design row."""
        return softmax(design @ self.coef)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax, stable for large scores."""
    z = z - z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def fit_softmax(design: np.ndarray, y: np.ndarray, n_classes: int) -> SoftmaxModel:
    """Penalised maximum likelihood (L-BFGS); ``y`` holds class indices."""
    n, k = design.shape
    onehot = np.zeros((n, n_classes))
    onehot[np.arange(n), y] = 1.0
    free = np.ones((k, n_classes))
    free[0] = 0.0  # the intercept is not penalised
    start = np.zeros((k, n_classes))
    start[0] = np.log((onehot.sum(axis=0) + 0.5) / (n + 0.5 * n_classes))

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        coef = flat.reshape(k, n_classes)
        z = design @ coef
        z -= z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        value = float(np.sum(log_norm) - np.sum(z * onehot))
        grad = design.T @ (np.exp(z - log_norm[:, None]) - onehot)
        value += 0.5 * PENALTY * float(np.sum(free * coef**2))
        return value, (grad + PENALTY * free * coef).ravel()

    fit = optimize.minimize(
        loss, start.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": 300}
    )
    return SoftmaxModel(np.asarray(fit.x).reshape(k, n_classes))


@dataclass(frozen=True)
class LevelNoise:
    """A categorical node's noise in one row: the interval of uniforms that gives its level
    (``low`` is ``None`` for a level the mechanism never saw). The classifier of
    :mod:`causal_attrib.models.mechanisms` gives the same."""

    level: str
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class TableMechanism:
    """A categorical node with parents: a conditional table over parent configurations,
    shrunk towards a logistic model by ``strength`` pseudo-counts (see the module notes)."""

    basis: Basis
    classes: tuple[str, ...]
    cells: Cells
    keys: np.ndarray
    """Sorted configuration codes seen in training."""
    counts: np.ndarray
    """Rows per seen configuration (``keys`` order) and class (``classes`` order)."""
    prior: SoftmaxModel
    strength: float
    decomposable: ClassVar[bool] = False  # probabilities do not add up per parent
    noise_values: ClassVar[None] = None  # its noise is a uniform: nothing fitted to score

    @property
    def label(self) -> str:
        """Human-readable model name."""
        if self.strength == 0.0:
            return "classifier (conditional table)"
        if np.isinf(self.strength):
            return f"classifier (logistic, {self.basis.family})"
        return f"classifier (table smoothed by {self.strength:g} counts)"

    @classmethod
    def fit(cls, basis: Basis, data: Data, y: np.ndarray) -> TableMechanism:
        """Fit the table and the logistic model, and choose the strength by K-fold
        cross-validated log-loss (the logistic alone unless a table gains ``MIN_GAIN``)."""
        classes = tuple(sorted(set(y)))
        index = np.searchsorted(np.asarray(classes, dtype=object), np.asarray(y, dtype=object))
        n = len(index)
        cells = Cells.fit(basis.parents, data, basis.levels, cell_bins(n))
        design = basis.transform(data, n)
        codes = cells.codes(data, n) if cells.countable else np.zeros(n, dtype=np.int64)
        strength = float("inf")
        if len(classes) > 1 and cells.countable and n >= 4 * FOLDS:
            strength = _choose_strength(design, codes, index, len(classes))
        keys, counts = _count(codes, index, len(classes))
        prior = fit_softmax(design, index, len(classes)) if len(classes) > 1 else None
        prior = prior or SoftmaxModel(np.zeros((design.shape[1], 1)))
        return cls(basis, classes, cells, keys, counts, prior, strength)

    def proba(self, data: Data) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order."""
        n = rows_of(data)
        smooth = self.prior.proba(self.basis.transform(data, n))
        if np.isinf(self.strength) or not self.cells.countable:
            return smooth
        return _blend(self.cells.codes(data, n), smooth, self.keys, self.counts, self.strength)

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF draw of a class for each row."""
        return draw(self.proba(data), self.classes, u)

    def noise_of(self, data: Data, y: np.ndarray) -> list[LevelNoise]:
        """Per row, the interval of uniforms that reproduces the observed level."""
        return level_intervals(self.proba(data), self.classes, y)

    def sample_with_noise(self, data: Data, noise: LevelNoise, u: np.ndarray) -> np.ndarray:
        """Draws inside the noise's interval, so new parents can still change the level."""
        if noise.low is None:
            return np.full(len(u), noise.level, dtype=object)
        return self.sample(data, noise.low + (noise.high - noise.low) * u)

    def typical(self, data: Data) -> str:
        """The most likely level given the parents."""
        return self.classes[int(np.argmax(self.proba(data)[0]))]

    def log_likelihood(self, data: Data, y: np.ndarray) -> np.ndarray:
        """Log probability of each observed level (a level never seen: a tiny floor)."""
        return level_log_likelihood(self.proba(data), self.classes, y)


def level_log_likelihood(proba: np.ndarray, classes: tuple[str, ...], y) -> np.ndarray:
    """Per row, the log of the probability given to the observed level (a level never seen
    gets a tiny floor), for every categorical mechanism."""
    index = {c: i for i, c in enumerate(classes)}
    out = np.full(len(y), np.log(1e-12))
    for r, level in enumerate(y):
        k = index.get(level)
        if k is not None:
            out[r] = np.log(max(float(proba[r, k]), 1e-12))
    return out


def draw(proba: np.ndarray, classes: tuple[str, ...], u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: uniform ``u`` per row selects a class from that row's probabilities."""
    cum = np.cumsum(proba, axis=1)
    idx = np.minimum((u[:, None] >= cum).sum(axis=1), len(classes) - 1)
    return np.asarray(classes, dtype=object)[idx]


def level_intervals(
    proba: np.ndarray, classes: tuple[str, ...], y: np.ndarray
) -> list[LevelNoise]:
    """Per row, the interval of uniforms whose draw is the observed level (the
    counterfactual noise of an inverse-CDF draw); an unseen level keeps only the level."""
    out = []
    position = {c: k for k, c in enumerate(classes)}
    for row, level in zip(proba, y, strict=True):
        k = position.get(level)
        if k is None:
            out.append(LevelNoise(level))
            continue
        low = float(np.sum(row[:k]))
        out.append(LevelNoise(level, low, low + float(row[k])))
    return out


def _count(codes: np.ndarray, index: np.ndarray, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Seen configurations (sorted) and their rows per class."""
    keys, where = np.unique(codes, return_inverse=True)
    counts = np.zeros((len(keys), n_classes))
    np.add.at(counts, (where, index), 1.0)
    return keys, counts


def _blend(
    codes: np.ndarray, smooth: np.ndarray, keys: np.ndarray, counts: np.ndarray, strength: float
) -> np.ndarray:
    """``(count + strength * smooth) / (total + strength)`` per row; an unseen
    configuration (or a table alone, ``strength`` 0, in one) is the smooth model."""
    pos = np.minimum(np.searchsorted(keys, codes), max(len(keys) - 1, 0))
    seen = keys[pos] == codes if len(keys) else np.zeros(len(codes), bool)
    cell = np.where(seen[:, None], counts[pos], 0.0) if len(keys) else np.zeros_like(smooth)
    total = cell.sum(axis=1, keepdims=True)
    if strength == 0.0:
        return np.where(total > 0, cell / np.maximum(total, 1.0), smooth)
    return (cell + strength * smooth) / (total + strength)


def _choose_strength(design: np.ndarray, codes: np.ndarray, index: np.ndarray, k: int) -> float:
    """The pseudo-count with the least K-fold log-loss (rows split every K-th)."""
    n = len(index)
    losses = np.zeros(len(STRENGTHS))
    for fold in range(FOLDS):
        test = np.zeros(n, dtype=bool)
        test[fold::FOLDS] = True
        train = ~test
        prior = fit_softmax(design[train], index[train], k)
        smooth = prior.proba(design[test])
        keys, counts = _count(codes[train], index[train], k)
        rows = np.arange(int(test.sum()))
        for j, strength in enumerate(STRENGTHS):
            proba = (
                smooth
                if np.isinf(strength)
                else _blend(codes[test], smooth, keys, counts, strength)
            )
            losses[j] -= float(np.sum(np.log(np.maximum(proba[rows, index[test]], FLOOR))))
    logistic = losses[-1]
    best = int(np.argmin(losses))
    if losses[best] < logistic * (1.0 - MIN_GAIN):
        return STRENGTHS[best]
    return STRENGTHS[-1]


def with_new_parent_levels(
    parents: Sequence[str],
    categorical: frozenset[str] | set[str],
    before: Data,
    y_before: np.ndarray,
    after: Data,
    y_after: np.ndarray,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The before rows, plus the after rows in which a categorical parent holds a level the
    before data never had.

    A node's old mechanism has never seen its parent at a new level, so it cannot say what
    the node does there; left alone it would treat the level like another, and the parent's
    change (the new level) would be credited to the node. The only evidence of the node's
    behaviour at the new level is the after data, so the old mechanism takes it from there:
    the new level's effect downstream is then the parent's change.
    """
    new = np.zeros(len(y_after), dtype=bool)
    for p in parents:
        if p in categorical:
            seen = set(before[p])
            new |= np.fromiter((v not in seen for v in after[p]), bool, len(y_after))
    data = {p: np.asarray(before[p]) for p in parents}
    if not new.any():
        return data, np.asarray(y_before)
    data = {p: np.concatenate([data[p], np.asarray(after[p])[new]]) for p in parents}
    return data, np.concatenate([np.asarray(y_before), np.asarray(y_after)[new]])
