"""Shapley machinery against independent brute force, and attribution against known effects."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest

from causal_attrib import explain
from causal_attrib.errors import InputError
from causal_attrib.stats.sampling import latin_uniforms
from causal_attrib.stats.shapley import shapley_values
from causal_attrib.stats.statistics import parse_statistic
from causal_attrib.synthetic import make_scenario

WEIGHTS = {"a": 1.0, "b": -2.0, "c": 0.5, "d": 3.0, "e": 0.25}


def game(s: frozenset) -> float:
    """A non-additive game: squares and a pairwise interaction."""
    total = sum(WEIGHTS[p] for p in s)
    return total**2 + (2.0 if {"a", "d"} <= s else 0.0)


def brute_force(players, value):
    phi = dict.fromkeys(players, 0.0)
    for order in permutations(players):
        seen: frozenset = frozenset()
        for p in order:
            phi[p] += value(seen | {p}) - value(seen)
            seen = seen | {p}
    return {p: v / math.factorial(len(players)) for p, v in phi.items()}


def test_exact_shapley_matches_permutation_brute_force():
    players = list(WEIGHTS)
    exact = shapley_values(players, game)
    truth = brute_force(players, game)
    for p in players:
        assert exact[p] == pytest.approx(truth[p], abs=1e-12)


def test_sampled_shapley_is_efficient_and_close():
    players = list(WEIGHTS)
    approx = shapley_values(
        players, game, max_exact=2, n_permutations=2000, rng=np.random.default_rng(0)
    )
    full = game(frozenset(players)) - game(frozenset())
    assert sum(approx.values()) == pytest.approx(full, abs=1e-9)
    truth = brute_force(players, game)
    for p in players:
        assert approx[p] == pytest.approx(truth[p], abs=0.35)


def test_statistics():
    x = np.arange(1, 101, dtype=float)
    assert parse_statistic("mean")(x) == pytest.approx(50.5)
    assert parse_statistic("median")(x) == pytest.approx(50.5)
    assert parse_statistic("p95")(x) == pytest.approx(np.quantile(x, 0.95))
    assert parse_statistic("p99.9")(x) == pytest.approx(np.quantile(x, 0.999))
    assert parse_statistic("var")(x) == pytest.approx(np.var(x, ddof=1))
    assert parse_statistic("std")(x) == pytest.approx(np.std(x, ddof=1))
    for bad in ["p0", "p100", "p101", "mode", "p-5", ""]:
        with pytest.raises(InputError):
            parse_statistic(bad)


def test_latin_uniforms_are_stratified():
    u = latin_uniforms(np.random.default_rng(0), 1000)
    assert sorted(np.floor(u * 1000).astype(int)) == list(range(1000))


def _true_change(shape, n_nodes, seed, changed, n_truth=400_000):
    """Population change of the target's mean, from a huge draw of the same SCM."""
    big = make_scenario(shape, n_nodes, n_truth, seed, changed=changed)
    return float(big.after[big.target].mean() - big.before[big.target].mean())


@pytest.mark.parametrize("shape", ["chain", "diamond", "collider"])
def test_contribution_recovers_known_effect(shape):
    """One changed mechanism: its Shapley value for the mean is the whole population change."""
    changed = list(make_scenario(shape, 6, 10, seed=11, n_changes=1).changed)
    sc = make_scenario(shape, 6, 4000, seed=11, changed=changed)  # same seed: same SCM
    truth = _true_change(shape, 6, 11, changed)
    r = explain(sc.graph, sc.before, sc.after, sc.target)
    top = r.nodes[0]
    assert top.node == sc.changed[0]
    assert top.contribution == pytest.approx(truth, abs=0.12 + 0.1 * abs(truth))
    assert sum(n.contribution for n in r.nodes) == pytest.approx(r.fitted_change, abs=1e-9)


def test_two_changes_split_additively_in_linear_model():
    """Linear SCM, mean statistic: each change's Shapley value is its own marginal effect."""
    sc = make_scenario("chain", 5, 6000, seed=5, changed=["X1", "X3"])
    only1 = _true_change("chain", 5, 5, ["X1"])
    only3 = _true_change("chain", 5, 5, ["X3"])
    r = explain(sc.graph, sc.before, sc.after, sc.target)
    got = {n.node: n.contribution for n in r.nodes}
    assert got["X1"] == pytest.approx(only1, abs=0.1 + 0.1 * abs(only1))
    assert got["X3"] == pytest.approx(only3, abs=0.1 + 0.1 * abs(only3))


def test_sampled_shapley_values_come_with_honest_standard_errors():
    # issue 22: a 12-player game with interactions, valued exactly and by sampling
    from causal_attrib.stats.shapley import shapley_estimate

    players = [f"p{i}" for i in range(12)]
    weight = {p: 1.0 + i for i, p in enumerate(players)}

    def value(s: frozenset) -> float:
        total = sum(weight[p] for p in s)
        return total**1.5 + (5.0 if {"p0", "p11"} <= s else 0.0)

    exact = shapley_estimate(players, value, max_exact=12).values
    sampled = shapley_estimate(
        players, value, max_exact=4, n_permutations=256, rng=np.random.default_rng(1)
    )
    assert sampled.orderings == 256 and sampled.errors is not None
    within = [abs(sampled.values[p] - exact[p]) <= 3.5 * sampled.errors[p] for p in players]
    assert sum(within) >= 11  # 3.5 standard errors: a miss is a one-in-two-thousand event
    assert sum(sampled.values.values()) == pytest.approx(
        value(frozenset(players)) - value(frozenset())
    )
    fewer = shapley_estimate(
        players, value, max_exact=4, n_permutations=64, rng=np.random.default_rng(1)
    )
    assert max(fewer.errors.values()) > max(sampled.errors.values())


def test_sampling_stops_once_the_errors_are_within_tolerance():
    from causal_attrib.stats.shapley import ORDERING_BATCH, shapley_estimate

    players = [f"p{i}" for i in range(15)]
    additive = shapley_estimate(
        players, lambda s: float(len(s)), max_exact=4, n_permutations=512,
        rng=np.random.default_rng(0), tolerance=0.01,
    )  # fmt: skip
    assert additive.orderings == ORDERING_BATCH  # every marginal is 1: no error to wait for
    assert all(v == pytest.approx(1.0) for v in additive.values.values())
    assert all(e == 0 for e in additive.errors.values())


def _three_way_game():
    """15 additive players, and a bonus only when p0, p1 and p2 have all joined: an
    interaction of three, which an antithetic pair does not cancel."""
    players = [f"p{i}" for i in range(15)]

    def value(s: frozenset) -> float:
        return float(len(s)) + (9.0 if {"p0", "p1", "p2"} <= s else 0.0)

    return players, value


def test_orderings_stratified_by_the_interacting_players_remove_their_error(monkeypatch):
    # issue 22: 30 changed mechanisms on 200 nodes needed every one of 256 orderings (1.5 %
    # error) because three players interacted; stratifying by their order took 56
    import causal_attrib.stats.shapley as shapley

    players, value = _three_way_game()
    exact = {p: 1.0 + (3.0 if p in ("p0", "p1", "p2") else 0.0) for p in players}
    settings = dict(max_exact=4, n_permutations=256, tolerance=0.001)
    stratified = shapley.shapley_estimate(players, value, rng=np.random.default_rng(3), **settings)
    assert stratified.orderings < 256
    assert max(stratified.errors.values()) <= 0.001 * 24
    assert all(stratified.values[p] == pytest.approx(exact[p], abs=1e-9) for p in players)
    monkeypatch.setattr(shapley, "STRATIFIED_PLAYERS", 0)  # plain antithetic pairs
    plain = shapley.shapley_estimate(players, value, rng=np.random.default_rng(3), **settings)
    assert plain.orderings == 256 and max(plain.errors.values()) > 0.05
    for estimate in (plain, stratified):
        assert sum(estimate.values.values()) == pytest.approx(value(frozenset(players)))


def test_strata_hold_a_pair_whole_and_are_sampled_evenly():
    from causal_attrib.stats.shapley import Strata

    players = [f"p{i}" for i in range(9)]
    strata = Strata.of(["p1", "p4", "p7", "p8"])
    assert len(strata.orders) == 12  # 4! relative orders, up to reversal
    orders = strata.sample(players, 48, np.random.default_rng(0))
    assert len(orders) == 48
    assert all(sorted(o) == sorted(players) for o in orders)
    firsts, seconds = orders[::2], orders[1::2]
    assert all(b == a[::-1] for a, b in zip(firsts, seconds, strict=True))
    hits = [strata.stratum(o) for o in firsts]
    assert hits == [strata.stratum(o) for o in seconds]  # a pair's two orderings agree
    assert sorted(hits) == sorted(list(range(12)) * 2)  # every stratum once per round
