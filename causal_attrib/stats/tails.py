"""Upper tail probabilities (chi-square, F, two-sample Kolmogorov-Smirnov) without
importing ``scipy.stats``.

``scipy.stats`` costs about 0.7 s of CPU to import, more than ``explain`` spends on a
40-node graph. The functions here evaluate what ``scipy.stats.chi2.sf``, ``f.sf`` and
``ks_2samp(method="asymp")`` evaluate, in the same order, so the p-values are the same to
the last bit (``tests/unit/test_tails.py`` compares them).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

import numpy as np
import scipy
from scipy import special


def chi2_sf(statistic, df):
    """P(chi-square with ``df`` degrees of freedom > ``statistic``), ``df`` > 0 (arrays
    broadcast); 1 at or below zero, as ``scipy.stats.chi2.sf``."""
    x = np.asarray(statistic, dtype=float)
    return np.where(x <= 0, 1.0, special.chdtrc(np.asarray(df, dtype=float), x))


def f_sf(statistic, dfn, dfd):
    """P(F with ``dfn``, ``dfd`` degrees of freedom > ``statistic``), both > 0; 1 at or
    below zero, as ``scipy.stats.f.sf``."""
    x = np.asarray(statistic, dtype=float)
    tail = special.fdtrc(np.asarray(dfn, dtype=float), np.asarray(dfd, dtype=float), x)
    return np.where(x <= 0, 1.0, tail)


def ks_2samp_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided p-value of the two-sample Kolmogorov-Smirnov test with Smirnov's
    asymptotic distribution: ``scipy.stats.ks_2samp(a, b, method="asymp").pvalue``."""
    a, b = np.sort(a), np.sort(b)
    n1, n2 = a.shape[0], b.shape[0]
    both = np.concatenate([a, b])
    diffs = (
        np.searchsorted(a, both, side="right") / n1 - np.searchsorted(b, both, side="right") / n2
    )
    below = np.clip(-diffs[np.argmin(diffs)], 0, 1)
    above = diffs[np.argmax(diffs)]
    d = below if below > above else above
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = np.round(m * n / (m + n))
    kolmogn = _kolmogn()
    if kolmogn is None:  # a SciPy without the module: the slow import, the same value
        from scipy import stats

        return float(stats.ks_2samp(a, b, method="asymp").pvalue)
    if np.isnan(d):
        return float("nan")
    if d <= 0.5 / en:  # below the support of scipy.stats.kstwo
        return 1.0
    if d >= 1.0:
        return 0.0
    return float(np.clip(kolmogn(en, d, cdf=False), 0, 1))


@cache
def _kolmogn():
    """SciPy's Kolmogorov distribution (``scipy/stats/_ksstats.py``, which reads only
    numpy and ``scipy.special``), loaded without the ``scipy.stats`` package around it."""
    path = Path(scipy.__file__).parent / "stats" / "_ksstats.py"
    spec = importlib.util.spec_from_file_location("causal_attrib_kolmogorov", path)
    if spec is None or spec.loader is None or not path.is_file():
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception:  # a SciPy whose private module reads more: take the public path
        return None
    return getattr(module, "kolmogn", None)
