"""The bridge to DoWhy: a fitted dowhy.gcm model whose mechanisms are ours, used by DoWhy's
own functions; and DoWhy models accepted where a graph is."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import DOWHY, ROOT, needs_dowhy_data

import causal_attrib as ca
from causal_attrib.errors import InputError

gcm = pytest.importorskip("dowhy.gcm", reason="DoWhy (the dowhy extra) is not installed")
pytestmark = pytest.mark.slow
gcm.config.disable_progress_bars()


def _linear_chain(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    a = rng.normal(size=rows)
    b = 2.0 * a + rng.normal(size=rows)
    c = -1.5 * b + 0.5 * rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "c": c})


def test_dowhy_functions_run_on_our_fits_and_get_the_known_answers():
    # DoWhy draws from NumPy's global generator: seeded, or this Monte Carlo check is flaky
    from dowhy.gcm.util.general import set_random_seed

    set_random_seed(0)
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    data = _linear_chain(3000, np.random.default_rng(0))
    scm = ca.to_dowhy(graph, data)
    assert isinstance(scm, gcm.InvertibleStructuralCausalModel)
    # do(a = 1): E[c] = -1.5 * 2 * 1 = -3 (the generating SCM's answer)
    samples = gcm.interventional_samples(scm, {"a": lambda x: 1.0}, num_samples_to_draw=4000)
    assert samples["c"].mean() == pytest.approx(-3.0, abs=0.1)
    # counterfactuals without an intervention reproduce the observed rows (noise round trip)
    rows = data.head(5)
    same = gcm.counterfactual_samples(scm, {"a": lambda x: x}, observed_data=rows)
    assert np.allclose(same[["a", "b", "c"]].to_numpy(), rows.to_numpy())
    # intrinsic contributions of a linear Gaussian chain: squared path effect x noise variance
    icc = gcm.intrinsic_causal_influence(scm, "c", num_samples_randomization=300)
    expected = {"a": (2 * 1.5) ** 2, "b": 1.5**2, "c": 0.25}
    assert max(icc, key=icc.get) == "a"
    for node, value in expected.items():
        assert icc[node] == pytest.approx(value, rel=0.2)


def test_a_categorical_node_is_a_dowhy_classifier_on_our_fit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=2000)
    y = np.where(x + 0.3 * rng.normal(size=2000) > 0, "up", "down")
    scm = ca.to_dowhy(nx.DiGraph([("x", "y")]), pd.DataFrame({"x": x, "y": y}))
    drawn = gcm.interventional_samples(scm, {"x": lambda v: 3.0}, num_samples_to_draw=500)
    assert (drawn["y"] == "up").mean() > 0.95


@needs_dowhy_data
def test_dowhy_attribute_anomalies_on_our_fits_names_the_caching_service():
    """DoWhy's microservice example: the outlier's root cause through DoWhy's own function,
    and through ours with DoWhy's model as the graph (the bridge in)."""
    data = pd.read_csv(DOWHY / "rca_microservice_architecture_latencies.csv")
    outlier = pd.read_csv(DOWHY / "rca_microservice_architecture_anomaly.csv")
    scm = ca.to_dowhy(ROOT / "tests" / "graphs" / "dowhy_microservice.dot", data)
    scores = gcm.attribute_anomalies(scm, "Website", anomaly_samples=outlier)
    assert max(scores, key=lambda n: scores[n][0]) == "Caching Service"
    ours = ca.attribute_anomalies(scm, data, outlier, "Website")
    assert ours.top_cause == "Caching Service"


def test_the_bridge_says_what_it_needs():
    graph = nx.DiGraph([("a", "b")])
    with pytest.raises(InputError, match="every node needs a column"):
        ca.to_dowhy(graph, pd.DataFrame({"a": np.arange(20.0)}))


def test_a_fitted_model_goes_to_dowhy_without_fitting_again(tmp_path):
    """to_dowhy(model): DoWhy's noise is our mechanisms' noise exactly (nothing refitted),
    and DoWhy's own anomaly attribution on it names the planted root."""
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    data = _linear_chain(3000, np.random.default_rng(0))
    model = ca.fit(graph, data)
    model.save(tmp_path / "m.model")
    scm = ca.to_dowhy(ca.load_model(tmp_path / "m.model"))
    for node in ("b", "c"):
        parents = model.scm.parents(node)
        ours = model.mechanisms[node].noise_of({p: data[p].to_numpy() for p in parents},
                                               data[node].to_numpy())  # fmt: skip
        theirs = scm.causal_mechanism(node).estimate_noise(
            data[node].to_numpy(), data[list(parents)].to_numpy()
        )
        assert np.array_equal(ours, np.asarray(theirs).reshape(-1))
    anomaly = pd.DataFrame({"a": [6.0], "b": [12.0], "c": [-18.0]})  # a's noise is 6 sd off
    scores = gcm.attribute_anomalies(scm, "c", anomaly_samples=anomaly)
    assert max(scores, key=lambda n: scores[n][0]) == "a"
    with pytest.raises(InputError, match="brings its data"):
        ca.to_dowhy(model, data)
