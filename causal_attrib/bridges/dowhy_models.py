"""Our fits as DoWhy prediction models (imports DoWhy: load it through
:mod:`causal_attrib.bridges.dowhy`, which says when the extra is missing).

DoWhy hands a mechanism its parents as one array, columns in sorted parent order (as
ours); these adapters give the columns their names back, build our basis on them and fit
with our solver, so a DoWhy model gets our fast fits that extrapolate linearly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from dowhy.gcm.ml.classification import ClassificationModel
from dowhy.gcm.ml.prediction_model import PredictionModel

from ..models.bases import ANOMALY_MODELS, ModelFamily
from ..models.fitting import fit_node


def _columns(x: np.ndarray, parents: Sequence[str], categorical: frozenset[str]) -> dict:
    x = np.asarray(x)
    x = x.reshape(len(x), -1)
    return {
        p: x[:, j].astype(object) if p in categorical else x[:, j].astype(float)
        for j, p in enumerate(parents)
    }


class _OurFit:
    """What both adapters share: our model family and parents, the mechanism once fitted,
    and building one around a mechanism fitted before (a saved model's)."""

    def __init__(self, models: ModelFamily, parents: Sequence[str], categorical: frozenset[str]):
        self.models, self.parents, self.categorical = models, tuple(parents), categorical
        self.mechanism = None

    @classmethod
    def fitted(cls, mechanism, categorical: frozenset[str]):
        """An adapter holding ``mechanism`` as it is, not fitted again."""
        out = cls(ANOMALY_MODELS, mechanism.basis.parents, categorical)
        out.mechanism = mechanism
        return out

    def clone(self):
        """An unfitted copy with the same settings."""
        return type(self)(self.models, self.parents, self.categorical)


class BasisRegressor(_OurFit, PredictionModel):
    """``f(parents)`` of an additive-noise mechanism, fitted on our feature basis."""

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:  # noqa: N803 (DoWhy's names)
        """Choose the basis on these rows and fit it by least squares."""
        data = _columns(X, self.parents, self.categorical)
        y = np.asarray(Y, dtype=float).reshape(-1)
        self.mechanism = fit_node(
            self.parents, data, y, models=self.models, categorical=self.categorical
        )

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """The conditional mean, as a column."""
        data = _columns(X, self.parents, self.categorical)
        return self.mechanism.predict(data).reshape(-1, 1)


class BasisClassifier(_OurFit, ClassificationModel):
    """A categorical node's class probabilities, from our classifier on our basis."""

    def fit(self, X: np.ndarray, Y: np.ndarray) -> None:  # noqa: N803
        """Fit the multinomial logistic regression on the basis of these rows."""
        data = _columns(X, self.parents, self.categorical)
        y = np.asarray(Y).reshape(-1).astype(str).astype(object)
        self.mechanism = fit_node(
            self.parents, data, y, models=self.models, categorical=self.categorical,
            is_categorical=True,
        )  # fmt: skip

    def predict_probabilities(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """Probabilities, columns in :attr:`classes` order."""
        return self.mechanism.proba(_columns(X, self.parents, self.categorical))

    def predict(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        """The most likely class of each row, as a column."""
        proba = self.predict_probabilities(X)
        return np.asarray(self.classes, dtype=object)[np.argmax(proba, axis=1)].reshape(-1, 1)

    @property
    def classes(self) -> list[str]:
        """The levels, in the order of the probability columns."""
        return list(self.mechanism.classes)

