"""To DoWhy and back: a fitted ``dowhy.gcm`` model whose mechanisms are ours.

:func:`to_dowhy` returns a fitted :class:`dowhy.gcm.InvertibleStructuralCausalModel`:
roots keep DoWhy's empirical distribution, continuous nodes are additive-noise models
whose ``f`` is our basis fit (:class:`~causal_attrib.bridges.dowhy_models.BasisRegressor`),
categorical nodes DoWhy classifier models on our classifier. Every DoWhy function that
takes such a model runs on it: ``attribute_anomalies``, ``counterfactual_samples``,
``interventional_samples``, ``arrow_strength``, ``intrinsic_causal_influence``,
``distribution_change``. The other way, every analysis accepts a DoWhy causal model where
it accepts a graph (its graph is used; :func:`causal_attrib.read_graph`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

import pandas as pd

from ..analyses.model import FittedModel
from ..analyses.opening import GraphSource, TableSource, open_analysis
from ..errors import InputError
from ..inputs.names import describe_nodes
from ..inputs.preparation import prepare_check_data
from ..models.bases import EXPLAIN_MODELS, ModelFamily


def require_dowhy():
    """``dowhy.gcm``, or an :class:`InputError` that says how to install it."""
    try:
        return importlib.import_module("dowhy.gcm")
    except ImportError:
        raise InputError(
            "this needs the dowhy extra: pip install -e '.[dowhy]' (or pip install dowhy)"
        ) from None


def to_dowhy(
    graph: GraphSource | FittedModel,
    data: TableSource | None = None,
    *,
    models: ModelFamily | None = None,
    categorical: Iterable[str] = (),
    dropna: bool = False,
):
    """A fitted DoWhy structural causal model whose mechanisms are our fits.

    Parameters
    ----------
    graph
        The causal DAG (any graph :func:`causal_attrib.read_graph` reads).
    data
        Observations of every node (file path or DataFrame).
    models
        Model family for the continuous and categorical nodes (default: the one ``explain``
        uses: linear, splines or splines with pairs, chosen by cross-validation).
    categorical
        Numeric columns to treat as categorical (text and booleans always are).
    dropna
        Drop incomplete rows instead of failing.

    Returns
    -------
    dowhy.gcm.InvertibleStructuralCausalModel
        Fitted on ``data``, ready for DoWhy's functions.
    """
    gcm = require_dowhy()
    from .dowhy_models import BasisClassifier, BasisRegressor

    if isinstance(graph, FittedModel):
        if data is not None:
            raise InputError("a fitted model brings its data: pass no data", parameter="data")
        return _from_fitted(gcm, graph)
    if data is None:
        raise InputError("to_dowhy needs data (or a model from ca.fit)", parameter="data")

    opening = open_analysis(graph, {"--data": data})
    g = opening.graph
    prepared = prepare_check_data(g, opening.tables["--data"], categorical, dropna)
    if prepared.unmeasured:
        missing = describe_nodes(prepared.unmeasured)
        raise InputError(f"every node needs a column to be modelled; missing: {missing}")
    family, cat = models or EXPLAIN_MODELS, prepared.categorical
    scm = gcm.InvertibleStructuralCausalModel(g)
    for node in g.nodes:
        parents = sorted(g.predecessors(node))
        if not parents:
            scm.set_causal_mechanism(node, gcm.EmpiricalDistribution())
        elif node in cat:
            classifier = BasisClassifier(family, parents, cat)
            scm.set_causal_mechanism(node, gcm.ClassifierFCM(classifier))
        else:
            scm.set_causal_mechanism(
                node, gcm.AdditiveNoiseModel(BasisRegressor(family, parents, cat))
            )
    shown = gcm.config.show_progress_bars
    gcm.config.show_progress_bars = False  # our fits are quick: no bar on the terminal
    try:
        gcm.fit(scm, pd.DataFrame(prepared.data))
    finally:
        gcm.config.show_progress_bars = shown
    return scm


def _from_fitted(gcm, model: FittedModel):
    """A DoWhy model whose mechanisms are a fitted model's, not fitted again: roots and
    noise distributions from the model's own values and residuals."""
    from dowhy.gcm.causal_models import PARENTS_DURING_FIT
    from dowhy.graph import get_ordered_predecessors

    from .dowhy_models import BasisClassifier, BasisRegressor

    scm = gcm.InvertibleStructuralCausalModel(model.graph.copy())
    for node in model.scm.order:
        mechanism, parents = model.mechanisms[node], model.scm.parents(node)
        # what gcm.fit records: the parents the mechanism was fitted on, in DoWhy's order
        scm.graph.nodes[node][PARENTS_DURING_FIT] = get_ordered_predecessors(scm.graph, node)
        if not parents:
            root = gcm.EmpiricalDistribution()
            root.fit(mechanism.values)
            scm.set_causal_mechanism(node, root)
        elif node in model.scm.categorical:
            classifier = BasisClassifier.fitted(mechanism, model.scm.categorical)
            scm.set_causal_mechanism(node, gcm.ClassifierFCM(classifier))
        else:
            noise = gcm.EmpiricalDistribution()
            noise.fit(mechanism.noise_values)
            regressor = BasisRegressor.fitted(mechanism, model.scm.categorical)
            scm.set_causal_mechanism(node, gcm.AdditiveNoiseModel(regressor, noise))
    return scm
