"""``influence`` against DoWhy's ``gcm.intrinsic_causal_influence`` run on the same data in
the same test: the same ranking of intrinsic contributions on a nonlinear SCM."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_attrib as ca
from causal_attrib.synthetic import make_graph, simulate

pytestmark = pytest.mark.slow


def test_the_ranking_agrees_with_dowhy_on_a_nonlinear_scm():
    gcm = pytest.importorskip("dowhy.gcm", reason="DoWhy (the dowhy extra) is not installed")
    gcm.config.disable_progress_bars()
    rng = np.random.default_rng(1)
    graph = make_graph("er", 6, rng)
    data, _ = simulate(graph, 2000, rng, nonlinear=True)
    target = list(nx.topological_sort(graph))[-1]
    ours = ca.intrinsic_influence(graph, data, target)
    np.random.seed(0)
    scm = gcm.StructuralCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, data, quality=gcm.auto.AssignmentQuality.GOOD)
    gcm.fit(scm, data)
    theirs = gcm.intrinsic_causal_influence(
        scm, target, num_training_samples=20_000, num_samples_randomization=150
    )
    nodes = [n.node for n in ours.nodes]
    assert nodes[0] == max(theirs, key=theirs.get)
    ranks = stats.spearmanr([n.contribution for n in ours.nodes], [theirs[n] for n in nodes])
    assert ranks.statistic > 0.8
    assert ours.total == pytest.approx(sum(theirs.values()), rel=0.2)


def _linear_pair(n: int = 4000):
    """y = 3 x1 + 0.5 x2 + noise, x2 with spread 2: strengths 9 Var(x1) and Var(x2) / 4."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=n), 2 * rng.normal(size=n)
    data = pd.DataFrame({"x1": x1, "x2": x2, "y": 3 * x1 + 0.5 * x2 + rng.normal(size=n)})
    return nx.DiGraph([("x1", "y"), ("x2", "y")]), data


def test_arrow_strengths_match_the_analytic_answer_and_dowhy():
    gcm = pytest.importorskip("dowhy.gcm", reason="DoWhy (the dowhy extra) is not installed")
    gcm.config.disable_progress_bars()
    graph, data = _linear_pair()
    edges = {(e.source, e.target): e for e in ca.intrinsic_influence(graph, data, "y",
                                                                     edges=True).edges}  # fmt: skip
    truth = {("x1", "y"): 9 * data.x1.var(ddof=0), ("x2", "y"): 0.25 * data.x2.var(ddof=0)}
    np.random.seed(0)
    scm = gcm.StructuralCausalModel(graph)
    gcm.auto.assign_causal_mechanisms(scm, data)
    gcm.fit(scm, data)
    theirs = gcm.arrow_strength(scm, "y")
    for edge, value in truth.items():
        assert edges[edge].strength == pytest.approx(value, rel=0.08)
        assert edges[edge].strength == pytest.approx(float(theirs[edge]), rel=0.1)
    share = edges[("x1", "y")].strength / data.y.var(ddof=0)
    assert edges[("x1", "y")].share == pytest.approx(share)


def test_arrow_strength_sees_a_nonlinear_edge_and_ignores_a_dead_one(cli, tmp_path):
    """y = x1^2 + noise with x2 unused: x1 -> y carries Var(x1^2) = 2, x2 -> y nothing;
    through the CLI, valid JSON with the edges block, and the table shows them."""
    rng = np.random.default_rng(3)
    x1, x2 = rng.normal(size=4000), rng.normal(size=4000)
    data = pd.DataFrame({"x1": x1, "x2": x2, "y": x1**2 + 0.3 * rng.normal(size=4000)})
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { x1 -> y; x2 -> y }")
    args = ["influence", "-g", tmp_path / "g.dot", "-d", tmp_path / "d.csv", "-t", "y", "--edges"]
    report = json.loads(cli(*args, "-f", "json").stdout)
    edges = {(e["source"], e["target"]): e["strength"] for e in report["edges"]}
    assert edges[("x1", "y")] == pytest.approx(2.0, rel=0.15)
    assert edges[("x2", "y")] < 0.02
    assert "x1 -> y" in cli(*args).stdout
