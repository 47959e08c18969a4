"""The one place mechanisms are fitted: :func:`fit_node` for one node, :func:`fit_scm` for a
graph, giving a :class:`FittedSCM` that every analysis asks questions of.

Fit once, query many (as ``dowhy.gcm.fit`` then its queries): ``explain`` fits a node per
period, ``anomaly``, ``influence`` and the DoWhy bridge read a :class:`FittedSCM`, and the
time-series layout fits the same way on lagged columns (``linear`` keeps a node's own past
an autoregression). ``tests/unit/test_architecture.py`` holds that no other module builds a
mechanism.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

from .bases import Basis, Data, ModelFamily, keep_linear
from .categorical import TableMechanism
from .mechanisms import AdditiveNoiseMechanism, EmpiricalMechanism, Mechanism


def fit_node(
    parents: Iterable[str],
    data: Data,
    y: np.ndarray,
    *,
    models: ModelFamily,
    categorical: frozenset[str] = frozenset(),
    is_categorical: bool = False,
    linear: Iterable[str] = (),
    noise_rows: np.ndarray | None = None,
) -> Mechanism:
    """One node's mechanism: a root's empirical distribution, a classifier for a categorical
    node, else additive noise on the basis ``models`` chooses.

    ``data`` holds the parents' columns (``categorical`` names the categorical ones);
    ``linear`` names parents kept linear (a node's own past in time series); ``noise_rows``
    (a boolean mask) picks the rows whose residuals make the noise distribution.
    """
    parents = tuple(parents)
    if not parents:
        return EmpiricalMechanism.fit(y)
    basis = models.make_basis(parents, data, y, categorical)
    linear = tuple(linear)
    if linear:
        basis = keep_linear(basis, linear)
    return fit_on_basis(basis, data, y, is_categorical, noise_rows)


def fit_on_basis(
    basis: Basis,
    data: Data,
    y: np.ndarray,
    is_categorical: bool,
    noise_rows: np.ndarray | None = None,
) -> Mechanism:
    """A mechanism on a basis already chosen: ``explain``'s new-period and resampled fits
    keep the old fit's features, so that only the coefficients (the mechanism) change."""
    if not basis.parents:
        return EmpiricalMechanism.fit(y)
    if is_categorical:  # a table shrunk towards a logistic model, by cross-validation
        return TableMechanism.fit(basis, data, y)
    return AdditiveNoiseMechanism.fit(basis, data, y, noise_rows=noise_rows)


@dataclass(frozen=True)
class FittedSCM:
    """A structural causal model: a DAG and one fitted mechanism per node it models.

    ``order`` is a topological order of the modelled nodes (ties by name, so the same graph
    always simulates in the same order).
    """

    graph: nx.DiGraph
    mechanisms: Mapping[str, Mechanism]
    categorical: frozenset[str]
    order: tuple[str, ...]

    def parents(self, node: str) -> tuple[str, ...]:
        """The node's parents, sorted (the order its mechanism reads them in)."""
        return tuple(sorted(self.graph.predecessors(node)))

    def simulate(self, uniforms: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Forward samples of every modelled node, one per entry of each node's uniforms."""
        out: dict[str, np.ndarray] = {}
        for node in self.order:
            data = {p: out[p] for p in self.parents(node)}
            out[node] = self.mechanisms[node].sample(data, uniforms[node])
        return out

    def noise(self, data: Data) -> dict[str, object]:
        """Each modelled node's noise in the given rows (as ``dowhy.gcm``'s noise)."""
        return {
            n: self.mechanisms[n].noise_of({p: data[p] for p in self.parents(n)}, data[n])
            for n in self.order
        }

    def log_likelihood(self, data: Data) -> dict[str, np.ndarray]:
        """Per node, the log likelihood of each row given its parents."""
        return {
            n: self.mechanisms[n].log_likelihood({p: data[p] for p in self.parents(n)}, data[n])
            for n in self.order
        }


def fit_scm(
    graph: nx.DiGraph,
    columns: Data,
    *,
    models: ModelFamily,
    categorical: frozenset[str] = frozenset(),
    nodes: Iterable[str] | None = None,
    fill: Mapping[str, object] | None = None,
    noise_rows: np.ndarray | None = None,
) -> FittedSCM:
    """Fit every node of ``graph`` (or only ``nodes``) on ``columns``.

    Gaps (NaN, or ``None`` in a categorical column) are allowed when ``fill`` gives each
    parent's stand-in value: a node is fitted on the rows that measure it, with missing
    parents filled; without ``fill`` every column must be complete. ``noise_rows`` (a boolean
    mask, e.g. the reference rows of reference and anomalous rows fitted together) picks the
    rows that make the noise distributions: a root's values, a node's residuals.
    """
    wanted = set(graph.nodes if nodes is None else nodes)
    order = tuple(n for n in nx.lexicographical_topological_sort(graph) if n in wanted)
    mechanisms: dict[str, Mechanism] = {}
    for node in order:
        parents = tuple(sorted(graph.predecessors(node)))
        is_cat = node in categorical
        y = np.asarray(columns[node])
        seen = present(y, is_cat) if fill is not None else np.ones(len(y), dtype=bool)
        pdata = {
            p: filled(np.asarray(columns[p]), fill[p], p in categorical)[seen]
            if fill is not None
            else np.asarray(columns[p])
            for p in parents
        }
        if not parents and noise_rows is not None:
            seen = seen & noise_rows
        y = y[seen].astype(object if is_cat else float)
        mechanisms[node] = fit_node(
            parents, pdata if parents else {}, y, models=models, categorical=categorical,
            is_categorical=is_cat, noise_rows=None if noise_rows is None else noise_rows[seen],
        )  # fmt: skip
    return FittedSCM(graph, mechanisms, categorical, order)


def present(values: np.ndarray, categorical: bool) -> np.ndarray:
    """Which cells hold a value (a gap is NaN, or ``None`` in a text column)."""
    if categorical or values.dtype == object:
        return np.array([v is not None and v == v for v in values], dtype=bool)
    return ~np.isnan(values.astype(float))


def filled(values: np.ndarray, fill: object, categorical: bool) -> np.ndarray:
    """``values`` with gaps replaced by ``fill``."""
    if categorical:
        return np.array([v if v is not None and v == v else fill for v in values], dtype=object)
    out = values.astype(float)
    out[np.isnan(out)] = fill
    return out
