"""Categorical mechanisms whose parents interact, and the change test of categorical nodes
that holds its level when a model would misfit (issue 30)."""

from __future__ import annotations

import dataclasses

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causal_attrib import explain
from causal_attrib.models.bases import LinearModels
from causal_attrib.models.categorical import TableMechanism, with_new_parent_levels
from causal_attrib.models.fitting import fit_on_basis
from causal_attrib.stats.change_tests import CategoricalChangeTest


def xor_table(rng, n, shift=0.0, change=0.0):
    """A child whose chance of ``T`` depends on the pair of parents (no additive part)."""
    a = rng.choice(["x", "y", "z"], n, p=[0.5 - shift, 0.3, 0.2 + shift])
    b = rng.choice(["p", "q"], n, p=[0.7 - shift, 0.3 + shift])
    p = np.where((a == "x") ^ (b == "p"), 0.8 - change, 0.2 + change)
    p = np.where(a == "z", 0.5, p)
    y = np.where(rng.random(n) < p, "T", np.where(rng.random(n) < 0.5, "F", "None"))
    return {"a": a.astype(object), "b": b.astype(object)}, y.astype(object), p


def with_numeric_parent(rng, n, shift=0.0, change=0.0):
    """A level parent and a continuous one whose effect depends on the level."""
    a = rng.choice(["on", "off"], n, p=[0.5 + shift, 0.5 - shift])
    x = rng.normal(shift, 1.0, n)
    logit = np.where(a == "on", 1.5 * x, -x) + 5 * change
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return {"a": a.astype(object), "x": x}, y.astype(object), None


def sparse_configs(rng, n, shift=0.0, change=0.0):
    """Three parents of four levels: 64 configurations, some with a handful of rows."""
    cols = {
        k: rng.choice(list("abcd"), n, p=[0.55 - shift, 0.25, 0.15, 0.05 + shift]) for k in "uvw"
    }
    score = sum((cols[k] == "a") * w for k, w in zip("uvw", (1.0, -1.0, 0.5), strict=True))
    p = np.clip(0.2 + 0.3 * (score % 1.0) + 0.2 * (cols["u"] == cols["w"]) + change, 0.02, 0.98)
    y = np.where(rng.random(n) < p, "hi", "lo")
    return {k: v.astype(object) for k, v in cols.items()}, y.astype(object), None


NETWORKS = (xor_table, with_numeric_parent, sparse_configs)


def test_a_table_fits_interacting_parents_that_an_additive_logistic_model_misfits():
    rng = np.random.default_rng(1)
    data, y, p = xor_table(rng, 4000)
    basis = LinearModels().make_basis(["a", "b"], data, y, frozenset({"a", "b"}))
    mech = fit_on_basis(basis, data, y, is_categorical=True)
    assert isinstance(mech, TableMechanism) and np.isfinite(mech.strength)
    truth = p[:200]
    fitted = mech.proba({k: v[:200] for k, v in data.items()})[:, mech.classes.index("T")]
    assert np.max(np.abs(fitted - truth)) < 0.08


def test_the_logistic_model_is_kept_when_the_parents_act_additively():
    rng = np.random.default_rng(2)
    x = rng.normal(size=3000)
    y = np.where(rng.random(3000) < 1 / (1 + np.exp(-2 * x)), "up", "down").astype(object)
    basis = LinearModels().make_basis(["x"], {"x": x}, y, frozenset())
    mech = TableMechanism.fit(basis, {"x": x}, y)
    assert np.isinf(mech.strength) and mech.label.startswith("classifier (logistic")


def test_the_mechanism_samples_and_gives_its_noise_like_the_classifier():
    rng = np.random.default_rng(3)
    data, y, _ = with_numeric_parent(rng, 2000)
    basis = LinearModels().make_basis(["a", "x"], data, y, frozenset({"a"}))
    mech = TableMechanism.fit(basis, data, y)
    u = rng.random(2000)
    draws = mech.sample(data, u)
    assert abs(np.mean(draws == "yes") - np.mean(y == "yes")) < 0.03
    noise = mech.noise_of(data, y)
    again = np.array(
        [
            mech.sample_with_noise(
                {k: v[i : i + 1] for k, v in data.items()}, noise[i], rng.random(1)
            )[0]
            for i in range(50)
        ]
    )
    assert list(again) == list(y[:50])  # the same parents and luck give the same level
    one = {k: v[:1] for k, v in data.items()}
    assert mech.noise_of(one, np.array(["never"], dtype=object))[0].low is None
    assert mech.typical({k: v[:1] for k, v in data.items()}) in mech.classes
    assert mech.decomposable is False and mech.noise_values is None


def plain(value) -> bool:
    """Arrays, text, numbers and flags, tuples and mappings of them, or frozen dataclasses
    of the same: what a saved model may hold."""
    if dataclasses.is_dataclass(value):
        return value.__dataclass_params__.frozen and all(
            plain(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    if isinstance(value, tuple | list):
        return all(plain(v) for v in value)
    if isinstance(value, dict):
        return all(plain(k) and plain(v) for k, v in value.items())
    return isinstance(value, np.ndarray | str | int | float | bool | frozenset | type(None))


def test_every_field_of_the_mechanism_is_plain_data():
    rng = np.random.default_rng(4)
    data, y, _ = with_numeric_parent(rng, 1000)
    basis = LinearModels().make_basis(["a", "x"], data, y, frozenset({"a"}))
    assert plain(TableMechanism.fit(basis, data, y))


def rejections(network, seeds=range(30), shift=0.2, change=0.0) -> list[float]:
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        before, y_b, _ = network(rng, 2000)
        after, y_a, _ = network(rng, 2000, shift=shift, change=change)
        levels = frozenset(k for k, v in before.items() if v.dtype == object)
        basis = LinearModels().make_basis(list(before), before, y_b, levels)
        out.append(CategoricalChangeTest()(basis, before, after, y_b, y_a).p_value)
    return out


@pytest.mark.slow
def test_the_categorical_change_test_holds_its_level_on_no_change_controls():
    """Three networks whose parents interact (or are sparse), the parents' mix moved
    between periods, 30 seeds each: rejections at 5 % within binomial slack."""
    p_values = np.concatenate([rejections(net) for net in NETWORKS])
    slack = stats.binom.ppf(0.999, len(p_values), 0.05)
    assert np.sum(p_values < 0.05) <= slack
    assert np.sum(p_values < 0.01) <= stats.binom.ppf(0.999, len(p_values), 0.01)


@pytest.mark.parametrize("network", NETWORKS)
def test_the_categorical_change_test_sees_a_changed_table(network):
    p_values = rejections(network, seeds=range(5), change=0.15)
    assert max(p_values) < 1e-3


def test_a_parents_new_level_is_borrowed_from_the_after_rows():
    before = {"a": np.array(["x", "x"], dtype=object)}
    after = {"a": np.array(["x", "w"], dtype=object)}
    data, y = with_new_parent_levels(
        ["a"], {"a"}, before, np.array([1, 2]), after, np.array([3, 4])
    )
    assert list(data["a"]) == ["x", "x", "w"] and list(y) == [1, 2, 4]


def test_a_root_that_takes_a_new_level_gets_the_credit_and_the_summary_says_so():
    rng = np.random.default_rng(5)
    frames = []
    for share in (0.0, 0.3):
        n = 2000
        root = np.where(rng.random(n) < share, "w", "x")
        other = rng.choice(["None", "NA", "z"], n)
        p_mid = np.where(root == "w", 0.9, np.where(other == "z", 0.2, 0.4))
        mid = np.where(rng.random(n) < p_mid, "TRUE", "FALSE")
        out = np.where(rng.random(n) < np.where(mid == "TRUE", 0.8, 0.1), "hi", "lo")
        frames.append(pd.DataFrame({"root": root, "other": other, "mid": mid, "out": out}))
    graph = nx.DiGraph([("root", "mid"), ("other", "mid"), ("mid", "out")])
    result = explain(graph, *frames, "out", target_level="hi", n_samples=4000)
    assert result.nodes[0].node == "root" and result.changed_nodes == ["root"]
    assert "1 level(s) appeared: 'w'" in result.summary
    assert result.nodes[0].share == pytest.approx(1.0)
