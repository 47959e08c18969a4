"""Draws shared by every analysis: stratified uniforms (common random numbers) and
permutations, exhaustive when there are few."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np


def latin_uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Stratified uniforms: one draw in each of ``n`` equal strata, in random order."""
    return (rng.permutation(n) + rng.random(n)) / n


def every_permutation(n: int, limit: int) -> list[tuple[int, ...]] | None:
    """All orderings of ``range(n)`` when there are at most ``limit`` of them, else ``None``
    (the caller samples instead)."""
    if math.factorial(n) > limit:
        return None
    return list(permutations(range(n)))
