"""Mechanisms give their noise and take it back: the noise read off an observed row,
pinned, reproduces that row's value from the same parents (the counterfactual anomaly
attribution rests on)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from causal_attrib.models.bases import ANOMALY_MODELS, QuadraticModels, SplineModels
from causal_attrib.models.mechanisms import (
    AdditiveNoiseMechanism,
    ClassifierMechanism,
    EmpiricalMechanism,
    FixedNoise,
)

RNG = np.random.default_rng(7)
X = RNG.normal(size=800)
U = RNG.random(50)


def test_additive_noise_round_trip_and_noise_from_chosen_rows():
    y = 2.0 * X + np.maximum(X, 0.0) + RNG.normal(scale=0.3, size=X.size)
    basis = SplineModels().make_basis(["x"], {"x": X}, y, frozenset())
    mech = AdditiveNoiseMechanism.fit(basis, {"x": X}, y)
    row = {"x": np.array([1.7])}
    noise = mech.noise_of(row, np.array([9.0]))[0]
    assert mech.predict(row)[0] + noise == pytest.approx(9.0)
    pinned = FixedNoise(mech, noise).sample(row, U)
    assert np.allclose(pinned, 9.0)  # the same luck for every draw
    moved = FixedNoise(mech, noise).sample({"x": np.array([2.7])}, U)
    assert np.allclose(moved, mech.predict({"x": np.array([2.7])})[0] + noise)
    first = np.arange(X.size) < 100
    part = AdditiveNoiseMechanism.fit(basis, {"x": X}, y, noise_rows=first)
    assert part.noise_values.size == 100 and np.array_equal(part.coef, mech.coef)
    assert mech.decomposable and mech.term("x", X).shape == X.shape


def test_a_root_noise_is_its_value():
    mech = EmpiricalMechanism.fit(RNG.normal(size=99))
    assert mech.noise_of({}, np.array([3.5]))[0] == 3.5
    assert np.all(FixedNoise(mech, 3.5).sample({}, U) == 3.5)
    assert mech.typical({}) == pytest.approx(np.median(mech.values))
    levels = EmpiricalMechanism.fit(np.array(["b", "a", "b", "c"], dtype=object))
    assert levels.typical({}) == "b"


def test_a_level_noise_reproduces_the_level_and_lets_parents_change_it():
    y = np.where(X + RNG.normal(scale=0.5, size=X.size) > 0, "up", "down").astype(object)
    basis = SplineModels().make_basis(["x"], {"x": X}, y, frozenset())
    mech = ClassifierMechanism.fit(basis, {"x": X}, y)
    row = {"x": np.array([0.1])}
    (noise,) = mech.noise_of(row, np.array(["up"], dtype=object))
    assert 0.0 <= noise.low < noise.high <= 1.0
    assert set(FixedNoise(mech, noise).sample(row, U)) == {"up"}
    far = FixedNoise(mech, noise).sample({"x": np.full(U.size, -6.0)}, U)
    assert "down" in set(far)  # the same luck, with a parent far down, gives another level
    (unseen,) = mech.noise_of(row, np.array(["sideways"], dtype=object))
    assert unseen.low is None and set(FixedNoise(mech, unseen).sample(row, U)) == {"sideways"}
    assert mech.noise_values is None and not mech.decomposable


def test_a_classifier_whose_parents_give_no_features_still_predicts():
    """A categorical node whose only parent has one level has no features; fitting padded
    the design but predicting did not (exit 3, found by the property test)."""
    parent = np.array(["same"] * 60, dtype=object)
    y = np.array(["a", "b", "b"] * 20, dtype=object)
    basis = SplineModels().make_basis(["p"], {"p": parent}, y, frozenset({"p"}))
    assert basis.n_features == 1  # the intercept alone
    mech = ClassifierMechanism.fit(basis, {"p": parent}, y)
    proba = mech.proba({"p": parent[:4]})
    assert proba.shape == (4, 2) and np.allclose(proba[:, 1], 2 / 3, atol=0.01)


def test_quadratic_basis_extrapolates_a_square_and_its_terms_add_up():
    """y = x0^2 + x1 + noise on x0 in [-3, 3]: at x0 = 10 the quadratic fit gives ~100,
    where hinge splines continue with their last slope; the additive parts
    (:meth:`term`) of a basis without products add up to the prediction."""
    rng = np.random.default_rng(0)
    x0, x1 = rng.normal(size=3000), rng.normal(size=3000)
    data = {"x0": x0, "x1": x1}
    y = x0**2 + x1 + 0.1 * rng.normal(size=3000)
    far = {"x0": np.array([10.0]), "x1": np.array([0.0])}
    squares = replace(QuadraticModels().make_basis(["x0", "x1"], data, y, frozenset()), products=())
    quad = AdditiveNoiseMechanism.fit(squares, data, y)
    assert quad.predict(far)[0] == pytest.approx(100.0, rel=0.02)
    spline = AdditiveNoiseMechanism.fit(
        SplineModels().make_basis(["x0", "x1"], data, y, frozenset()), data, y
    )
    assert spline.predict(far)[0] < 70.0
    assert quad.decomposable and not quad.interactions  # squares only: per-parent terms
    parts = quad.coef[0] + sum(quad.term(p, far[p]) for p in ("x0", "x1"))
    assert parts[0] == pytest.approx(quad.predict(far)[0])


def test_cross_validation_picks_quadratic_for_a_product_and_splines_for_a_saturation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=4000), rng.normal(size=4000)
    data = {"a": a, "b": b}
    noise = 0.2 * rng.normal(size=4000)
    product = ANOMALY_MODELS.make_basis(["a", "b"], data, a * b + noise, frozenset())
    assert product.family == "quadratic" and not product.additive
    saturation = ANOMALY_MODELS.make_basis(["a", "b"], data, np.tanh(3 * a) + noise, frozenset())
    assert saturation.family == "spline"


def _family(name: str):
    from causal_attrib.models.bases import PairwiseModels, QuadraticModels, SplineModels

    return {"splines": SplineModels(), "pairs": PairwiseModels(), "quadratic": QuadraticModels()}[
        name
    ]


@pytest.mark.parametrize("family", ["splines", "pairs", "quadratic"])
def test_nodes_simulate_as_the_sum_of_cached_parent_and_pair_terms(family):
    # issue 22: a decomposable node's values are summed from per-parent terms cached per the
    # players above each parent; they must equal the whole design's prediction
    import networkx as nx

    from causal_attrib.models.fitting import fit_on_basis as fit_mechanism
    from causal_attrib.models.interventions import InterventionModel

    rng = np.random.default_rng(0)
    n = 500
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = np.tanh(a) + b**2 + rng.normal(size=n)
    t = 2 * c + rng.normal(size=n)
    data = {"a": a, "b": b, "c": c, "t": t}
    g = nx.DiGraph([("a", "c"), ("b", "c"), ("c", "t")])

    def mechanisms(shift: float) -> dict:
        out = {}
        for node in ("a", "b", "c", "t"):
            parents = tuple(sorted(g.predecessors(node)))
            pdata = {p: data[p] for p in parents}
            basis = _family(family).make_basis(parents, pdata, data[node], frozenset())
            out[node] = fit_mechanism(basis, pdata, data[node] + shift, False)
        return out

    old, new = mechanisms(0.0), mechanisms(1.0)
    assert old["c"].decomposable and len(old["c"].basis.parents) == 2
    assert bool(old["c"].basis.pairs) == (family == "pairs")
    assert bool(old["c"].basis.products) == (family == "quadratic")
    uniforms = {k: rng.random(2000) for k in data}
    model = InterventionModel(g, "t", old, new, ["a", "c"], uniforms, np.mean)
    for coalition in (frozenset(), frozenset({"a"}), frozenset({"a", "c"}), frozenset({"c"})):
        by_terms = model.simulate(coalition)
        values = {}
        for node in ("a", "b", "c", "t"):
            mech = new[node] if node in coalition else old[node]
            values[node] = mech.sample({p: values[p] for p in g.predecessors(node)}, uniforms[node])
        np.testing.assert_allclose(by_terms, values["t"], rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("family", ["splines", "pairs", "quadratic"])
def test_the_anomaly_walk_sums_terms_as_the_whole_design_predicts(family):
    # issue 22: the noise walker re-simulates a node from the terms of the parents that
    # moved (products and pairs too); every step must match simulating the node whole
    import networkx as nx

    from causal_attrib.models.fitting import fit_on_basis as fit_mechanism
    from causal_attrib.models.mechanisms import FixedNoise
    from causal_attrib.models.noise import NoiseWalker

    rng = np.random.default_rng(2)
    n = 600
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = a * b + np.maximum(a, b) + 0.3 * rng.normal(size=n)
    data = {"a": a, "b": b, "c": c}
    g = nx.DiGraph([("a", "c"), ("b", "c")])
    order, parents = ["a", "b", "c"], {"a": (), "b": (), "c": ("a", "b")}
    mechanisms = {}
    for node in order:
        pdata = {p: data[p] for p in parents[node]}
        basis = _family(family).make_basis(parents[node], pdata, data[node], frozenset())
        mechanisms[node] = fit_mechanism(basis, pdata, data[node], False)
    assert bool(mechanisms["c"].basis.products) == (family == "quadratic")
    uniforms = {k: rng.random(1000) for k in order}
    descendants = {k: [k, *sorted(nx.descendants(g, k))] for k in order}
    walker = NoiseWalker(order, parents, mechanisms, descendants, uniforms)
    assert "c" in walker.summed
    row = {"a": 2.5, "b": -1.0, "c": 4.0}
    pinned = {}
    for node in order:
        pdata = {p: np.array([row[p]]) for p in parents[node]}
        noise = mechanisms[node].noise_of(pdata, np.array([row[node]]))[0]
        pinned[node] = FixedNoise(mechanisms[node], noise)
    seen = []
    phi = dict.fromkeys(order, 0.0)
    walker.walk(["b", "a", "c"], pinned, "c", lambda x: seen.append(x.copy()) or 0.0, 0.0, phi)
    for coalition, got in zip(({"b"}, {"a", "b"}, {"a", "b", "c"}), seen, strict=True):
        values = {}
        for node in order:
            mech = pinned[node] if node in coalition else mechanisms[node]
            values[node] = mech.sample({p: values[p] for p in parents[node]}, uniforms[node])
        np.testing.assert_allclose(got, values["c"], rtol=1e-10, atol=1e-10)
