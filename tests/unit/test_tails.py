"""The tail probabilities of stats/tails.py equal scipy.stats's to the last bit."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from scipy import stats

from causal_attrib.stats.tails import chi2_sf, f_sf, ks_2samp_p


def test_chi2_and_f_tails_are_bit_identical_to_scipy_stats():
    rng = np.random.default_rng(0)
    x = np.concatenate([[0.0, -1.0, 1e-300, 1e4, np.inf], rng.exponential(5.0, 200)])
    for df in (1, 2, 3, 7.0, 40, 1000):
        assert np.array_equal(chi2_sf(x, df), stats.chi2.sf(x, df))
        for dfd in (1, 5, 1996):
            assert np.array_equal(f_sf(x, df, dfd), stats.f.sf(x, df, dfd))
    dfs = rng.integers(1, 30, len(x))
    assert np.array_equal(chi2_sf(x, dfs), stats.chi2.sf(x, dfs))


def test_ks_p_value_is_bit_identical_to_scipy_asymptotic_ks_2samp():
    rng = np.random.default_rng(1)
    cases = [(rng.normal(size=n1), rng.normal(shift, 1.0, n2))
             for n1, n2 in [(5, 7), (40, 40), (150, 90), (2000, 2000), (1000, 3000)]
             for shift in (0.0, 0.05, 0.3, 3.0)]  # fmt: skip
    ties = rng.integers(0, 4, 300).astype(float), rng.integers(0, 5, 200).astype(float)
    same = rng.normal(size=50)
    for a, b in [*cases, ties, (same, same.copy())]:
        assert ks_2samp_p(a, b) == stats.ks_2samp(a, b, method="asymp").pvalue


def test_explain_path_does_not_import_scipy_stats():
    code = (
        "import sys, causal_attrib.analyses.explain, causal_attrib.analyses.anomaly;"
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
