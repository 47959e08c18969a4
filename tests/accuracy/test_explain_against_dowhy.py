"""DoWhy's own example data (read from ../shared/data; skipped when absent), and DoWhy itself
run on the same data in the same test."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from conftest import DOWHY, needs_dowhy_data

from causal_attrib import explain
from causal_attrib.inputs.tables import read_table, split_periods
from causal_attrib.synthetic import make_scenario

pytestmark = pytest.mark.slow

MICROSERVICES = nx.DiGraph(
    [
        ("www", "Website"),
        ("Auth Service", "www"),
        ("API", "www"),
        ("Customer DB", "Auth Service"),
        ("Customer DB", "API"),
        ("Product Service", "API"),
        ("Auth Service", "API"),
        ("Order Service", "API"),
        ("Shipping Cost Service", "Product Service"),
        ("Caching Service", "Product Service"),
        ("Product DB", "Caching Service"),
        ("Customer DB", "Product Service"),
        ("Order DB", "Order Service"),
    ]
)


@needs_dowhy_data
def test_microservice_caching_service_first():
    r = explain(
        MICROSERVICES,
        DOWHY / "rca_microservice_architecture_latencies.csv",
        DOWHY / "rca_microservice_architecture_anomaly_1000.csv",
        "Website",
    )
    assert r.nodes[0].node == "Caching Service"
    assert r.nodes[0].share > 0.8  # not handed to its child, Product Service
    assert abs(r.gap) < 0.05 * abs(r.observed_change)


@needs_dowhy_data
def test_supply_chain_demand_and_confirmed_top_two():
    g = nx.DiGraph(
        [
            ("demand", "submitted"),
            ("constraint", "submitted"),
            ("submitted", "confirmed"),
            ("confirmed", "received"),
        ]
    )
    before, after = split_periods(
        read_table(DOWHY / "supply_chain_week_over_week.csv"), "week", "w1", "w2"
    )
    r = explain(g, before, after, "received")
    assert {n.node for n in r.nodes[:2]} == {"demand", "confirmed"}


def test_agrees_with_dowhy_distribution_change():
    """Same SCM family and the same players as DoWhy: the changed node's values agree."""
    gcm = pytest.importorskip("dowhy.gcm", reason="DoWhy (the dowhy extra) is not installed")
    sc = make_scenario("chain", 4, 1500, 3, changed=["X1"])
    model = gcm.ProbabilisticCausalModel(sc.graph)
    for node in sc.graph.nodes:
        if sc.graph.in_degree(node) == 0:
            model.set_causal_mechanism(node, gcm.EmpiricalDistribution())
        else:
            model.set_causal_mechanism(
                node, gcm.AdditiveNoiseModel(gcm.ml.create_linear_regressor())
            )
    np.random.seed(0)
    theirs = gcm.distribution_change(
        model,
        sc.before,
        sc.after,
        sc.target,
        num_samples=5000,
        difference_estimation_func=lambda old, new: np.mean(new) - np.mean(old),
        # p = 0 for every mechanism: all ancestors are players, as with attribute_to="all",
        # and DoWhy's slow kernel tests are skipped
        independence_test=lambda x, y: 0.0,
        conditional_independence_test=lambda x, y, z: 0.0,
    )
    ours = explain(sc.graph, sc.before, sc.after, sc.target, attribute_to="all")
    mine = {n.node: n.contribution for n in ours.nodes}
    assert max(theirs, key=lambda k: abs(theirs[k])) == ours.nodes[0].node == "X1"
    assert mine["X1"] == pytest.approx(float(theirs["X1"]), abs=0.05)
    assert sum(mine.values()) == pytest.approx(sum(float(v) for v in theirs.values()), abs=0.06)
