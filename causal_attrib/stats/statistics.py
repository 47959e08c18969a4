"""The statistic of the target whose change is explained: mean, median, std, var, pNN, or
a categorical target's share of one level."""

from __future__ import annotations

import math
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
        """Evaluate the statistic on a sample: a finite number, or an
        :class:`~causal_attrib.errors.InputError` naming the statistic (a NaN would make
        every contribution NaN without a word)."""
        try:
            value = float(self.func(values))
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"statistic {self.name!r} did not return a number ({exc})", parameter="statistic"
            ) from None
        if not math.isfinite(value):
            raise InputError(
                f"statistic {self.name!r} returned {value} on {len(values)} value(s); a "
                "statistic must return a finite number",
                parameter="statistic",
            )
        return value


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
            raise InputError(
                f"quantile statistic {text!r} must be between p0 and p100 (exclusive)",
                parameter="statistic",
            )
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
                f"target_level applies to categorical targets; {target!r} is numeric",
                parameter="target_level",
            )
        return stat, None
    if stat.name != "mean":
        raise InputError(
            f"target {target!r} is categorical: what changes is the share of one level "
            "(target_level), so explain the statistic 'mean'",
            parameter="statistic",
        )
    level = target_level if target_level is not None else choose_level(before, after)
    if level not in set(before) | set(after):
        raise InputError(
            f"target_level {level!r} never occurs in {target!r}", parameter="target_level"
        )
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
