"""Speed-ups that must not move a bit: block hinges and the walker's remembered states."""

from __future__ import annotations

import json

import numpy as np
import pytest

import causal_attrib.models.noise as noise
from causal_attrib import attribute_anomalies
from causal_attrib.models.bases import HINGE_BLOCK, Basis
from causal_attrib.synthetic import make_outlier_scenario


@pytest.mark.parametrize("rows", [7, 2000, HINGE_BLOCK // 3 + 1, HINGE_BLOCK + 5])
def test_block_hinges_sum_like_adding_each_hinge_in_turn(rows):
    rng = np.random.default_rng(rows)
    x = rng.normal(size=rows)
    knots = tuple(float(k) for k in np.quantile(x, np.linspace(0.05, 0.95, 7)))
    basis = Basis(("a",), {"a": knots}, scales={"a": (0.3, 1.7)})
    coef = rng.normal(size=1 + len(knots))
    expected = (x - 0.3) * (coef[0] / 1.7)
    for c, k in zip(coef[1:], knots, strict=True):
        expected += np.maximum(x - k, 0.0) * (c / 1.7)
    assert np.array_equal(basis.term("a", x, coef), expected)


def test_remembered_walk_states_give_the_same_attribution_as_walking_afresh(monkeypatch):
    s = make_outlier_scenario("er", 40, 1000, 3, n_anomalies=3, nonlinear=True)

    def run() -> str:
        r = attribute_anomalies(s.graph, s.reference, s.anomalies, s.target, attribute="all")
        return json.dumps(r.to_dict(), sort_keys=True, default=str)

    remembered = run()
    monkeypatch.setattr(noise, "REMEMBER_PLAYERS", -1)  # no node's states kept
    assert run() == remembered
