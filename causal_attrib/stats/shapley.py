"""Shapley values, for every game the tool plays.

``explain`` values coalitions of swapped mechanisms (:func:`shapley_estimate`: exact over
all coalitions for a few players, else sampled orderings); ``anomaly`` walks orderings of
pinned noises (:func:`shapley_walked`: every ordering for a few players, else sampled).
Sampled orderings come in antithetic pairs, stratified once the players with the largest
errors are known, with a standard error per player, until the errors are small enough.
Every estimate satisfies efficiency: the values add up to v(all) - v(none).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations, permutations

import numpy as np

from ..errors import InputError, InputTypeError
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

SHAPLEY_TOLERANCE = 0.01
"""The analyses' stopping rule for sampled orderings: every standard error at most this
share of the game's scale (``explain``: the fitted change; ``anomaly``: the row's score)."""


@dataclass(frozen=True)
class ShapleyConfig:
    """How Shapley values are computed, with one meaning in every analysis: exactly (every
    coalition or ordering) up to ``max_exact_players`` players; beyond, from at most
    ``n_permutations`` sampled orderings (antithetic pairs), stopping earlier once every
    standard error is within ``tolerance`` of the game's scale."""

    max_exact_players: int = 10
    n_permutations: int = 256
    tolerance: float = SHAPLEY_TOLERANCE

    def __post_init__(self) -> None:
        for name, low in (("max_exact_players", 0), ("n_permutations", 2)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise InputTypeError(
                    f"{name} must be a whole number, not {value!r}", parameter=name
                )
            if value < low:
                raise InputError(f"{name} must be at least {low}, not {value}", parameter=name)
        if not (isinstance(self.tolerance, int | float) and 0 <= self.tolerance < 1):
            raise InputError(
                f"tolerance must be a number from 0 to 1, not {self.tolerance!r}",
                parameter="tolerance",
            )


STRATIFIED_PLAYERS = 4
"""After the first batch, orderings are stratified by the relative order of this many
players, those with the largest standard errors (12 strata of antithetic pairs)."""


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
    ``tolerance`` times ``|v(all) - v(none)|``. After the first batch, the orderings are
    stratified (:class:`Strata`) by the relative order of the players whose errors were
    largest: their errors come from how they interact with each other, which an antithetic
    pair cancels for two players but not for three or more. Each batch's coalitions are
    listed first and valued in one call of ``evaluate`` (default: ``value`` on each in
    turn), so an engine can value them in parallel; the sums run in a fixed order
    afterwards, so the result does not depend on where they ran.
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

    def pairs_of(orders: list[list[str]]) -> list[Pair]:
        _value_new(orders, v, evaluate)
        return [
            Pair(a, _marginals(a, v), _marginals(b, v))
            for a, b in zip(orders[::2], orders[1::2], strict=True)
        ]

    def scale() -> float:
        return abs(v[frozenset(players)] - v[frozenset()])

    return _sampled(players, pairs_of, n_permutations, rng, tolerance, scale)


@dataclass(frozen=True)
class Pair:
    """An antithetic pair: the first ordering, and each player's marginal contribution
    along it and along its reverse."""

    order: Sequence[str]
    first: dict[str, float]
    second: dict[str, float]


def _sampled(
    players: list[str],
    pairs_of: Callable[[list[list[str]]], list[Pair]],
    n_permutations: int,
    rng: np.random.Generator,
    tolerance: float,
    scale: Callable[[], float],
) -> ShapleyEstimate:
    """Sample antithetic pairs of orderings in batches until every standard error is
    within ``tolerance * scale()`` or ``n_permutations`` orderings were walked; after the
    first batch, stratified by the players with the largest errors (:class:`Strata`)."""
    pairs: list[Pair] = []
    strata: Strata | None = None
    cap = max(2, n_permutations)
    while len(pairs) * 2 < cap:
        room = min(ORDERING_BATCH, cap - 2 * len(pairs))
        if strata is None or room < 2 * len(strata.orders):
            pairs += pairs_of(sample_orderings(players, room, rng))
        else:
            pairs += pairs_of(strata.sample(players, room, rng))
        values, errors = _estimate(players, pairs, strata)
        if tolerance > 0 and max(errors.values()) <= tolerance * scale():
            break
        if strata is None and 2 < STRATIFIED_PLAYERS < len(players):  # pairs cancel two
            strata = Strata.of(sorted(players, key=lambda p: -errors[p])[:STRATIFIED_PLAYERS])
            values, errors = _estimate(players, pairs, strata)
    return ShapleyEstimate(values, errors, 2 * len(pairs))


@dataclass(frozen=True)
class Strata:
    """Antithetic pairs grouped by the relative order of a few players.

    An ordering and its reverse put these players in reverse relative orders, so a pair
    falls in one of ``len(orders)`` equally likely strata (the players' orders up to
    reversal). Sampling each stratum equally often removes the variance that comes from
    which relative order chance picked; the estimate weights the strata equally, so pairs
    drawn before the strata were chosen count too, in the stratum they fell in.
    """

    players: tuple[str, ...]
    orders: tuple[tuple[str, ...], ...]
    """One relative order per stratum (the other is its reverse)."""

    @classmethod
    def of(cls, players: Sequence[str]) -> Strata:
        """The strata of these players' relative orders."""
        orders = [o for o in permutations(players) if o <= o[::-1]]
        return cls(tuple(players), tuple(orders))

    def stratum(self, ordering: Sequence[str]) -> int:
        """The stratum of the pair that starts with ``ordering``."""
        seen = tuple(p for p in ordering if p in self.players)
        return self.orders.index(min(seen, seen[::-1]))

    def sample(self, players: Sequence[str], room: int, rng: np.random.Generator) -> list:
        """Whole rounds of antithetic pairs, one pair per stratum in each round (at most
        ``room`` orderings): a random ordering whose stratified players are put, in its
        slots for them, in the stratum's order."""
        out: list[list[str]] = []
        for _ in range(max(1, room // (2 * len(self.orders)))):
            for order in self.orders:
                perm = [players[j] for j in rng.permutation(len(players))]
                slots = iter(order)
                perm = [next(slots) if p in self.players else p for p in perm]
                out += [perm, perm[::-1]]
        return out


def _estimate(
    players: Sequence[str], pairs: list[Pair], strata: Strata | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Values and standard errors from the pairs' marginals: the mean of the strata's
    means, and its error from the pairs' spread within strata (one stratum: plain)."""
    groups: dict[int, list[int]] = {}
    for i, pair in enumerate(pairs):
        groups.setdefault(strata.stratum(pair.order) if strata else 0, []).append(i)
    if strata is None or len(groups) < len(strata.orders):  # a stratum not sampled yet
        groups = {0: list(range(len(pairs)))}
    h = len(groups)
    values, errors = {}, {}
    for p in players:
        sums = {g: _sum_pairs(pairs, rows, p) for g, rows in groups.items()}
        values[p] = sum(sums[g] / (2 * len(rows)) for g, rows in groups.items()) / h
        spread = sum(
            ((pairs[i].first[p] + pairs[i].second[p]) / 2 - sums[g] / (2 * len(rows))) ** 2
            for g, rows in groups.items()
            for i in rows
        )
        dof = len(pairs) - h
        if dof < 1:
            errors[p] = math.inf
            continue
        inverse = sum(1 / len(rows) for rows in groups.values())
        errors[p] = math.sqrt(spread / dof * inverse) / h
    return values, errors


def _sum_pairs(pairs: list[Pair], rows: list[int], player: str) -> float:
    """A player's marginals summed over these pairs, one ordering after the other."""
    total = 0.0
    for i in rows:
        total += pairs[i].first[player]
        total += pairs[i].second[player]
    return total


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


def shapley_walked(
    players: Sequence[str],
    walk: Callable[[Sequence[str], dict[str, float]], float],
    *,
    n_permutations: int,
    rng: np.random.Generator,
    tolerance: float = 0.0,
    scale: float = 0.0,
) -> tuple[ShapleyEstimate, float | None]:
    """Shapley values of a game walked one ordering at a time, and the grand coalition's
    value.

    ``walk(ordering, phi)`` adds each player's marginal contribution along ``ordering`` to
    ``phi`` and returns the value once every player has joined. Games whose coalitions
    share most of their work along an ordering (re-simulating only what a new player
    changes) are cheaper this way than valued coalition by coalition.

    Every ordering is walked when there are at most ``n_permutations`` (exact values);
    otherwise orderings are sampled as in :func:`shapley_estimate`, with standard errors,
    stopping once every error is at most ``tolerance * scale``.
    """
    players = list(players)
    every = every_permutation(len(players), n_permutations)
    grand: list[float] = []
    if every is not None:
        phi = dict.fromkeys(players, 0.0)
        for order in every:
            grand.append(walk([players[j] for j in order], phi))
        values = {p: x / max(len(every), 1) for p, x in phi.items()}
        return ShapleyEstimate(values), (grand[-1] if grand else None)

    def walked(order: Sequence[str]) -> dict[str, float]:
        phi = dict.fromkeys(players, 0.0)
        grand.append(walk(order, phi))
        return phi

    def pairs_of(orders: list[list[str]]) -> list[Pair]:
        return [
            Pair(a, walked(a), walked(b)) for a, b in zip(orders[::2], orders[1::2], strict=True)
        ]

    estimate = _sampled(players, pairs_of, n_permutations, rng, tolerance, lambda: scale)
    return estimate, grand[-1]
