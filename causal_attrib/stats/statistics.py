"""The statistic of the target whose change is explained: mean, median, std, var, pNN, or
a categorical target's share of one level."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError


@dataclass(frozen=True)
class Statistic:
    """A named summary of the target's distribution (the quantity whose change we explain)."""

    name: str
    func: Callable[[np.ndarray], float]

    def __call__(self, values: np.ndarray) -> float:
        """Evaluate the statistic on a sample."""
        return float(self.func(values))


def parse_statistic(text: str) -> Statistic:
    """Turn ``mean``, ``median``, ``std``, ``var`` or ``pNN`` (e.g. ``p95``, ``p99.9``) into a
    :class:`Statistic`.

    Raises
    ------
    InputError
        For an unknown name or a quantile outside (0, 100).
    """
    name = text.strip().lower()
    simple = {
        "mean": np.mean,
        "median": np.median,
        "std": lambda x: np.std(x, ddof=1) if len(x) > 1 else 0.0,
        "var": lambda x: np.var(x, ddof=1) if len(x) > 1 else 0.0,
    }
    if name in simple:
        return Statistic(name, simple[name])
    m = re.fullmatch(r"p(\d+(?:\.\d+)?)", name)
    if m:
        q = float(m.group(1))
        if not 0.0 < q < 100.0:
            raise InputError(f"quantile statistic {text!r} must be between p0 and p100 (exclusive)")
        return Statistic(name, lambda x, q=q: np.quantile(x, q / 100.0))
    raise InputError(
        f"unknown statistic {text!r}: use mean, median, std, var or a quantile such as p95"
    )


def target_measure(
    stat: Statistic,
    target: str,
    categorical: bool,
    before: np.ndarray,
    after: np.ndarray,
    target_level: str | None = None,
) -> tuple[Callable[[np.ndarray], float], str | None]:
    """The function of target values whose change is explained, and for a categorical
    target the level whose share it measures (default: the one whose share changed most).

    ``before`` and ``after`` are the target's values (level labels when categorical).
    ``explain`` and ``explain --by`` both measure with it, so every segment measures what
    the overall analysis does.
    """
    if not categorical:
        if target_level is not None:
            raise InputError(
                f"--target-level applies to categorical targets; {target!r} is numeric"
            )
        return stat, None
    if stat.name != "mean":
        raise InputError(
            f"target {target!r} is categorical: its statistic is the share of one level "
            "(--target-level), so use --statistic mean"
        )
    level = target_level if target_level is not None else choose_level(before, after)
    if level not in set(before) | set(after):
        raise InputError(f"--target-level {level!r} never occurs in {target!r}")
    return level_share(level), level


def level_share(level: str) -> Callable[[np.ndarray], float]:
    """The share of ``level`` among level labels (0 for no values)."""
    return lambda x: float(np.mean(x == level)) if len(x) else 0.0


def choose_level(before: Sequence[str], after: Sequence[str]) -> str:
    """The category whose share changed most; ties go to the alphabetically first level."""
    b = pd.Series(before).value_counts(normalize=True)
    a = pd.Series(after).value_counts(normalize=True)
    levels = sorted(set(b.index) | set(a.index))
    change = {lv: abs(a.get(lv, 0.0) - b.get(lv, 0.0)) for lv in levels}
    return max(levels, key=lambda lv: change[lv])  # max keeps the first of equal levels
