"""``influence`` against DoWhy's ``gcm.intrinsic_causal_influence`` run on the same data in
the same test: the same ranking of intrinsic contributions on a nonlinear SCM."""

from __future__ import annotations

import networkx as nx
import numpy as np
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
