"""Causal mechanisms P(node | parents): fitting, sampling, and the noise behind a value.

Every continuous non-root node gets an additive-noise model ``y = f(parents) + noise`` on a
feature basis (:mod:`causal_attrib.models.bases`). Categorical nodes get a multinomial
logistic classifier on the same basis, or a conditional table shrunk towards it
(:mod:`causal_attrib.models.categorical`), whichever cross-validates best; roots their
empirical distribution.

Sampling takes uniforms ``u`` instead of drawing its own randomness, so that callers can use
the same draws for every intervention (common random numbers) and stay deterministic. Every
mechanism also gives its noise (:meth:`noise_of`, as ``dowhy.gcm``'s ``estimate_noise``) and
samples with a given noise (:meth:`sample_with_noise`), which is what anomaly attribution
needs: the same node, with the luck it had in an anomalous row.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from .bases import Basis, Data, rows_of
from .categorical import LevelNoise, level_log_likelihood
from .linalg import least_squares


def pick(sorted_values: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Quantile coupling: uniform ``u`` selects from sorted values, so equal ``u`` map to
    the same rank in old and new distributions (low-variance comparisons)."""
    idx = np.minimum((u * len(sorted_values)).astype(np.int64), len(sorted_values) - 1)
    return sorted_values[idx]


@dataclass(frozen=True)
class EmpiricalMechanism:
    """A root node: its observed values, resampled."""

    values: np.ndarray
    label: str = "empirical"
    decomposable: ClassVar[bool] = False  # no parents: nothing to add up

    @classmethod
    def fit(cls, y: np.ndarray) -> EmpiricalMechanism:
        """Store the sorted observations."""
        return cls(np.sort(y))

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """Draw values for uniforms ``u`` (parents are ignored: a root has none)."""
        return pick(self.values, u)

    @property
    def noise_values(self) -> np.ndarray:
        """The noise distribution sampled from: a root's observed values."""
        return self.values

    def noise_of(self, data: Data, y: np.ndarray) -> np.ndarray:
        """A root's noise is its value."""
        return np.asarray(y)

    def sample_with_noise(self, data: Data, noise, u: np.ndarray) -> np.ndarray:
        """The value ``noise`` for every draw."""
        return np.full(len(u), noise, dtype=object if isinstance(noise, str) else float)

    @property
    def basis(self) -> Basis:
        """A root reads nothing: a basis without parents."""
        return Basis(())

    def log_likelihood(self, data: Data, y: np.ndarray) -> np.ndarray:
        """Log frequency of a level, or normal log density around the median of a value."""
        if self.values.dtype == object:
            return level_log_probability(self.values, np.asarray(y))
        y = np.asarray(y, dtype=float)
        return gaussian_log_density(y - np.median(self.values), self.values)

    def typical(self, data: Data):
        """The median value (the most common level, ties alphabetical, for text)."""
        if self.values.dtype != object:
            return float(np.median(self.values))
        levels, counts = np.unique(self.values.astype(str), return_counts=True)
        return str(levels[int(np.argmax(counts))])


@dataclass(frozen=True)
class AdditiveNoiseMechanism:
    """``y = basis(parents) @ coef + noise``, noise from the empirical residuals."""

    basis: Basis
    coef: np.ndarray
    residuals: np.ndarray

    @property
    def label(self) -> str:
        """Human-readable model name, e.g. ``additive noise (spline)``."""
        return f"additive noise ({self.basis.family})"

    @classmethod
    def fit(
        cls, basis: Basis, data: Data, y: np.ndarray, noise_rows: np.ndarray | None = None
    ) -> AdditiveNoiseMechanism:
        """Least-squares fit (minimum-norm when features are collinear).

        ``noise_rows`` (a boolean mask) chooses the rows whose residuals make the noise
        distribution, e.g. the reference rows of a fit on reference and anomalous rows;
        with fewer than two of them, every row's residual is used.
        """
        design = basis.transform(data)
        coef = least_squares(design, y)[0]
        residuals = y - design @ coef
        if noise_rows is not None and np.count_nonzero(noise_rows) >= 2:
            residuals = residuals[noise_rows]
        return cls(basis, coef, np.sort(residuals))

    def predict(self, data: Data) -> np.ndarray:
        """The conditional mean f(parents)."""
        return self.basis.transform(data) @ self.coef

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """f(parents) plus the residual that ``u`` selects."""
        return self.predict(data) + self.noise_sample(u)

    def noise_sample(self, u: np.ndarray) -> np.ndarray:
        """The residuals that uniforms ``u`` select."""
        return pick(self.residuals, u)

    @property
    def noise_values(self) -> np.ndarray:
        """The noise distribution sampled from: the fit's residuals."""
        return self.residuals

    def noise_of(self, data: Data, y: np.ndarray) -> np.ndarray:
        """The residuals of observed values: what was new at the node."""
        return np.asarray(y, dtype=float) - self.predict(data)

    def sample_with_noise(self, data: Data, noise: float, u: np.ndarray) -> np.ndarray:
        """f(parents) plus the given residual, for every draw."""
        return self.predict(data) + noise

    def log_likelihood(self, data: Data, y: np.ndarray) -> np.ndarray:
        """Normal log density of the residuals, with the fitted noise's spread."""
        return gaussian_log_density(self.noise_of(data, y), self.residuals)

    def typical(self, data: Data) -> float:
        """f(parents) plus the median residual."""
        return float(self.predict(data)[0] + np.median(self.residuals))

    def term(self, parent: str, x: np.ndarray) -> np.ndarray:
        """One parent's additive part of the prediction (see :meth:`Basis.term`)."""
        return self.basis.term(parent, x, self.coef[self.slices[parent]])

    @functools.cached_property
    def slices(self) -> dict[str, slice]:
        """Which coefficients belong to each parent (computed once: simulations ask often)."""
        return self.basis.slices()

    decomposable: ClassVar[bool] = True
    """The prediction is a sum of one :meth:`term` per parent and one
    :meth:`interaction_term` per pair of parents with a part of their own."""

    @functools.cached_property
    def interactions(self) -> tuple[tuple[str, str], ...]:
        """The pairs of parents with a part of their own (see :meth:`Basis.interactions`)."""
        return self.basis.interactions

    def interaction_term(self, pair: tuple[str, str], xa: np.ndarray, xb: np.ndarray) -> np.ndarray:
        """One pair's part of the prediction: its hinges (:meth:`Basis.pair_term`), its
        product (:meth:`Basis.product_term`), or both."""
        hinges = self.pair_slices.get(pair)
        product = self.product_columns.get(pair)
        if hinges is None:
            return self.basis.product_term(pair, xa, xb, self.coef[product])
        out = self.basis.pair_term(pair, xa, xb, self.coef[hinges])
        if product is not None:
            out += self.basis.product_term(pair, xa, xb, self.coef[product])
        return out

    @functools.cached_property
    def pair_slices(self) -> dict[tuple[str, str], slice]:
        """Which coefficients belong to each pair's hinges (computed once)."""
        return self.basis.pair_slices()

    @functools.cached_property
    def product_columns(self) -> dict[tuple[str, str], int]:
        """Which coefficient belongs to each product (computed once)."""
        return self.basis.product_columns()


@dataclass(frozen=True)
class ClassifierMechanism:
    """A categorical node with parents: multinomial logistic regression on the basis."""

    basis: Basis
    classes: tuple[str, ...]
    model: LogisticModel | None = field(repr=False)
    decomposable: ClassVar[bool] = False  # probabilities do not add up per parent

    @property
    def label(self) -> str:
        """Human-readable model name."""
        return f"classifier (logistic, {self.basis.family})"

    @classmethod
    def fit(cls, basis: Basis, data: Data, y: np.ndarray) -> ClassifierMechanism:
        """Fit a (lightly regularised) logistic regression; one class is stored as constant."""
        classes = tuple(sorted(set(y)))
        if len(classes) == 1:
            return cls(basis, classes, None)
        return cls(basis, classes, fit_logistic(basis.transform(data)[:, 1:], y))

    def proba(self, data: Data) -> np.ndarray:
        """Class probabilities, columns in ``classes`` order."""
        if self.model is None:
            return np.ones((rows_of(data), 1))
        return self.model.predict_proba(self.basis.transform(data)[:, 1:])

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """Inverse-CDF draw of a class for each row."""
        cum = np.cumsum(self.proba(data), axis=1)
        idx = np.minimum((u[:, None] >= cum).sum(axis=1), len(self.classes) - 1)
        return np.asarray(self.classes, dtype=object)[idx]

    noise_values: ClassVar[None] = None  # its noise is a uniform: nothing fitted to score

    def noise_of(self, data: Data, y: np.ndarray) -> list[LevelNoise]:
        """Per row, the interval of uniforms that reproduces the observed level (the
        counterfactual noise of an inverse-CDF draw); a level the classifier never saw
        keeps only the level."""
        out = []
        for proba, level in zip(self.proba(data), y, strict=True):
            if level not in self.classes:
                out.append(LevelNoise(level))
                continue
            k = self.classes.index(level)
            cum = np.concatenate([[0.0], np.cumsum(proba)])
            out.append(LevelNoise(level, float(cum[k]), float(cum[k + 1])))
        return out

    def sample_with_noise(self, data: Data, noise: LevelNoise, u: np.ndarray) -> np.ndarray:
        """Draws inside the noise's interval, so new parents can still change the level."""
        if noise.low is None:
            return np.full(len(u), noise.level, dtype=object)
        return self.sample(data, noise.low + (noise.high - noise.low) * u)

    def log_likelihood(self, data: Data, y: np.ndarray) -> np.ndarray:
        """Log probability of each observed level (a level never seen: a tiny floor)."""
        return level_log_likelihood(self.proba(data), self.classes, y)

    def typical(self, data: Data) -> str:
        """The most likely level given the parents."""
        return self.classes[int(np.argmax(self.proba(data)[0]))]


@dataclass(frozen=True)
class LogisticModel:
    """A fitted multinomial logistic regression, held as plain arrays (what a saved model
    stores): standardisation ``mean``/``scale``, then ``coef``/``intercept`` (one row per
    class, or one row for two classes, as scikit-learn fits them). It takes designs without
    columns too (a node whose parents give no features)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in sorted class order."""
        z = ((_some_column(features) - self.mean) / self.scale) @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # two classes: one logit
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)


def _some_column(features: np.ndarray) -> np.ndarray:
    return features if features.shape[1] else np.zeros((features.shape[0], 1))


def fit_logistic(features: np.ndarray, y: np.ndarray) -> LogisticModel:
    """A multinomial logistic regression close to the unpenalised MLE (sklearn, lazily); the
    fitted arrays are copied out, so the model holds no scikit-learn object."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = _some_column(features)
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=100.0, max_iter=2000).fit(scaler.transform(x), y)
    return LogisticModel(
        np.asarray(scaler.mean_, dtype=float),
        np.asarray(scaler.scale_, dtype=float),
        np.asarray(model.coef_, dtype=float),
        np.asarray(model.intercept_, dtype=float),
    )


@runtime_checkable
class Mechanism(Protocol):
    """What every fitted mechanism P(node | parents) gives, whatever its family.

    Analyses ask only these questions, so a new family (a conditional table, a boosted
    classifier) works everywhere once it answers them. Fields hold only arrays, numbers,
    strings and nested frozen dataclasses of the same, so that a fitted model can be saved
    without pickling (:mod:`causal_attrib.models.saving`).
    """

    label: str
    """Human-readable model name, e.g. ``additive noise (spline)``."""
    decomposable: bool
    """Whether the prediction is a sum of one term per parent and per pair of parents."""
    basis: Basis
    """The features it reads: its parents, as a feature basis (no parents for a root)."""
    noise_values: np.ndarray | None
    """The fitted noise distribution (``None`` where the noise is a uniform)."""

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """Values for the parents' ``data`` and uniforms ``u`` (the draws' randomness)."""

    def noise_of(self, data: Data, y: np.ndarray) -> Any:
        """The noise behind observed values ``y`` (per row)."""

    def sample_with_noise(self, data: Data, noise: Any, u: np.ndarray) -> np.ndarray:
        """Values for the parents' ``data`` with the noise pinned to ``noise``."""

    def typical(self, data: Data) -> Any:
        """A typical value for one row of parents."""

    def log_likelihood(self, data: Data, y: np.ndarray) -> np.ndarray:
        """Per row, the log density (or probability) of ``y`` given the parents."""


def gaussian_log_density(residuals: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Log density of ``residuals`` under a normal with the noise's standard deviation: a
    smooth, comparable likelihood for empirical noise (a floor keeps constants finite)."""
    sd = max(float(np.std(spread)), 1e-12 * max(1.0, float(np.max(np.abs(spread), initial=0))))
    return -0.5 * (residuals / sd) ** 2 - np.log(sd) - 0.5 * np.log(2 * np.pi)


def level_log_probability(values: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Log frequency of each ``y`` among ``values`` (a level never seen: log of half a count)."""
    levels, counts = np.unique(values.astype(str), return_counts=True)
    freq = dict(zip(levels.tolist(), (counts / counts.sum()).tolist(), strict=True))
    floor = 0.5 / max(1, len(values))
    return np.log([freq.get(str(v), floor) for v in y])


@dataclass(frozen=True)
class FixedNoise:
    """A mechanism whose noise is pinned to one row's (:meth:`noise_of`): the counterfactual
    "same node, same luck, other parents"."""

    mechanism: Mechanism
    noise: object

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        """Values for each draw, with the noise fixed."""
        return self.mechanism.sample_with_noise(data, self.noise, u)
