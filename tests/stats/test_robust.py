"""Robust calibration of a node's noise: coarse metrics, earlier excursions, and what n
reference rows can support."""

from __future__ import annotations

import math

import numpy as np

from causal_attrib.stats.robust import EXCURSION, RobustCalibration, resolution


def test_a_one_step_move_of_a_coarse_metric_is_about_one_sd_not_the_cap():
    rng = np.random.default_rng(0)
    memory = 512.0 + 0.25 * rng.choice([0, 0, 0, 1, 1, 2], size=60)  # 3 distinct values
    step = resolution(memory)
    assert step == 0.25
    calibration = RobustCalibration.fit(memory - np.median(memory), step)
    moved = calibration.deviation(memory.max() + 0.25 - np.median(memory))
    assert float(moved) <= 3.0
    assert float(calibration.score(memory.max() + 0.25 - np.median(memory))) < 5.0


def test_a_flat_reference_takes_the_first_move_as_one_step():
    flat = np.full(60, 0.0046)
    assert resolution(flat, np.array([0.0046, 0.0051])) == np.float64(0.0051 - 0.0046)
    calibration = RobustCalibration.fit(flat - 0.0046, resolution(flat, np.array([0.0051])))
    assert np.isclose(float(calibration.deviation(0.0005)), 1.0)


def test_scores_never_exceed_what_the_reference_rows_support():
    rng = np.random.default_rng(1)
    calibration = RobustCalibration.fit(rng.normal(size=60))
    assert calibration.rows == 60
    assert math.isclose(float(calibration.score(1e6)), math.log(61))
    assert float(calibration.deviation(1e6)) > 1e5  # the deviation still orders candidates


def test_earlier_excursions_neither_widen_the_spread_nor_count_as_normal():
    rng = np.random.default_rng(2)
    clean = rng.normal(size=55)
    with_faults = np.concatenate([clean, np.full(5, 40.0)])  # an earlier incident
    robust = RobustCalibration.fit(with_faults)
    reference = RobustCalibration.fit(clean)
    assert robust.excluded == 5
    assert abs(robust.scale - reference.scale) < 0.15 * reference.scale
    assert float(robust.deviation(40.0)) > 3 * EXCURSION  # the level the fault reached


def test_mostly_tied_rows_keep_the_spread_of_the_others():
    rng = np.random.default_rng(3)
    bucket = np.concatenate([np.full(40, 0.0046), 0.0046 + rng.normal(0, 1e-4, 25)])
    calibration = RobustCalibration.fit(bucket - np.median(bucket), resolution(bucket))
    assert float(calibration.deviation(1e-4)) < 3.0  # a typical jitter, not a fault


def test_a_tail_scorer_does_not_give_the_cap_for_one_step_past_a_coarse_reference():
    from causal_attrib.stats.scores import TailScorer

    rng = np.random.default_rng(4)
    memory = 15.25 + 0.25 * rng.choice([0, 1, 1, 2], size=60)  # 3 levels, 0.25 MiB apart
    fitted = TailScorer().fit(memory)
    one_step = fitted.score_one(memory.max() + 0.25)
    assert one_step < math.log(61) + 2.0  # about one nat past the top of the reference
    assert fitted.score_one(memory.max() + 25.0) > 3 * one_step  # far moves still stand out
