"""``check`` against DoWhy run in the same test (its GCM test and ``falsify_graph``) and on
DoWhy's microservice example, with the true graph and damaged ones."""

from __future__ import annotations

import functools

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import DOWHY, ROOT, needs_dowhy_data

from causal_attrib.analyses.check import check_graph
from causal_attrib.models.bases import LinearModels
from causal_attrib.stats.independence import GcmTest
from causal_attrib.synthetic import make_graph, simulate

pytestmark = pytest.mark.slow


def _scm(shape: str, n_nodes: int, seed: int, nonlinear: bool = False, rows: int = 2000):
    rng = np.random.default_rng(seed)
    graph = make_graph(shape, n_nodes, rng)
    data, params = simulate(graph, rows, rng, nonlinear=nonlinear, heteroscedastic=nonlinear)
    return graph, data, params


def test_gcm_p_values_match_dowhy_generalised_cov_measure():
    """With linear regressions and linear features, our test is DoWhy's GCM test."""
    pytest.importorskip("dowhy", reason="DoWhy (the dowhy extra) is not installed")
    from dowhy.gcm.independence_test.generalised_cov_measure import generalised_cov_based
    from dowhy.gcm.ml import create_linear_regressor

    graph, data, _ = _scm("er", 8, seed=11)
    columns = {c: data[c].to_numpy() for c in data.columns}
    bound = GcmTest(models=LinearModels(), nonlinear=False).bind(columns, frozenset())
    dowhy_test = functools.partial(
        generalised_cov_based,
        prediction_model_X=create_linear_regressor,
        prediction_model_Y=create_linear_regressor,
    )
    compared = 0
    for node in sorted(graph.nodes):
        given = sorted(graph.predecessors(node))
        others = sorted(set(graph.nodes) - nx.descendants(graph, node) - {node} - set(given))
        if not given or not others:
            continue
        ours = bound(node, others, given)
        for y, p in zip(others, ours, strict=True):
            theirs = dowhy_test(columns[node], columns[y], data[given].to_numpy())
            assert p == pytest.approx(theirs, rel=1e-6, abs=1e-9)
            compared += 1
    assert compared >= 5


@needs_dowhy_data
def test_microservice_graph_passes_and_damaged_graphs_do_not():
    data = pd.read_csv(DOWHY / "rca_microservice_architecture_latencies.csv")
    from causal_attrib.inputs.graphs import load_graph

    truth = load_graph(ROOT / "tests" / "graphs" / "dowhy_microservice.dot")
    assert check_graph(truth, data, n_permutations=50).verdict == "consistent"
    missing = truth.copy()
    missing.remove_edge("Caching Service", "Product Service")
    found = check_graph(missing, data, n_permutations=50)
    assert found.verdict == "violated"
    first = found.suggestions[0]
    assert (first.cause, first.effect) == ("Caching Service", "Product Service")
    assert first.violations_after == 0
    reversed_ = truth.copy()
    reversed_.remove_edge("Caching Service", "Product Service")
    reversed_.add_edge("Product Service", "Caching Service")
    flagged = check_graph(reversed_, data, n_permutations=50)
    assert flagged.verdict == "violated"
    assert len(flagged.violations) >= 5


def test_verdicts_agree_with_dowhy_falsify_graph():
    """DoWhy's falsify_graph (its GCM test with linear models, to keep it quick) and ours
    agree: the true graph is better than random relabellings, a shuffled one is not."""
    pytest.importorskip("dowhy", reason="DoWhy (the dowhy extra) is not installed")
    from dowhy.gcm.falsify import falsify_graph
    from dowhy.gcm.independence_test.generalised_cov_measure import generalised_cov_based
    from dowhy.gcm.ml import create_linear_regressor

    graph, data, _ = _scm("er", 7, seed=21, rows=1000)
    shuffled = nx.relabel_nodes(graph, dict(zip(sorted(graph), sorted(graph)[::-1], strict=True)))
    dowhy_test = functools.partial(
        generalised_cov_based,
        prediction_model_X=create_linear_regressor,
        prediction_model_Y=create_linear_regressor,
    )
    np.random.seed(0)
    for candidate, truth in ((graph, True), (shuffled, False)):
        theirs = falsify_graph(
            candidate,
            data,
            independence_test=dowhy_test,
            conditional_independence_test=dowhy_test,
            n_permutations=20,
            show_progress_bar=False,
        )
        ours = check_graph(candidate, data, n_permutations=20)
        assert (ours.verdict != "rejected") is truth
        assert (not theirs.falsified) is truth
