"""Shapley values, for every game the tool plays.

``explain`` values coalitions of swapped mechanisms (:func:`shapley_values`: exact over all
coalitions for a few players, else sampled orderings); ``anomaly`` walks orderings of pinned
noises (:func:`shapley_along_orderings`). Both draw orderings here, in antithetic pairs, and
both satisfy efficiency: the values add up to v(all) - v(none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    """Shapley values of a set function over ``players`` (see :func:`shapley_estimate`,
    here with every sampled ordering used)."""
    return shapley_estimate(
        players, value, max_exact=max_exact, n_permutations=n_permutations, rng=rng,
        evaluate=evaluate,
    ).values  # fmt: skip


@dataclass(frozen=True)
class ShapleyEstimate:
    """Shapley values, and for sampled orderings their standard errors and how many
    orderings were used (``errors`` is ``None`` for exact values)."""

    values: dict[str, float]
    errors: dict[str, float] | None = None
    orderings: int = 0


ORDERING_BATCH = 32
"""Orderings sampled between two checks of the standard errors (16 antithetic pairs)."""


def shapley_estimate(
    players: Sequence[str],
    value: Callable[[frozenset], float],
    *,
    max_exact: int = 10,
    n_permutations: int = 256,
    rng: np.random.Generator | None = None,
    evaluate: Callable[[list[frozenset]], list[float]] | None = None,
    tolerance: float = 0.0,
) -> ShapleyEstimate:
    """Shapley values of a set function over ``players``, with standard errors when sampled.

    Exact (all 2^k coalitions) for ``k <= max_exact`` players; otherwise an average over
    random orderings in antithetic pairs (each followed by its reverse). Both satisfy
    efficiency: the values add up to v(all) - v(none). A sampled value's standard error
    comes from the spread of its marginal contributions over the pairs (a pair's mean is
    one draw, since a pair's two orderings are not independent).

    Orderings are drawn in batches of :data:`ORDERING_BATCH`, up to ``n_permutations``;
    with ``tolerance > 0`` sampling stops once every standard error is at most
    ``tolerance`` times ``|v(all) - v(none)|``. Each batch's coalitions are listed first
    and valued in one call of ``evaluate`` (default: ``value`` on each in turn), so an
    engine can value them in parallel; the sums run in a fixed order afterwards, so the
    result does not depend on where they ran.
    """
    players = list(players)
    k = len(players)
    if k == 0:
        return ShapleyEstimate({})
    evaluate = evaluate or (lambda coalitions: [value(c) for c in coalitions])
    if k <= max_exact:
        needed = [frozenset(c) for size in range(k + 1) for c in combinations(players, size)]
        return ShapleyEstimate(_exact(players, dict(zip(needed, evaluate(needed), strict=True))))
    rng = rng or np.random.default_rng(0)
    v: dict[frozenset, float] = {}
    phi = dict.fromkeys(players, 0.0)
    pairs: list[dict[str, float]] = []
    used = 0
    while used < max(2, n_permutations):
        orders = sample_orderings(players, min(ORDERING_BATCH, n_permutations - used), rng)
        _value_new(orders, v, evaluate)
        for first, second in zip(orders[::2], orders[1::2], strict=True):
            pair = _marginals(first, v)
            for p, x in _marginals(second, v).items():
                phi[p] += pair[p]
                phi[p] += x
                pair[p] = (pair[p] + x) / 2.0
            pairs.append(pair)
        used += len(orders)
        errors = _errors(players, pairs)
        scale = abs(v[frozenset(players)] - v[frozenset()])
        if tolerance > 0 and max(errors.values()) <= tolerance * scale:
            break
    return ShapleyEstimate({p: t / used for p, t in phi.items()}, errors, used)


def _value_new(orders, v: dict[frozenset, float], evaluate) -> None:
    """Value the coalitions along ``orders`` that ``v`` does not hold yet."""
    seen: dict[frozenset, None] = {}
    for order in orders:
        for i in range(len(order) + 1):
            c = frozenset(order[:i])
            if c not in v:
                seen[c] = None
    needed = list(seen)
    v.update(zip(needed, evaluate(needed), strict=True))


def _marginals(order: Sequence[str], v: dict[frozenset, float]) -> dict[str, float]:
    """Each player's marginal contribution along one ordering."""
    out, coalition = {}, frozenset()
    previous = v[coalition]
    for player in order:
        coalition = coalition | {player}
        out[player] = v[coalition] - previous
        previous = v[coalition]
    return out


def _errors(players: Sequence[str], pairs: list[dict[str, float]]) -> dict[str, float]:
    """Standard error of each player's mean marginal contribution over the pairs."""
    n = len(pairs)
    if n < 2:
        return dict.fromkeys(players, math.inf)
    return {p: float(np.std([d[p] for d in pairs], ddof=1) / math.sqrt(n)) for p in players}


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
