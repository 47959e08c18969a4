"""Intrinsic causal contributions: how much of the target's spread each node's own noise
contributes (Janzing et al., "Quantifying causal contributions via structure preserving
interventions"; the method behind ``dowhy.gcm.intrinsic_causal_influence``).

Every node is ``x_j = f_j(parents, n_j)``; its *noise* ``n_j`` is what was new at the node.
A coalition ``S`` of nodes is valued by how much of the target's variance its noises
explain, ``v(S) = Var(E[target | n_S])``, and each node gets its Shapley share; the shares
add up to ``Var(target)``. ``Var(E[Y | n_S])`` is estimated without nested sampling, as the
covariance of the target in two simulations that share the noises in ``S`` and draw the
others afresh (the pick-freeze estimator), with the same draws for every coalition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import networkx as nx
import numpy as np

from ..choices import Spread
from ..engine import one_blas_thread
from ..errors import InputError
from ..inputs.names import describe_nodes
from ..inputs.preparation import prepare_check_data
from ..limits import MAX_PERMUTATIONS, MAX_SAMPLES, require_count, require_seed
from ..models.bases import EXPLAIN_MODELS, Data, ModelFamily
from ..models.fitting import FittedSCM, fit_scm
from ..models.interventions import InterventionModel
from ..models.mechanisms import EmpiricalMechanism, Mechanism
from ..progress import Progress, silent
from ..results.base import ReportData
from ..results.influence import InfluenceResult, NodeInfluence
from ..stats.sampling import latin_uniforms
from ..stats.shapley import ShapleyConfig, shapley_values
from ..stats.spreads import NestedSpread, parse_spread
from .arrows import arrow_strengths
from .opening import GraphSource, TableSource, open_analysis
from .options import require_max_rows, require_target


@one_blas_thread
def intrinsic_influence(
    graph: GraphSource,
    data: TableSource,
    target: str,
    *,
    statistic: Spread | NestedSpread | str = Spread.VAR,
    target_level: str | None = None,
    categorical: Iterable[str] = (),
    models: ModelFamily | None = None,
    n_samples: int = 20_000,
    max_exact_players: int = 10,
    n_permutations: int = 256,
    dropna: bool = False,
    na_values: Sequence[str] = (),
    max_rows: int | None = 250_000,
    seed: int = 0,
    edges: bool = False,
    progress: Progress | None = None,
) -> InfluenceResult:
    """How much of ``target``'s spread each node's own noise contributes.

    Parameters
    ----------
    graph
        The causal DAG (a path, a ``networkx.DiGraph`` or a DoWhy causal model).
    data
        Observations of the target and its ancestors (one period).
    target
        The node whose spread is attributed.
    statistic
        ``var`` (the contributions add up to the variance), ``std`` (Shapley values of the
        standard deviation of the explained part; they add up to the standard deviation),
        or a spread whose conditional value needs nested sampling: ``mean-abs-deviation``,
        or ``pNN``, the NN-th percentile of the absolute deviation from the median. For
        those, a coalition's value is how much knowing its noises lowers the expected
        spread, ``U(Y) - E[U(Y | n_S)]``, averaged over blocks of draws.
    target_level
        For a categorical target, the level whose indicator's spread is attributed
        (default: the most common level).
    categorical
        Numeric columns to treat as categorical.
    models
        Model family per node (default: the one ``explain`` uses).
    n_samples
        Monte Carlo draws per coalition.
    max_exact_players, n_permutations
        Exact Shapley values up to this many players, else this many sampled orderings.
    dropna
        Drop incomplete rows instead of failing.
    na_values
        Cell values that mean "missing" beside empty cells (``--na-values``); text such
        as ``None`` or ``NA`` is otherwise a level (see :func:`causal_attrib.read_table`).
    max_rows
        Fit on a seeded sample of at most this many rows (``None``: all).
    seed
        Seed of every draw; the same inputs and seed give the same result.
    edges
        Also measure the arrow strength of every edge into the target and its ancestors
        (:func:`causal_attrib.analyses.arrows.arrow_strengths`, as
        ``dowhy.gcm.arrow_strength``; children with an additive-noise mechanism).
    progress
        Called with short messages about the slow steps.

    Returns
    -------
    InfluenceResult
    """
    statistic = parse_spread(statistic)
    require_count(n_samples, "n_samples", 100, MAX_SAMPLES)
    require_count(n_permutations, "n_permutations", 2, MAX_PERMUTATIONS)
    require_seed(seed)
    require_target(target)
    max_rows = require_max_rows(max_rows)
    say = progress or silent
    opening = open_analysis(graph, {"--data": data}, target, max_rows=max_rows, na_values=na_values)
    g = opening.graph
    prepared = prepare_check_data(
        g, opening.tables["--data"], categorical, dropna, max_rows, seed, min_rows=10
    )
    order = _relevant_order(g, target, prepared.unmeasured)
    columns = {n: prepared.data[n].to_numpy() for n in order}
    _indicator(target, columns[target], target in prepared.categorical, target_level)  # early
    say(f"fitting {len(order)} mechanisms")
    models = models or EXPLAIN_MODELS
    scm = fit_scm(g, columns, models=models, categorical=prepared.categorical, nodes=order)
    return influence_of(
        scm, target, columns, statistic, target_level,
        ShapleyConfig(max_exact_players, n_permutations), n_samples, seed, edges, say,
        fitted={"models": getattr(models, "name", type(models).__name__), "dropna": dropna,
                "max_rows": max_rows},
        rows={"used": len(prepared.data), "total": prepared.rows_total},
        notes=opening.notes + prepared.notes,
    )  # fmt: skip


def influence_of(
    scm: FittedSCM,
    target: str,
    columns: Data,
    statistic: Spread | NestedSpread,
    target_level: str | None,
    shapley: ShapleyConfig,
    n_samples: int,
    seed: int,
    edges: bool,
    say: Progress,
    fitted: dict,
    rows: dict,
    notes: tuple[str, ...],
) -> InfluenceResult:
    """Intrinsic influence once the mechanisms are fitted (fresh fits and saved models)."""
    g, categorical = scm.graph, scm.categorical
    order = [n for n in scm.order if n in nx.ancestors(g, target) | {target}]
    mechanisms = {n: scm.mechanisms[n] for n in order}
    level, indicator = _indicator(target, columns[target], target in categorical, target_level)
    rng = np.random.default_rng(seed)
    closed_form = LinearNoiseGame.build(order, mechanisms, target, categorical, statistic)
    if closed_form is not None:
        game, method = closed_form, "closed form (linear mechanisms)"
    elif isinstance(statistic, NestedSpread):
        method = "nested sampling"
        game = NestedNoiseGame.build(
            g, target, order, mechanisms, rng, n_samples, indicator, statistic
        )
    else:
        method = "pick-freeze"
        kept = {n: latin_uniforms(rng, n_samples) for n in order}
        fresh = {n: latin_uniforms(rng, n_samples) for n in order}
        game = NoiseGame.build(g, target, order, mechanisms, kept, fresh, indicator, statistic)
    shapley_seed, edges_seed = (int(s) for s in rng.integers(0, 2**63, size=2))
    exact = len(order) <= shapley.max_exact_players
    say(f"valuing {2 ** len(order) if exact else shapley.n_permutations} coalitions or orderings")
    phi = shapley_values(
        order,
        game.value,
        max_exact=shapley.max_exact_players,
        n_permutations=shapley.n_permutations,
        rng=np.random.default_rng(shapley_seed),
    )
    total = game.value(frozenset(order)) - game.value(frozenset())
    nodes = sorted(
        (NodeInfluence(n, phi[n], phi[n] / total if total else None) for n in order),
        key=lambda n: (-round(n.contribution, 12), n.node),
    )
    observed = _spread(indicator(columns[target]), statistic)
    settings = {
        "statistic": _name(statistic),
        "models": fitted["models"],
        "n_samples": n_samples,
        "shapley": "exact" if exact else "permutation",
        "method": method,
        "seed": seed,
        "dropna": fitted["dropna"],
        "categorical": sorted(categorical),
        "max_rows": fitted["max_rows"],
    }
    return InfluenceResult(
        target, _name(statistic), level, total, observed, tuple(nodes), settings, rows,
        tuple(notes) + tuple(_notes(g, target, level)), ReportData(g),
        arrow_strengths(g, order, mechanisms, columns, edges_seed) if edges else None,
    )  # fmt: skip


def _relevant_order(graph: nx.DiGraph, target: str, unmeasured) -> list[str]:
    """The target and its ancestors in topological order; each must be measured."""
    relevant = nx.ancestors(graph, target) | {target}
    missing = sorted(relevant & set(unmeasured))
    if missing:
        raise InputError(
            f"the target's causes must be measured to model their noise; no values for "
            f"{describe_nodes(missing)}"
        )
    return [n for n in nx.lexicographical_topological_sort(graph) if n in relevant]


def _indicator(target, values, categorical: bool, level: str | None):
    """The level measured for a categorical target, and the map from target values to the
    numbers whose spread is attributed (the level's indicator, or the values)."""
    if not categorical:
        if level is not None:
            raise InputError(
                f"target_level applies to categorical targets; {target!r} is numeric",
                parameter="target_level",
            )
        return None, lambda x: np.asarray(x, dtype=float)
    levels, counts = np.unique(values.astype(str), return_counts=True)
    level = level if level is not None else str(levels[int(np.argmax(counts))])
    if level not in set(levels):
        raise InputError(
            f"target_level {level!r} never occurs in {target!r}", parameter="target_level"
        )
    return level, lambda x: (np.asarray(x) == level).astype(float)


@dataclass(frozen=True)
class _WithDraws:
    """A mechanism that always uses its own draws (the coalition's kept noise)."""

    mechanism: Mechanism
    draws: np.ndarray
    decomposable: ClassVar[bool] = False  # sampled whole, with its own draws

    def sample(self, data: Data, u: np.ndarray) -> np.ndarray:
        return self.mechanism.sample(data, self.draws)


@dataclass
class NoiseGame:
    """``v(S)``: the spread of the target explained by the noises of the nodes in ``S``.

    A node in ``S`` keeps its draw from the first simulation; the others draw afresh; the
    covariance of the target across the two simulations estimates ``Var(E[Y | n_S])``.
    """

    model: InterventionModel
    statistic: Spread

    @classmethod
    def build(cls, graph, target, order, mechanisms, kept, fresh, indicator, statistic):
        """The game on these draws (``indicator`` maps target values to numbers)."""
        first: list[np.ndarray] = []  # the all-kept simulation, centred, once the model exists

        def explained(sample: np.ndarray) -> float:
            second = indicator(sample)
            return float(np.mean(first[0] * (second - second.mean())))

        pinned = {n: _WithDraws(mechanisms[n], kept[n]) for n in order}
        model = InterventionModel(graph, target, mechanisms, pinned, order, fresh, explained)
        kept_target = indicator(model.simulate(frozenset(order)))
        first.append(kept_target - kept_target.mean())
        return cls(model, statistic)

    def value(self, coalition: frozenset) -> float:
        """The explained spread. The empty coalition's is estimated too (about 0), with the
        same draws as the others: marginal contributions are then differences of two
        estimates that share all but one noise, and their errors cancel."""
        return _from_variance(self.model.value(coalition), self.statistic)


@dataclass(frozen=True)
class LinearNoiseGame:
    """The game in closed form when every mechanism is linear with additive noise:
    ``Var(E[Y | n_S]) = sum over S of c_j^2 Var(n_j)``, where ``c_j`` is node j's total
    effect on the target (the paths' products of coefficients). The variance game is then
    additive, so each node's Shapley value is its own term, exactly and without sampling;
    the standard deviation is the square root of the coalition's sum.
    """

    terms: dict[str, float]
    statistic: Spread

    @classmethod
    def build(cls, order, mechanisms, target, categorical, statistic) -> LinearNoiseGame | None:
        """The game, or ``None`` when a mechanism is not linear (or the target, a parent or
        the spread asks for more)."""
        if not isinstance(statistic, Spread) or categorical & set(order):
            return None
        index = {n: i for i, n in enumerate(order)}
        direct = np.zeros((len(order), len(order)))
        noise = np.zeros(len(order))
        for node in order:
            mechanism = mechanisms[node]
            if isinstance(mechanism, EmpiricalMechanism):
                noise[index[node]] = float(np.var(mechanism.values))
                continue
            basis = getattr(mechanism, "basis", None)
            if basis is None or basis.family != "linear" or basis.levels:
                return None
            noise[index[node]] = float(np.var(mechanism.residuals))
            for parent, part in mechanism.slices.items():
                direct[index[node], index[parent]] = (
                    mechanism.coef[part][0] / basis.scales[parent][1]
                )
        total = np.linalg.inv(np.eye(len(order)) - direct)[index[target]]
        return cls({n: float(total[index[n]] ** 2 * noise[index[n]]) for n in order}, statistic)

    def value(self, coalition: frozenset) -> float:
        """The spread of the target explained by the coalition's noises."""
        return _from_variance(sum(self.terms[n] for n in coalition), self.statistic)


@dataclass
class NestedNoiseGame:
    """``v(S) = E[U(Y)] - E[U(Y | n_S)]`` for a spread ``U`` without a pick-freeze form.

    ``OUTER`` blocks of ``n_samples / OUTER`` draws: a node in ``S`` keeps one draw per
    block, the others draw afresh within it; ``U`` of each block estimates the spread given
    the kept noises. The empty coalition is estimated the same way, so the small-block
    bias of ``U`` cancels in the differences.
    """

    model: InterventionModel
    base: float

    OUTER = 256

    @classmethod
    def build(cls, graph, target, order, mechanisms, rng, n_samples, indicator, spread):
        """The game on draws from ``rng`` (blocks of at least 16 draws)."""
        blocks, size = cls.OUTER, max(16, n_samples // cls.OUTER)
        kept = {n: np.repeat(latin_uniforms(rng, blocks), size) for n in order}
        fresh = {n: latin_uniforms(rng, blocks * size) for n in order}

        def expected_spread(sample: np.ndarray) -> float:
            return float(np.mean(spread.func(indicator(sample).reshape(blocks, size))))

        pinned = {n: _WithDraws(mechanisms[n], kept[n]) for n in order}
        model = InterventionModel(graph, target, mechanisms, pinned, order, fresh, expected_spread)
        return cls(model, model.value(frozenset()))

    def value(self, coalition: frozenset) -> float:
        """How much knowing the coalition's noises lowers the expected spread."""
        return self.base - self.model.value(coalition)


def _name(statistic: Spread | NestedSpread) -> str:
    return statistic.name if isinstance(statistic, NestedSpread) else statistic.value


def _from_variance(variance: float, statistic: Spread) -> float:
    if statistic is Spread.STD:
        return math.sqrt(max(variance, 0.0))
    return variance


def _spread(values: np.ndarray, statistic: Spread | NestedSpread) -> float:
    if isinstance(statistic, NestedSpread):
        return statistic(values)
    return _from_variance(float(np.var(values)), statistic)


def _notes(graph: nx.DiGraph, target: str, level: str | None) -> list[str]:
    notes = []
    if not nx.ancestors(graph, target):
        notes.append(f"{target!r} has no causes in the graph, so its own noise is the whole answer")
    if level is not None:
        notes.append(
            f"{target!r} is categorical: the spread attributed is that of the indicator of "
            f"{target} = {level!r} (its variance is share x (1 - share))"
        )
    return notes
