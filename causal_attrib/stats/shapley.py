"""Shapley values, for every game the tool plays.

``explain`` values coalitions of swapped mechanisms (:func:`shapley_values`: exact over all
coalitions for a few players, else sampled orderings); ``anomaly`` walks orderings of pinned
noises (:func:`shapley_along_orderings`). Both draw orderings here, in antithetic pairs, and
both satisfy efficiency: the values add up to v(all) - v(none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from itertools import combinations

import numpy as np

from .sampling import every_permutation


def shapley_values(
    players: Sequence[str],
    value: Callable[[frozenset], float],
    *,
    max_exact: int = 10,
    n_permutations: int = 256,
    rng: np.random.Generator | None = None,
    evaluate: Callable[[list[frozenset]], list[float]] | None = None,
) -> dict[str, float]:
    """Shapley values of a set function over ``players``.

    Exact (all 2^k coalitions) for ``k <= max_exact`` players; otherwise an average over
    ``n_permutations`` random orderings, half of them the reverse of the other half
    (antithetic pairs). Both satisfy efficiency: the values add up to v(all) - v(none).

    The coalitions needed are listed first and valued in one call of ``evaluate`` (default:
    ``value`` on each in turn), so an engine can value them in parallel batches; the sums
    run in a fixed order afterwards, so the result does not depend on where they ran.
    """
    players = list(players)
    k = len(players)
    if k == 0:
        return {}
    exact = k <= max_exact
    orders: list[list[str]] = []
    if exact:
        needed = [frozenset(c) for size in range(k + 1) for c in combinations(players, size)]
    else:
        orders = sample_orderings(players, n_permutations, rng or np.random.default_rng(0))
        seen: dict[frozenset, None] = {frozenset(): None}
        for order in orders:
            for i in range(1, k + 1):
                seen[frozenset(order[:i])] = None
        needed = list(seen)
    valued = evaluate(needed) if evaluate is not None else [value(c) for c in needed]
    v = dict(zip(needed, valued, strict=True))
    phi = dict.fromkeys(players, 0.0)
    if exact:
        return _exact(players, v)
    for order in orders:
        coalition: frozenset = frozenset()
        previous = v[coalition]
        for player in order:
            coalition = coalition | {player}
            current = v[coalition]
            phi[player] += current - previous
            previous = current
    return {p: total / len(orders) for p, total in phi.items()}


def _exact(players: list[str], v: dict[frozenset, float]) -> dict[str, float]:
    """Shapley values from the values of every coalition (the subset formula)."""
    k = len(players)
    weights = [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    phi = dict.fromkeys(players, 0.0)
    for i, player in enumerate(players):
        others = players[:i] + players[i + 1 :]
        for size in range(k):
            for subset in combinations(others, size):
                s = frozenset(subset)
                phi[player] += weights[size] * (v[s | {player}] - v[s])
    return phi


def sample_orderings(
    players: Sequence[str], n_permutations: int, rng: np.random.Generator
) -> list[list[str]]:
    """``n_permutations`` random orderings of ``players`` in antithetic pairs (each followed
    by its reverse), which halves the variance of marginal contributions along a chain."""
    orders: list[list[str]] = []
    for _ in range(max(1, n_permutations // 2)):
        perm = [players[j] for j in rng.permutation(len(players))]
        orders += [perm, perm[::-1]]
    return orders


def orderings(
    players: Sequence[str], n_permutations: int, rng: np.random.Generator
) -> list[list[str]]:
    """Every ordering when there are at most ``n_permutations`` (exact Shapley values),
    else :func:`sample_orderings`."""
    every = every_permutation(len(players), n_permutations)
    if every is None:
        return sample_orderings(players, n_permutations, rng)
    return [[players[j] for j in order] for order in every]


def shapley_along_orderings(
    players: Sequence[str],
    orders: Sequence[Sequence[str]],
    walk: Callable[[Sequence[str], dict[str, float]], float],
) -> tuple[dict[str, float], float | None]:
    """Shapley values of a game walked one ordering at a time, and the grand coalition's
    value.

    ``walk(ordering, phi)`` adds each player's marginal contribution along ``ordering`` to
    ``phi`` and returns the value once every player has joined. Games whose coalitions
    share most of their work along an ordering (re-simulating only what a new player
    changes) are cheaper this way than valued coalition by coalition.
    """
    phi = dict.fromkeys(players, 0.0)
    grand = None
    for ordering in orders:
        grand = walk(ordering, phi)
    return {p: v / max(len(orders), 1) for p, v in phi.items()}, grand
