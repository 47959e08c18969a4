"""How ``influence`` measures the target's uncertainty: variance or standard deviation
(estimated without nested sampling), or a spread whose conditional version needs it: the
mean absolute deviation, or a percentile of the absolute deviation from the median
(``p95``: the half-width that holds 95 % of the values, robust to heavy tails)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..choices import Spread, values
from ..errors import InputError


@dataclass(frozen=True)
class NestedSpread:
    """A spread measured per block of draws: ``func`` maps rows x draws to one spread per
    row (the spread of the target given the row's kept noises)."""

    name: str
    func: Callable[[np.ndarray], np.ndarray]
    label: str

    def __call__(self, values: np.ndarray) -> float:
        """The spread of one sample."""
        return float(self.func(np.asarray(values, dtype=float)[None, :])[0])


def _mean_abs_deviation(blocks: np.ndarray) -> np.ndarray:
    return np.mean(np.abs(blocks - blocks.mean(axis=1, keepdims=True)), axis=1)


def _percentile_deviation(q: float) -> Callable[[np.ndarray], np.ndarray]:
    def func(blocks: np.ndarray) -> np.ndarray:
        deviation = np.abs(blocks - np.median(blocks, axis=1, keepdims=True))
        return np.quantile(deviation, q / 100.0, axis=1)

    return func


def parse_spread(text: Spread | NestedSpread | str) -> Spread | NestedSpread:
    """``var``, ``std``, ``mean-abs-deviation`` or ``pNN`` (0 < NN < 100)."""
    if isinstance(text, Spread | NestedSpread):
        return text
    name = str(text).strip().lower()
    if name in values(Spread):
        return Spread(name)
    if name in ("mean-abs-deviation", "mad"):
        return NestedSpread("mean-abs-deviation", _mean_abs_deviation, "mean absolute deviation")
    match = re.fullmatch(r"p(\d+(?:\.\d+)?)", name)
    if match and 0.0 < float(match.group(1)) < 100.0:
        q = float(match.group(1))
        return NestedSpread(
            name, _percentile_deviation(q), f"{q:g}th percentile of the absolute deviation"
        )
    raise InputError(
        f"statistic must be var, std, mean-abs-deviation or pNN with 0 < NN < 100 "
        f"(a percentile of the absolute deviation from the median), got {text!r}",
        parameter="statistic",
    )
