"""Intrinsic causal contributions on SCMs whose answer is known analytically."""

from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import causal_attrib as ca
from causal_attrib.errors import InputError
from causal_attrib.models.bases import SplineModels
from causal_attrib.rendering import render

CHAIN = nx.DiGraph([("a", "b"), ("b", "c")])


def _chain(rows: int = 5000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=rows)
    b = 2.0 * a + rng.normal(size=rows)
    return pd.DataFrame({"a": a, "b": b, "c": -1.5 * b + 0.5 * rng.normal(size=rows)})


def test_linear_gaussian_contributions_are_squared_path_effects_times_noise_variance():
    """Within sampling error: 100,000 draws put the small target noise's share within 10 %
    (at the default 20,000 its Monte Carlo error is about 0.02 on 0.25)."""
    result = ca.intrinsic_influence(CHAIN, _chain(), "c", n_samples=100_000)
    got = {n.node: n.contribution for n in result.nodes}
    expected = {"a": (2.0 * 1.5) ** 2, "b": 1.5**2, "c": 0.5**2}
    for node, value in expected.items():
        assert got[node] == pytest.approx(value, rel=0.1)
    assert [n.node for n in result.nodes] == ["a", "b", "c"]
    assert sum(got.values()) == pytest.approx(result.total, rel=1e-9)  # efficiency
    assert result.total == pytest.approx(sum(expected.values()), rel=0.1)
    assert result.observed == pytest.approx(result.total, rel=0.05)


def test_a_nonlinear_system_ranks_the_loudest_noise_first_and_std_adds_up():
    rng = np.random.default_rng(3)
    x = rng.normal(size=6000)
    quiet = 0.1 * rng.normal(size=6000)
    loud = 3.0 * rng.normal(size=6000)
    y = np.tanh(x) + quiet**2 + loud + 0.2 * rng.normal(size=6000)
    data = pd.DataFrame({"x": x, "quiet": quiet, "loud": loud, "y": y})
    graph = nx.DiGraph([("x", "y"), ("quiet", "y"), ("loud", "y")])
    result = ca.intrinsic_influence(graph, data, "y", statistic="std")
    assert result.nodes[0].node == "loud" and result.nodes[-1].node == "quiet"
    total = sum(n.contribution for n in result.nodes)
    assert total == pytest.approx(result.total, rel=1e-9)
    assert result.total == pytest.approx(np.std(y), rel=0.05)


def test_a_target_without_causes_is_its_own_whole_answer():
    data = _chain()
    result = ca.intrinsic_influence(CHAIN, data, "a")
    assert [(n.node, n.share) for n in result.nodes] == [("a", 1.0)]
    assert any("no causes" in note for note in result.notes)


def test_a_categorical_target_attributes_the_spread_of_a_level():
    rng = np.random.default_rng(4)
    x = rng.normal(size=4000)
    y = np.where(x + 0.5 * rng.normal(size=4000) > 0.8, "slow", "fast")
    data = pd.DataFrame({"x": x, "y": y})
    result = ca.intrinsic_influence(nx.DiGraph([("x", "y")]), data, "y", target_level="slow")
    share = (y == "slow").mean()
    assert result.target_level == "slow"
    assert result.total == pytest.approx(share * (1 - share), rel=0.1)
    assert result.nodes[0].node == "x"
    assert any("indicator" in note for note in result.notes)


def test_bad_inputs_are_input_errors():
    data = _chain()
    with pytest.raises(InputError, match="no values for 'a'"):
        ca.intrinsic_influence(CHAIN, data.drop(columns="a"), "c")
    with pytest.raises(InputError, match="^statistic must be var, std"):
        ca.intrinsic_influence(CHAIN, data, "c", statistic="p100")
    with pytest.raises(InputError, match="applies to categorical targets"):
        ca.intrinsic_influence(CHAIN, data, "c", target_level="x")


def test_cli_json_equals_the_library_and_every_format_renders(cli, tmp_path):
    data = _chain(2000)
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { a -> b; b -> c }")
    args = ["influence", "-g", tmp_path / "g.dot", "-d", tmp_path / "d.csv", "-t", "c"]
    out = cli(*args, "-f", "json")
    assert out.exit_code == 0
    api = ca.intrinsic_influence(tmp_path / "g.dot", tmp_path / "d.csv", "c")
    assert json.loads(out.stdout) == api.to_dict()
    assert cli(*args, "-f", "json").stdout == out.stdout  # same seed, same bytes
    table = cli(*args).stdout
    assert table.startswith("The variance of c is") and "  1  a" in table
    assert "| 1 | `a` |" in cli(*args, "-f", "markdown").stdout
    html = render(api, "html")
    assert html.startswith("<!DOCTYPE html>") and "Intrinsic contributions" in html
    assert api.to_frame().index[0] == "a"


@pytest.mark.parametrize(
    "statistic, unit",
    [("mean-abs-deviation", math.sqrt(2 / math.pi)), ("p90", stats.norm.ppf(0.95))],
)
def test_nested_spreads_match_the_analytic_shapley_values(statistic, unit):
    """y = 2 x + n, x and n standard normal: any spread U here is ``unit`` times the
    standard deviation, so v({x}) = U(y) - U(n), v({n}) = U(y) - U(2x), and the Shapley
    values follow in closed form."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=20_000)
    data = pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=20_000)})
    r = ca.intrinsic_influence(nx.DiGraph([("x", "y")]), data, "y", statistic=statistic)
    total = unit * math.sqrt(5)
    v_x, v_n = total - unit, total - 2 * unit
    truth = {"x": (v_x + total - v_n) / 2, "y": (v_n + total - v_x) / 2}
    got = {n.node: n.contribution for n in r.nodes}
    for node, value in truth.items():
        assert got[node] == pytest.approx(value, rel=0.06)
    assert r.total == pytest.approx(sum(got.values()))
    assert r.statistic == statistic


@pytest.mark.parametrize("bad", ["p0", "p100", "iqr", "p-5"])
def test_unknown_spreads_are_one_line_errors(bad):
    data = pd.DataFrame({"x": np.arange(20.0), "y": np.arange(20.0) * 2})
    with pytest.raises(InputError, match="^statistic must be var, std, mean-abs-deviation"):
        ca.intrinsic_influence(nx.DiGraph([("x", "y")]), data, "y", statistic=bad)


def test_cli_nested_spread_json_is_the_api_result(cli, tmp_path):
    data = _chain()
    data.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { a -> b; b -> c }")
    out = cli("influence", "-g", tmp_path / "g.dot", "-d", tmp_path / "d.csv", "-t", "c",
              "--statistic", "p95", "--samples", "4000", "-f", "json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    api = ca.intrinsic_influence(CHAIN, data, "c", statistic="p95", n_samples=4000)
    assert json.loads(out.stdout) == json.loads(json.dumps(api.to_dict()))
    assert "absolute deviation from the median" in api.summary


def test_linear_mechanisms_get_the_closed_form_which_the_sampled_game_agrees_with():
    """A linear SCM: contributions are c_j^2 Var(n_j), exactly, with no draws; a spline
    family on the same data takes the pick-freeze path and lands within sampling error."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=5000)
    b = 2 * a + 0.5 * rng.normal(size=5000)
    data = pd.DataFrame({"a": a, "b": b, "c": -b + 0.5 * a + rng.normal(size=5000)})
    g = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")])
    closed = ca.intrinsic_influence(g, data, "c")
    assert closed.settings["method"] == "closed form (linear mechanisms)"
    assert closed.total == pytest.approx(closed.observed, rel=1e-9)  # fitted = data variance
    sampled = ca.intrinsic_influence(g, data, "c", models=SplineModels())
    assert sampled.settings["method"] == "pick-freeze"
    got = {n.node: n.contribution for n in sampled.nodes}
    for n in closed.nodes:
        assert got[n.node] == pytest.approx(n.contribution, rel=0.1, abs=0.02)
