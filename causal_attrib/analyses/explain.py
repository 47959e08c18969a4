"""The main job: which mechanisms changed, and how much each change moved the target.

:func:`explain` is the whole analysis as one function call, in named steps: fit and test
every node (:func:`fit_and_test`), flag the changes (:func:`flag_changes`), value the
intervention game with Shapley values (:func:`attribute`), add bootstrap intervals, and
rank the nodes (:func:`rank_nodes`). The CLI is a thin layer over it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import networkx as nx
import numpy as np
import pandas as pd

from ..choices import AttributeTo, EngineKind
from ..engine import Engine, one_blas_thread
from ..errors import InputError
from ..inputs.lags import contemporaneous
from ..inputs.periods import TimeSpec
from ..inputs.preparation import PreparedData, prepare_data
from ..models.bases import EXPLAIN_MODELS, Basis, ModelFamily, keep_linear
from ..models.categorical import with_new_parent_levels
from ..models.fitting import fit_node, fit_on_basis
from ..models.interventions import (
    MAX_BURN,
    InterventionModel,
    TemporalInterventionModel,
    burn_in,
)
from ..models.mechanisms import Mechanism
from ..progress import Progress, Ticker, silent
from ..results.base import ReportData
from ..results.base import stable_float as _num
from ..results.explain import ExplainResult, NodeResult
from ..stats.change_tests import (
    CategoricalChangeTest,
    ChangeTest,
    ChangeTestResult,
    ConditionalChangeTest,
    reads_basis_features,
)
from ..stats.fdr import benjamini_hochberg
from ..stats.overlap import LOW_OVERLAP, parent_overlap
from ..stats.sampling import latin_uniforms
from ..stats.shapley import SHAPLEY_TOLERANCE, ShapleyEstimate, shapley_estimate
from ..stats.statistics import Statistic, target_measure
from .opening import GraphSource, TableSource, open_analysis
from .options import MAX_ROWS, ExplainOptions, require_target
from .time_mode import TimeMode, innovations, open_time_series, series_report

OPTION_NAMES = frozenset(f.name for f in fields(ExplainOptions))


@one_blas_thread
def explain(
    graph: GraphSource,
    before: TableSource | None = None,
    after: TableSource | None = None,
    target: str | None = None,
    *,
    data: TableSource | None = None,
    time: TimeSpec | None = None,
    statistic: str | Statistic = "mean",
    alpha: float = 0.05,
    min_effect: float = 0.0,
    categorical: Iterable[str] = (),
    target_level: str | None = None,
    dropna: bool = False,
    na_values: Sequence[str] = (),
    models: ModelFamily | None = None,
    change_test: ChangeTest | None = None,
    categorical_change_test: ChangeTest | None = None,
    attribute_to: AttributeTo | str = AttributeTo.CHANGED,
    bootstrap: int = 0,
    confidence: float = 0.95,
    n_samples: int = 20_000,
    max_exact_players: int = 10,
    n_permutations: int = 256,
    max_rows: int | None = MAX_ROWS,
    check: bool = False,
    n_jobs: int | None = None,
    engine: Engine | None = None,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> ExplainResult:
    """Explain the change of ``target``'s statistic between ``before`` and ``after``.

    Parameters
    ----------
    graph
        Causal DAG: a file path (any format of :func:`causal_attrib.load_graph`), a
        ``networkx.DiGraph``, or a graph read by :func:`causal_attrib.read_graph`.
    before, after
        The two periods: file paths or DataFrames holding a column per graph node.
    target
        The node whose statistic changed.
    data
        Instead of ``before`` and ``after``: one table in time order, cut into periods by
        ``time`` (its ``split_at`` or windows).
    time
        Time-series mode (:class:`~causal_attrib.inputs.periods.TimeSpec`): rows ordered
        by a time column, mechanisms with memory (own and parents' past, edges with lags),
        change tests and interventions on innovations, simulated forward in time.
    statistic
        ``mean``, ``median``, ``std``, ``var``, a quantile ``pNN``, or a :class:`Statistic`.
    alpha
        False discovery rate for flagging changed mechanisms (Benjamini-Hochberg).
    min_effect
        Also require this effect size to flag a mechanism (the change test's ``effect``:
        the shift of the node's conditional mean in noise standard deviations, or the log
        ratio of its noise spreads, whichever is larger). At 0, the default, significance
        alone flags; with hundreds of thousands of rows, tiny real changes are significant
        and e.g. 0.1 keeps only those that matter.
    categorical
        Numeric columns to treat as categorical (text and boolean columns always are).
    target_level
        For a categorical target, the level whose share is explained (default: the level
        whose share changed most).
    dropna
        Drop incomplete rows instead of failing on missing values.
    na_values
        Cell values that mean "missing" beside empty cells (``--na-values``); text such
        as ``None`` or ``NA`` is otherwise a level (see :func:`causal_attrib.read_table`).
    models
        Model family strategy per node (default ``EXPLAIN_MODELS``: linear, additive splines
        or splines with pairwise terms, chosen by cross-validation).
    change_test, categorical_change_test
        Change-test strategies for continuous and categorical nodes.
    attribute_to
        ``"changed"``: only flagged mechanisms are players (others are dummies with zero
        contribution); ``"all"``: every ancestor is a player, as in DoWhy.
    bootstrap
        Number of bootstrap resamples for percentile intervals (0: none).
    confidence
        Coverage of the bootstrap intervals.
    n_samples
        Monte Carlo sample size for each intervention.
    max_exact_players
        Largest number of players for exact Shapley values; beyond, permutation sampling.
    n_permutations
        Orderings sampled when Shapley values are approximated.
    max_rows
        Fit and test on a seeded sample of at most this many rows per period (``None``:
        all rows). Beyond a few hundred thousand rows more data buys little precision but
        costs memory, and makes tests flag changes too small to matter; a note says when
        the cap applied.
    check
        Also check the graph against the before data (:func:`causal_attrib.check_graph`
        with defaults, at this ``alpha``), so the report says how far to trust the graph.
    n_jobs
        Threads fitting and testing nodes (``None``: one per available core). Every node is
        computed whole by one thread with single-threaded BLAS, so results are identical
        for any ``n_jobs`` and core count.
    engine
        Where the independent units run (node fits and tests, batches of Shapley
        coalitions, bootstrap resamples): a :class:`causal_attrib.engine.Engine` for
        local processes or a Dask cluster. Default: ``n_jobs`` threads. The result is the
        same on every engine.
    seed
        Seed of every random draw; the same inputs and seed give identical results.
    progress
        Called with a short message at the start of each slow step.

    Returns
    -------
    ExplainResult
    """
    o = ExplainOptions.of({k: v for k, v in locals().items() if k in OPTION_NAMES})
    target = require_target(target)
    statistic, attribute_to, categorical, seed = o.statistic, o.attribute_to, o.categorical, o.seed
    engine = o.engine or Engine(EngineKind.THREADS, n_jobs)
    say = progress or silent
    opening, prepared, mode = _open(
        graph, before, after, data, target, time, categorical, dropna, max_rows, seed, na_values
    )
    g = opening.graph
    stat = statistic
    measure, level = target_measure(
        stat,
        target,
        target in prepared.categorical,
        prepared.before[target].to_numpy(),
        prepared.after[target].to_numpy(),
        target_level,
    )
    models = models or EXPLAIN_MODELS
    default_test = ConditionalChangeTest(time_ordered=mode is not None)
    tests = ChangeTests(
        change_test or default_test, categorical_change_test or CategoricalChangeTest()
    )
    fits = fit_and_test(g, prepared, models, tests, engine, say, mode)
    flags = flag_changes(fits, alpha, min_effect)
    game = ExplainGame.prepare(
        g, target, fits, flags, prepared, attribute_to, measure, n_samples, seed, mode
    )
    game.shared = fit_unchanged(game, prepared, models, engine, mode)
    shapley = ShapleySettings(max_exact_players, n_permutations, game.shapley_seed)
    say(game.describe(shapley))
    estimate, fitted, burn = attribute(game, shapley, engine)
    phi = estimate.values
    bootstrap_out = Bootstrap(bootstrap, confidence, game.boot_seed)
    intervals, change_interval = bootstrap_out.run(game, shapley, engine, say)
    extrapolated = extrapolated_players(game.graph, target, fits, game.players)
    nodes = rank_nodes(
        fits, flags, phi, fitted, game.relevant, intervals, extrapolated, estimate.errors
    )
    options = dict(alpha=alpha, min_effect=min_effect, n_samples=n_samples, bootstrap=bootstrap)
    options |= dict(confidence=confidence, seed=seed, dropna=dropna, max_rows=max_rows)
    exact = len(game.players) <= max_exact_players
    settings = _settings(stat, attribute_to, models, prepared, exact, options)
    if estimate.orderings:
        settings["orderings"] = estimate.orderings
    return ExplainResult(
        target=target,
        statistic=stat.name,
        target_level=level,
        observed_before=measure(prepared.before[target].to_numpy()),
        observed_after=measure(prepared.after[target].to_numpy()),
        fitted_before=fitted[0],
        fitted_after=fitted[1],
        nodes=tuple(nodes),
        settings=settings,
        rows=_rows(prepared),
        notes=(
            *_notes(opening, prepared, game, alpha, bootstrap, confidence),
            *_precision_note(estimate, fitted),
        ),
        fitted_change_interval=change_interval,
        untested=tuple(sorted(n for n in game.relevant if n in fits and not fits[n].test.testable)),
        check=_graph_check(g, prepared, alpha, seed, say, mode) if check else None,
        report_data=_report_data(g, prepared, [target, *top_nodes(nodes, target)], mode),
        time_mode=mode.to_dict() | {"burn_in": burn} if mode else None,
        level_changes=prepared.level_changes,
    )


def _open(
    graph, before, after, data, target, time, categorical, dropna, max_rows, seed, na_values=()
):
    """The opening, the prepared rows and the time mode (``None`` for i.i.d. rows)."""
    if target is None:
        raise InputError("explain needs a target node")
    if time is None:
        if data is not None or before is None or after is None:
            raise InputError("give the before and after tables (one table needs a time column)")
        tables = {"--before": before, "--after": after}
    elif data is not None:
        if before is not None or after is not None:
            raise InputError(
                "give one table in time order (data) or two (before and after), not both",
                parameter="data",
            )
        tables = {"--data": data}
    else:
        if before is None or after is None:
            raise InputError(
                "time-series mode needs one table (data), or two (before and after)",
                parameter="data",
            )
        tables = {"--before": before, "--after": after}
    opening = open_analysis(
        graph, tables, target, max_rows=max_rows, temporal=time is not None, na_values=na_values
    )
    if time is not None:
        prepared, mode = open_time_series(
            opening.graph, opening.tables, time, categorical=categorical, dropna=dropna,
            max_rows=max_rows, seed=seed,
        )  # fmt: skip
        return opening, prepared, mode
    tables, opening = dict(opening.tables), replace(opening, tables={})
    prepared = prepare_data(
        opening.graph,
        tables.pop("--before"),  # popped: prepare_data holds the only reference
        tables.pop("--after"),
        categorical=categorical,
        dropna=dropna,
        max_rows=max_rows,
        seed=seed,
    )
    return opening, prepared, None


def _report_data(
    graph: nx.DiGraph, prepared: PreparedData, shown: list[str], mode: TimeMode | None = None
) -> ReportData:
    """The graph and the shown nodes' values in both periods (and, in time mode, their
    series), for the HTML report."""
    values = {n: (prepared.before[n].to_numpy(), prepared.after[n].to_numpy()) for n in shown}
    extra = series_report(mode.periods, shown) if mode and mode.periods else {}
    return ReportData(graph, values, **extra)


@dataclass(frozen=True)
class ChangeTests:
    """The change-test strategies: one for continuous nodes, one for categorical ones."""

    continuous: ChangeTest
    categorical: ChangeTest

    def for_node(self, is_categorical: bool) -> ChangeTest:
        """The test for a node of this kind."""
        return self.categorical if is_categorical else self.continuous


def fit_and_test(
    graph: nx.DiGraph,
    prepared: PreparedData,
    models: ModelFamily,
    tests: ChangeTests,
    engine: Engine,
    say: Progress,
    mode: TimeMode | None = None,
) -> dict[str, NodeFit]:
    """Every node's old mechanism and change test, in topological order (of the lag-0
    edges in time mode, where a node reads its lag columns as parents).

    Nodes are independent given the data: each runs whole on one worker, so the result
    does not depend on the engine or its number of workers.
    """
    before_cols, after_cols = _columns(prepared.before), _columns(prepared.after)
    order = list(nx.lexicographical_topological_sort(contemporaneous(graph)))
    units = [
        FitUnit(
            node,
            mode.parents(node) if mode else tuple(sorted(graph.predecessors(node))),
            prepared.categorical,
            before_cols,
            after_cols,
            models,
            tests.for_node(node in prepared.categorical),
            mode.own(node) if mode else frozenset(),
        )
        for node in order
    ]
    ticker = Ticker(say, "fitting and testing mechanisms (nodes)", len(order))

    def fit_and_count(unit: FitUnit) -> NodeFit:
        fit = unit.run()
        ticker.tick()
        return fit

    if engine.local:
        fitted = engine.map(fit_and_count, units)
    else:
        fitted = engine.map(FitUnit.run, [u.slim() for u in units])
        ticker.tick(len(units))
    return dict(zip(order, fitted, strict=True))


@dataclass(frozen=True)
class Flags:
    """Each node's change-test p-value, its Benjamini-Hochberg q-value, and the flag."""

    p_values: dict[str, float]
    q_values: dict[str, float]
    changed: dict[str, bool]


def flag_changes(fits: Mapping[str, NodeFit], alpha: float, min_effect: float = 0.0) -> Flags:
    """Flag the mechanisms whose q-value is at most ``alpha`` (a NaN p-value counts as 1)
    and whose effect is at least ``min_effect`` (a test without an effect size passes)."""
    order = list(fits)
    p_values = {
        n: fits[n].test.p_value if np.isfinite(fits[n].test.p_value) else 1.0 for n in order
    }
    q = benjamini_hochberg(list(p_values.values()))
    q_values = {n: float(v) for n, v in zip(order, q, strict=True)}
    material = {n: _material(fits[n].test.effect, min_effect) for n in order}
    changed = {n: bool(q_values[n] <= alpha) and material[n] for n in order}
    return Flags(p_values, q_values, changed)


def _material(effect: float | None, min_effect: float) -> bool:
    return effect is None or not np.isfinite(effect) or effect >= min_effect


def fit_unchanged(
    game: ExplainGame,
    prepared: PreparedData,
    models: ModelFamily,
    engine: Engine,
    mode: TimeMode | None = None,
) -> dict[str, Mechanism]:
    """One mechanism for both periods of every relevant node that is not a player (its
    change was not flagged), fitted on the rows of both, as ``dowhy.gcm.distribution_change``
    does for mechanisms its test finds unchanged.

    Such a node's old mechanism is also its new one, so its fit decides how the changes
    upstream of it travel to the target. Fitted on the before rows alone, it is evaluated
    wherever the after period moved its parents, beyond the before range included, where it
    can only extrapolate; the after rows show it there. Under the verdict "unchanged" the
    rows of both periods are one sample of one mechanism, and its fit on them (model
    family chosen on them too) is the better one.
    """
    shared = [n for n in game.order if n in game.relevant and n not in game.players]
    if not shared:
        return {}
    before, after = _columns(prepared.before), _columns(prepared.after)
    units = [
        FitUnit(
            node,
            game.fits[node].basis.parents,
            prepared.categorical,
            before,
            after,
            models,
            ConditionalChangeTest(),  # not run: a pooled fit tests nothing
            mode.own(node) if mode else frozenset(),
        )
        for node in shared
    ]
    if engine.local:
        fitted = engine.map(FitUnit.fit_pooled, units)
    else:
        fitted = engine.map(FitUnit.fit_pooled, [u.slim() for u in units])
    return dict(zip(shared, fitted, strict=True))


@dataclass
class ExplainGame:
    """The intervention game of one analysis: the players, the common random numbers,
    and how to build the game on any rows (the data, or a bootstrap resample)."""

    graph: nx.DiGraph
    target: str
    fits: Mapping[str, NodeFit]
    order: list[str]
    relevant: set[str]
    players: list[str]
    categorical: frozenset[str]
    before: dict[str, np.ndarray]
    after: dict[str, np.ndarray]
    uniforms: dict[str, np.ndarray]
    measure: Callable[[np.ndarray], float]
    shapley_seed: int
    boot_seed: int
    features: Mapping[str, tuple] | None = None
    """Time mode: what each node reads (its lag features); ``None`` for i.i.d. rows."""
    n_samples: int = 0
    shared: Mapping[str, Mechanism] = field(default_factory=dict)
    """Mechanisms that did not change, fitted once on both periods (:func:`fit_unchanged`):
    the relevant nodes that are not players. A node missing here keeps its before fit."""

    @classmethod
    def prepare(
        cls, graph, target, fits, flags, prepared, attribute_to, measure, n_samples, seed,
        mode: TimeMode | None = None,
    ) -> ExplainGame:  # fmt: skip
        """Players are the target's ancestors (and itself) that changed, or all of them
        with ``attribute_to="all"``; the draws come from ``seed`` in a fixed order. In time
        mode ancestors count at any lag, and each node draws a whole series (with room for
        the longest burn-in)."""
        order = list(fits)
        graph = mode.summary if mode else graph
        relevant = nx.ancestors(graph, target) | {target}
        every = attribute_to is AttributeTo.ALL
        players = [n for n in order if n in relevant and (flags.changed[n] or every)]
        rng = np.random.default_rng(seed)
        steps = n_samples + (MAX_BURN + 5 * mode.max_lag if mode else 0)
        uniforms = {n: latin_uniforms(rng, steps) for n in sorted(relevant)}
        shapley_seed, boot_seed = (int(s) for s in rng.integers(0, 2**63, size=2))
        return cls(
            graph,
            target,
            fits,
            order,
            relevant,
            players,
            prepared.categorical,
            _columns(prepared.before),
            _columns(prepared.after),
            uniforms,
            measure,
            shapley_seed,
            boot_seed,
            mode.features if mode else None,
            n_samples,
        )

    def build(
        self, before=None, after=None, refit_old: bool = False
    ) -> InterventionModel | TemporalInterventionModel:
        """The game on these rows (default: the data); resamples refit the old side too."""
        before = self.before if before is None else before
        after = self.after if after is None else after
        old, new = {}, {}
        for node in self.order:
            if node not in self.relevant:
                continue
            basis, is_cat = self.fits[node].basis, node in self.categorical
            pdata, y_old = {p: before[p] for p in basis.parents}, before[node]
            if refit_old:
                pdata, y_old = with_new_parent_levels(
                    basis.parents, self.categorical, pdata, y_old,
                    {p: after[p] for p in basis.parents}, after[node],
                )  # fmt: skip
            if node in self.shared:  # unchanged: one mechanism, fitted on both periods
                shared = self.shared[node]
                if refit_old:
                    pdata = {p: np.concatenate([before[p], after[p]]) for p in basis.parents}
                    y = np.concatenate([before[node], after[node]])
                    shared = fit_on_basis(shared.basis, pdata, y, is_cat)
                old[node] = shared
                continue
            old[node] = (
                fit_on_basis(basis, pdata, y_old, is_cat) if refit_old else self.fits[node].old
            )
            if node in self.players:
                pdata = {p: after[p] for p in basis.parents}
                new[node] = fit_on_basis(basis, pdata, after[node], is_cat)
        if self.features is None:
            return InterventionModel(
                self.graph, self.target, old, new, self.players, self.uniforms, self.measure
            )
        return self._temporal(old, new)

    def _temporal(self, old, new) -> TemporalInterventionModel:
        """The time-mode game: each series long enough for the mechanisms' burn-in."""
        own = {n: [k for p, k in self.features[n] if p == n] for n in old}
        every = [(n, m, own[n]) for side in (old, new) for n, m in side.items()]
        max_lag = max((k for n in old for _, k in self.features[n]), default=0)
        burn = burn_in(every, max_lag)
        steps = burn + self.n_samples
        uniforms = {n: u[:steps] for n, u in self.uniforms.items()}
        return TemporalInterventionModel(
            self.features, self.target, old, new, self.players, uniforms, self.measure, burn
        )

    def describe(self, shapley: ShapleySettings) -> str:
        """The progress message of the attribution step."""
        k = len(self.players)
        how = (
            f"{2**k} coalitions"
            if k <= shapley.max_exact
            else f"{shapley.n_permutations} orderings"
        )
        return f"attributing the change to {k} changed mechanism(s) ({how})"


@dataclass(frozen=True)
class ShapleySettings:
    """How Shapley values are computed: exact up to ``max_exact`` players, else sampled
    orderings drawn from the same seed in every resample."""

    max_exact: int
    n_permutations: int
    seed: int
    tolerance: float = SHAPLEY_TOLERANCE

    def values(
        self, players: list[str], game: InterventionModel | TemporalInterventionModel,
        engine: Engine,
    ) -> dict[str, float]:  # fmt: skip
        """Shapley values of ``players`` in ``game``, coalitions valued on ``engine``."""
        return self.estimate(players, game, engine).values

    def estimate(
        self, players: list[str], game: InterventionModel | TemporalInterventionModel,
        engine: Engine,
    ) -> ShapleyEstimate:  # fmt: skip
        """Shapley values with standard errors when orderings are sampled."""
        return shapley_estimate(
            players,
            game.value,
            max_exact=self.max_exact,
            n_permutations=self.n_permutations,
            rng=np.random.default_rng(self.seed),
            evaluate=None if engine.local and engine.jobs == 1 else _batched(game, engine),
            tolerance=self.tolerance,
        )


def attribute(
    game: ExplainGame, shapley: ShapleySettings, engine: Engine
) -> tuple[ShapleyEstimate, tuple[float, float], int]:
    """Shapley values of the players on the data, the fitted statistic before (no swap)
    and after (every player swapped), and the steps simulated before measuring (time
    mode's burn-in; 0 for rows)."""
    model = game.build()
    phi = shapley.estimate(game.players, model, engine)
    fitted = (model.value(frozenset()), model.value(frozenset(game.players)))
    return phi, fitted, model.burn


@dataclass(frozen=True)
class Bootstrap:
    """Percentile intervals of the contributions and of the fitted change from ``count``
    resamples of both periods' rows, each refitting every mechanism."""

    count: int
    confidence: float
    seed: int

    def run(
        self, game: ExplainGame, shapley: ShapleySettings, engine: Engine, say: Progress
    ) -> tuple[dict[str, tuple[float, float]], tuple[float, float] | None]:
        """Intervals per player and of the fitted change (none without resamples)."""
        if not (self.count and game.players):
            return {}, None
        ticker = Ticker(say, "bootstrap resamples", self.count)
        # one generator per resample, drawn where the resample runs: the same resamples on
        # any engine, without holding every resample's row indices at once
        draws = np.random.default_rng(self.seed).spawn(self.count)

        def resample(draw: np.random.Generator) -> tuple[dict[str, float], float]:
            n_b, n_a = len(game.before[game.target]), len(game.after[game.target])
            ib, ia = draw.integers(0, n_b, n_b), draw.integers(0, n_a, n_a)
            model = game.build(
                {k: v[ib] for k, v in game.before.items()},
                {k: v[ia] for k, v in game.after.items()},
                refit_old=True,
            )
            phi = shapley.values(game.players, model, _SERIAL)
            return phi, model.value(frozenset(game.players)) - model.value(frozenset())

        boots = _map_counted(engine, resample, draws, ticker)
        lo, hi = (1.0 - self.confidence) / 2.0, (1.0 + self.confidence) / 2.0
        intervals = {
            p: tuple(float(x) for x in np.quantile([b[0][p] for b in boots], [lo, hi]))
            for p in game.players
        }
        change = tuple(float(x) for x in np.quantile([b[1] for b in boots], [lo, hi]))
        return intervals, change


def _map_counted(engine: Engine, func: Callable, items: list, ticker: Ticker) -> list:
    """``engine.map`` with progress; remote engines get a few large units, so the data
    travel a few times, not once per item."""
    if engine.local:

        def run_and_count(item):
            out = func(item)
            ticker.tick()
            return out

        return engine.map(run_and_count, items)
    size = math.ceil(len(items) / (2 * engine.jobs))
    chunks = [items[i : i + size] for i in range(0, len(items), size)]
    done = engine.map(lambda chunk: [func(d) for d in chunk], chunks)
    ticker.tick(len(items))
    return [b for chunk in done for b in chunk]


def rank_nodes(
    fits: Mapping[str, NodeFit],
    flags: Flags,
    phi: Mapping[str, float],
    fitted: tuple[float, float],
    relevant: set[str],
    intervals: Mapping[str, tuple[float, float]],
    extrapolated: set[str] = frozenset(),
    errors: Mapping[str, float] | None = None,
) -> list[NodeResult]:
    """Every node's result, largest contribution first (then smallest q-value, then name)."""
    fitted_change = fitted[1] - fitted[0]
    gross = sum(abs(v) for v in phi.values())
    # contributions that cancel leave a net change of rounding size; shares of it are noise
    shares_defined = abs(fitted_change) > 1e-9 * gross
    nodes = []
    for node, fit in fits.items():
        contribution = phi.get(node, 0.0)
        nodes.append(
            NodeResult(
                node=node,
                contribution=contribution,
                changed=flags.changed[node],
                p_value=flags.p_values[node],
                q_value=flags.q_values[node],
                mechanism=fit.old.label,
                ancestor=node in relevant,
                share=contribution / fitted_change if shares_defined else None,
                interval=intervals.get(node),
                tests={k: v if np.isfinite(v) else 1.0 for k, v in fit.test.parts.items()},
                effect=fit.test.effect,
                effects=dict(fit.test.effects),
                overlap=fit.overlap,
                extrapolated=node in extrapolated,
                standard_error=errors.get(node) if errors else None,
            )
        )
    nodes.sort(key=lambda n: (-abs(_num(n.contribution)), n.q_value, n.node))
    return nodes


def _settings(stat, attribute_to, models, prepared, exact, options: dict) -> dict:
    """The settings block of the result: what a reader needs to rerun the analysis."""
    return {
        "statistic": stat.name,
        **{k: options[k] for k in ("alpha", "min_effect")},
        "attribute_to": attribute_to.value,
        "models": getattr(models, "name", type(models).__name__),
        **{k: options[k] for k in ("n_samples", "bootstrap", "confidence", "seed")},
        "shapley": "exact" if exact else "permutation",
        "dropna": options["dropna"],
        "categorical": sorted(prepared.categorical),
        "max_rows": options["max_rows"],
    }


def extrapolated_players(
    graph: nx.DiGraph, target: str, fits: Mapping[str, NodeFit], players: Iterable[str]
) -> set[str]:
    """Players whose contribution rests on extrapolation: a node on their way to the target
    (themselves included) has parents whose two periods overlap less than
    :data:`~causal_attrib.stats.overlap.LOW_OVERLAP`, so swapping mechanisms evaluates a fit
    where its period had no data."""
    low = {n for n, f in fits.items() if f.overlap is not None and f.overlap < LOW_OVERLAP}
    on_way = nx.ancestors(graph, target) | {target}
    return {p for p in players if low & ((nx.descendants(graph, p) & on_way) | {p})}


def _precision_note(estimate: ShapleyEstimate, fitted: tuple[float, float]) -> list[str]:
    """Say when sampled orderings left a standard error above the tolerance."""
    if not estimate.errors:
        return []
    worst = max(estimate.errors.values())
    scale = abs(fitted[1] - fitted[0])
    if worst <= SHAPLEY_TOLERANCE * scale:
        return []
    return [
        f"contributions are averaged over {estimate.orderings} sampled orderings; the largest "
        f"standard error is {worst:.3g} ({worst / scale:.1%} of the fitted change): raise "
        "--permutations for more precision"
        if scale
        else f"contributions are averaged over {estimate.orderings} sampled orderings"
    ]


def _rows(prepared: PreparedData) -> dict[str, int]:
    """Rows used per period, and the tables' rows as given."""
    return {
        "before": len(prepared.before),
        "after": len(prepared.after),
        "before_total": prepared.totals[0],
        "after_total": prepared.totals[1],
    }


def _notes(opening, prepared, game: ExplainGame, alpha, bootstrap, confidence) -> list[str]:
    notes = [*opening.notes, *prepared.notes]
    if 0 < bootstrap and bootstrap * (1 - confidence) / 2 < 1:
        notes.append(
            f"{bootstrap} bootstrap resamples cannot resolve a {confidence:.0%} interval (its "
            f"ends are the extreme resamples); use --bootstrap {math.ceil(20 / (1 - confidence))}"
            " or more for stable ends"
        )
    target = game.target
    low = sorted(
        (n for n, f in game.fits.items() if f.overlap is not None and f.overlap < LOW_OVERLAP),
        key=lambda n: (game.fits[n].overlap, n),
    )
    if low:
        shown = ", ".join(f"{n} ({game.fits[n].overlap:.0%})" for n in low[:5])
        more = f" and {len(low) - 5} more" if len(low) > 5 else ""
        notes.append(
            f"parents outside the range the other period saw (overlap below "
            f"{LOW_OVERLAP:.0%}): {shown}{more}; these nodes' verdicts, and the contributions "
            "marked extrapolated, rest on how the fits extend beyond their data"
        )
    untestable = sorted(n for n, f in game.fits.items() if not f.test.testable)
    if untestable:
        notes.append(
            f"no common range of parents between the periods for {', '.join(untestable[:5])}"
            + (f" and {len(untestable) - 5} more" if len(untestable) > 5 else "")
            + ": whether their mechanisms changed cannot be told from these data, so they "
            "are not flagged (their parents' changes get the credit)"
        )
    if not nx.ancestors(game.graph, target):
        notes.append(
            f"{target!r} has no causes in the graph, so only its own mechanism can explain "
            "the change"
        )
    if not game.players and untestable:
        notes.append(
            f"no mechanism upstream of {target!r} that could be tested changed at "
            f"alpha={alpha}; {', '.join(untestable[:5])} could not be tested, so the change "
            "is not shown to be chance"
        )
    elif not game.players:
        notes.append(
            f"no mechanism upstream of {target!r} changed at alpha={alpha}; "
            "the observed change is within what chance allows"
        )
    return notes


@dataclass(frozen=True)
class NodeFit:
    """A node's basis, its old (before) mechanism, and its change test."""

    basis: Basis
    old: Mechanism
    test: ChangeTestResult
    overlap: float | None = None


@dataclass(frozen=True)
class FitUnit:
    """One node's fit and change test: a unit of work an engine can send anywhere."""

    node: str
    parents: tuple[str, ...]
    categorical: frozenset[str]
    before: Mapping[str, np.ndarray]
    after: Mapping[str, np.ndarray]
    models: ModelFamily
    test: ChangeTest
    linear: frozenset[str] = frozenset()
    """Parents kept linear: in time mode, the node's own past (an autoregression)."""

    @property
    def is_cat(self) -> bool:
        """Whether the node is categorical."""
        return self.node in self.categorical

    def slim(self) -> FitUnit:
        """The unit with only the columns it reads (what is worth shipping to a worker)."""
        keep = (*self.parents, self.node)
        return replace(
            self,
            before={c: self.before[c] for c in keep},
            after={c: self.after[c] for c in keep},
        )

    def fit_pooled(self) -> Mechanism:
        """The node's mechanism fitted on the rows of both periods (model family chosen
        on them): the one mechanism of a node whose change was not flagged."""
        parents, node = self.parents, self.node
        pooled = {p: np.concatenate([self.before[p], self.after[p]]) for p in parents}
        y = np.concatenate([self.before[node], self.after[node]])
        return fit_node(
            parents, pooled, y, models=self.models, categorical=self.categorical,
            is_categorical=self.is_cat, linear=self.linear,
        )  # fmt: skip

    def run(self) -> NodeFit:
        """Fit the node's old mechanism and test it for a change."""
        parents, node = self.parents, self.node
        y_b, y_a = self.before[node], self.after[node]
        pdata_b = {p: self.before[p] for p in parents}
        pdata_a = {p: self.after[p] for p in parents}
        # a parent's level new in the after data: the old mechanism takes its behaviour there
        # from the after rows (the new level is the parent's change, not this node's)
        fit_b, fit_y = with_new_parent_levels(parents, self.categorical, pdata_b, y_b, pdata_a, y_a)
        old = fit_node(
            parents, fit_b, fit_y, models=self.models, categorical=self.categorical,
            is_categorical=self.is_cat, linear=self.linear,
        )  # fmt: skip
        basis = old.basis
        # The test's knots see both periods, so that a parent whose range moved is covered in
        # both; its levels stay the before ones, since a level new in the after data has no
        # before mechanism (that is a change). The mechanisms keep the before basis, which
        # extrapolates with the slope the before data last had.
        if reads_basis_features(self.test):
            pooled = {p: np.concatenate([pdata_b[p], pdata_a[p]]) for p in parents}
            y_pooled = np.concatenate([y_b, y_a])
            test_basis = self.models.make_basis(parents, pooled, y_pooled, self.categorical)
        else:  # the test chooses its own regression: choosing a basis here is wasted work
            test_basis = Basis(parents)
        test_basis = keep_linear(replace(test_basis, levels=basis.levels), self.linear)
        test = self.test(test_basis, pdata_b, pdata_a, y_b, y_a)
        ranged = [p for p in parents if p not in self.linear]  # own past extrapolates
        overlap = parent_overlap(pdata_b, pdata_a, ranged, self.categorical)
        return NodeFit(basis, old, test, overlap)


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy() for c in frame.columns}


def top_nodes(nodes: Iterable[NodeResult], target: str, k: int = 4) -> list[str]:
    """The nodes a report shows distributions of: the largest contributions, then the
    other changed ancestors."""
    ranked = [n.node for n in nodes if n.ancestor and n.contribution and n.node != target]
    ranked += [n.node for n in nodes if n.ancestor and n.changed and n.node not in ranked]
    return [n for n in ranked if n != target][:k]


_SERIAL = Engine("threads", 1)


#: coalitions per unit of work when an engine values them remotely
COALITION_BATCH = 64


def _batched(game: InterventionModel, engine: Engine) -> Callable[[list], list[float]]:
    """Value coalitions on ``engine`` in batches; each batch shares one game's cache."""

    def evaluate(coalitions: list) -> list[float]:
        if len(coalitions) <= COALITION_BATCH:
            return [game.value(c) for c in coalitions]
        batches = [
            coalitions[i : i + COALITION_BATCH] for i in range(0, len(coalitions), COALITION_BATCH)
        ]
        done = engine.map(lambda batch: [game.value(c) for c in batch], batches)
        return [v for batch in done for v in batch]

    return evaluate


def _graph_check(graph, prepared, alpha, seed, say, mode: TimeMode | None = None):
    """The graph check of the before period: mixing periods would make changed mechanisms
    look like dependences the graph lacks. In time mode, of its innovations."""
    from .check import check_graph

    say("checking the graph against the before data")
    if mode is not None:
        data, graph = innovations(prepared.before, mode), contemporaneous(graph)
        return check_graph(graph, data, alpha=alpha, seed=seed)
    return check_graph(
        graph, prepared.before, categorical=prepared.categorical, alpha=alpha, seed=seed
    )


def check_options(**options) -> ExplainOptions:
    """Refuse option values :func:`explain` cannot use, and unknown option names, before
    any data is read (``explain --by`` checks them once, so that no segment is skipped for
    a bad option)."""
    return ExplainOptions.of(options)
