"""The analyses' named steps, each tested alone on data whose generating process we control."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from causal_attrib.analyses.explain import (
    EXPLAIN_MODELS,
    ChangeTests,
    Flags,
    NodeFit,
    fit_and_test,
    flag_changes,
    rank_nodes,
)
from causal_attrib.analyses.opening import open_analysis
from causal_attrib.engine import Engine
from causal_attrib.errors import InputError
from causal_attrib.inputs.preparation import prepare_data
from causal_attrib.models.bases import Basis
from causal_attrib.models.mechanisms import EmpiricalMechanism
from causal_attrib.progress import silent
from causal_attrib.stats.change_tests import (
    CategoricalChangeTest,
    ChangeTestResult,
    ResidualChangeTest,
)
from causal_attrib.stats.shapley import sample_orderings, shapley_walked
from causal_attrib.synthetic import make_scenario


def _fit(p: float) -> NodeFit:
    return NodeFit(Basis(()), EmpiricalMechanism.fit(np.zeros(3)), ChangeTestResult(p))


def test_flag_changes_applies_benjamini_hochberg_and_reads_nan_as_no_evidence():
    fits = {"a": _fit(0.001), "b": _fit(0.02), "c": _fit(0.04), "d": _fit(float("nan"))}
    flags = flag_changes(fits, alpha=0.05)
    # BH over 4 tests: q = p * 4 / rank, made monotone
    assert flags.q_values["a"] == pytest.approx(0.004)
    assert flags.q_values["b"] == pytest.approx(0.04)
    assert flags.q_values["c"] == pytest.approx(0.04 * 4 / 3)
    assert flags.p_values["d"] == 1.0 and flags.q_values["d"] == 1.0
    assert flags.changed == {"a": True, "b": True, "c": False, "d": False}


def test_fit_and_test_finds_the_planted_change_on_any_engine():
    scenario = make_scenario("tree", 8, 1500, seed=4, change="shift")
    prepared = prepare_data(scenario.graph, scenario.before, scenario.after)
    tests = ChangeTests(ResidualChangeTest(), CategoricalChangeTest())
    threads = fit_and_test(
        scenario.graph, prepared, EXPLAIN_MODELS, tests, Engine("threads", 2), silent
    )
    (planted,) = scenario.changed
    p = {n: f.test.p_value for n, f in threads.items()}
    assert min(p, key=p.get) == planted and p[planted] < 1e-6
    processes = fit_and_test(
        scenario.graph, prepared, EXPLAIN_MODELS, tests, Engine("processes", 2), silent
    )
    assert {n: f.test.p_value for n, f in processes.items()} == p
    position = {n: i for i, n in enumerate(threads)}  # fits come in topological order
    assert all(position[u] < position[v] for u, v in scenario.graph.edges)


def test_rank_nodes_orders_by_contribution_and_withholds_shares_that_cancel():
    fits = {n: _fit(0.5) for n in "abc"}
    flags = Flags(
        dict.fromkeys("abc", 0.5), {"a": 0.2, "b": 0.1, "c": 0.3}, dict.fromkeys("abc", False)
    )
    nodes = rank_nodes(fits, flags, {"a": 2.0, "b": -3.0}, (0.0, -1.0), {"a", "b"}, {})
    assert [n.node for n in nodes] == ["b", "a", "c"]
    assert nodes[0].share == pytest.approx(3.0) and not nodes[2].ancestor
    cancel = rank_nodes(fits, flags, {"a": 2.0, "b": -2.0}, (1.0, 1.0), {"a", "b"}, {})
    assert all(n.share is None for n in cancel)


def test_the_opening_checks_in_the_order_errors_should_be_reported(tmp_path):
    with pytest.raises(InputError, match="max_rows must be at least 10"):
        open_analysis(tmp_path / "missing.dot", {"--data": tmp_path / "x.csv"}, max_rows=3)
    graph = tmp_path / "g.dot"
    graph.write_text("digraph { a -> b }")
    with pytest.raises(InputError, match="target 'c' is not a node"):
        open_analysis(graph, {"--data": tmp_path / "missing.csv"}, target="c")
    with pytest.raises(InputError, match="--data file not found"):
        open_analysis(graph, {"--data": tmp_path / "missing.csv"}, target="b")
    frame = pd.DataFrame({"a": [1.0], "b": [2.0]})
    opened = open_analysis(graph, {"--data": frame}, target="b")
    assert opened.tables["--data"] is frame and sorted(opened.graph) == ["a", "b"]


def test_orderings_are_exhaustive_when_few_and_antithetic_when_sampled():
    from itertools import permutations

    rng = np.random.default_rng(0)

    def walked(players, n):
        seen = []
        shapley_walked(players, lambda o, phi: seen.append(tuple(o)) or 0.0,
                       n_permutations=n, rng=rng)  # fmt: skip
        return seen

    exhaustive = walked(list("abc"), 6)
    assert sorted(exhaustive) == sorted(permutations("abc"))
    assert len(walked(list("abcd"), 6)) == 6  # 24 orderings > 6: sampled instead
    sampled = sample_orderings(list("abcd"), 8, rng)
    assert len(sampled) == 8
    assert all(sampled[i + 1] == sampled[i][::-1] for i in range(0, 8, 2))


def test_walked_shapley_values_are_efficient_on_an_additive_game():
    """Walking orderings of a game where each player adds a fixed amount gives each player
    exactly that amount, and the grand coalition's value."""
    worth = {"a": 1.0, "b": 2.5, "c": -0.5}

    def walk(ordering, phi):
        total = 0.0
        for player in ordering:
            phi[player] += worth[player]
            total += worth[player]
        return total

    rng = np.random.default_rng(0)
    exact, grand = shapley_walked(list(worth), walk, n_permutations=6, rng=rng)
    assert exact.values == pytest.approx(worth) and grand == pytest.approx(3.0)
    assert exact.errors is None  # every ordering walked
    sampled, grand = shapley_walked(list(worth), walk, n_permutations=4, rng=rng, tolerance=0.01)
    assert sampled.values == pytest.approx(worth) and grand == pytest.approx(3.0)
    assert sampled.errors == dict.fromkeys(worth, 0.0)
