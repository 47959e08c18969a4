"""The main job: which mechanisms changed, and how much each change moved the target.

:func:`explain` is the whole analysis as one function call; the CLI is a thin layer over it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from .attribution import (
    InterventionModel,
    Statistic,
    latin_uniforms,
    parse_statistic,
    shapley_values,
)
from .change_tests import (
    CategoricalChangeTest,
    ChangeTest,
    ChangeTestResult,
    ResidualChangeTest,
    benjamini_hochberg,
)
from .data_io import PreparedData, check_max_rows, choose_level, prepare_data, read_table
from .exit_codes import InputError
from .graph_io import graph_notes, load_graph, require_node
from .mechanisms import (
    AutoModels,
    Basis,
    LinearModels,
    Mechanism,
    ModelFamily,
    PairwiseModels,
    SplineModels,
    fit_mechanism,
    one_blas_thread,
)
from .parallel import Engine
from .progress import Ticker, silent
from .reports import ReportData
from .reports import stable_float as _num

SCHEMA_VERSION = "1.0"
ATTRIBUTE_TO = ("changed", "all")


@dataclass(frozen=True)
class NodeResult:
    """One node's part in the change.

    Attributes
    ----------
    node
        Node name.
    contribution
        Shapley value: how much swapping this node's old mechanism for its new one moved the
        target statistic, averaged fairly over all orders of swapping.
    changed
        Whether the change test flagged the mechanism (``q_value <= alpha``).
    p_value, q_value
        Change test p-value and its Benjamini-Hochberg adjustment over all nodes.
    mechanism
        The model family used for the node.
    ancestor
        Whether the node can influence the target (an ancestor, or the target itself).
    share
        ``contribution`` as a fraction of the fitted change (None when that is zero).
    interval
        Bootstrap percentile interval of ``contribution``, when requested.
    tests
        Component p-values of the change test.
    """

    node: str
    contribution: float
    changed: bool
    p_value: float
    q_value: float
    mechanism: str
    ancestor: bool
    share: float | None = None
    interval: tuple[float, float] | None = None
    tests: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``nodes`` items of the JSON report)."""
        out: dict[str, Any] = {
            "node": self.node,
            "contribution": _num(self.contribution),
            "share": _num(self.share),
            "changed": self.changed,
            "p_value": _num(self.p_value),
            "q_value": _num(self.q_value),
            "mechanism": self.mechanism,
            "ancestor": self.ancestor,
            "tests": {k: _num(v) for k, v in sorted(self.tests.items())},
        }
        if self.interval is not None:
            out["interval_low"] = _num(self.interval[0])
            out["interval_high"] = _num(self.interval[1])
        return out


@dataclass(frozen=True)
class ExplainResult:
    """The answer of :func:`explain`: figures before/after and the ranked nodes.

    ``fitted_after - fitted_before`` equals the sum of the contributions (efficiency);
    ``gap`` is how far that fitted change is from the observed one. ``check`` holds the
    graph check of the before data when :func:`explain` ran with ``check=True``.
    ``report_data`` (the graph and the values of the target and the top nodes) feeds the
    HTML report and is not part of ``to_dict()``.
    """

    command: ClassVar[str] = "explain"

    target: str
    statistic: str
    target_level: str | None
    observed_before: float
    observed_after: float
    fitted_before: float
    fitted_after: float
    nodes: tuple[NodeResult, ...]
    settings: Mapping[str, Any]
    rows: Mapping[str, int]
    notes: tuple[str, ...] = ()
    fitted_change_interval: tuple[float, float] | None = None
    check: Any = None
    report_data: ReportData | None = field(default=None, repr=False, compare=False)

    @property
    def observed_change(self) -> float:
        """Observed after minus observed before."""
        return self.observed_after - self.observed_before

    @property
    def fitted_change(self) -> float:
        """Change reproduced by the fitted models (= sum of contributions)."""
        return self.fitted_after - self.fitted_before

    @property
    def gap(self) -> float:
        """Observed change the fitted mechanism changes do not account for."""
        return self.observed_change - self.fitted_change

    @property
    def changed_nodes(self) -> list[str]:
        """Nodes whose mechanism was flagged as changed, in ranking order."""
        return [n.node for n in self.nodes if n.changed]

    @property
    def changed_ancestors(self) -> list[str]:
        """Flagged nodes that can influence the target (what ``--fail-on-change`` checks)."""
        return [n.node for n in self.nodes if n.changed and n.ancestor]

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        return self.headline()

    def headline(self, markdown: bool = False) -> str:
        """The summary sentence; with ``markdown``, node names are set as `code`."""

        def name(node: str) -> str:
            return f"`{node}`" if markdown else node

        change = self.observed_change
        head = change_phrase(self.statistic, name(self.target), self.target_level, change)
        if change:
            head += f" by {_fmt(abs(change))} (from {_fmt(self.observed_before)} to "
            head += f"{_fmt(self.observed_after)})"
        drivers = [n for n in self.nodes if n.ancestor and n.changed]
        if not drivers:
            return head + "; no mechanism upstream of it changed detectably."
        top = max(drivers, key=lambda n: abs(n.contribution))
        if top.share is not None and self.fitted_change:
            return (
                f"{head}; {abs(top.share) * 100:.0f} % of the modelled change comes from a "
                f"changed mechanism at {name(top.node)}."
            )
        if top.contribution and top.share is None:
            parts = ", ".join(f"{name(n.node)} ({_fmt(n.contribution)})" for n in drivers[:4])
            return f"{head}; changed mechanisms upstream cancel out: {parts}."
        return f"{head}; changed mechanisms upstream: {', '.join(name(n.node) for n in drivers)}."

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints)."""
        figures = {
            "observed_before": _num(self.observed_before),
            "observed_after": _num(self.observed_after),
            "observed_change": _num(self.observed_change),
            "fitted_before": _num(self.fitted_before),
            "fitted_after": _num(self.fitted_after),
            "fitted_change": _num(self.fitted_change),
            "gap": _num(self.gap),
        }
        if self.fitted_change_interval is not None:
            figures["fitted_change_interval_low"] = _num(self.fitted_change_interval[0])
            figures["fitted_change_interval_high"] = _num(self.fitted_change_interval[1])
        out = {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "target": self.target,
            "statistic": self.statistic,
            "target_level": self.target_level,
            "summary": self.summary,
            "figures": figures,
            "rows": dict(self.rows),
            "settings": dict(self.settings),
            "changed_ancestors": self.changed_ancestors,
            "nodes": [n.to_dict() for n in self.nodes],
            "notes": list(self.notes),
        }
        if self.check is not None:
            check = self.check.to_dict()
            out["graph_check"] = {k: v for k, v in check.items() if k not in _ENVELOPE}
        return out

    def to_frame(self) -> pd.DataFrame:
        """Nodes as a DataFrame indexed by node, in ranking order."""
        rows = []
        for n in self.nodes:
            row = n.to_dict()
            row.pop("tests")
            rows.append(row)
        return pd.DataFrame(rows).set_index("node")


_ENVELOPE = ("schema_version", "command")


def change_phrase(statistic: str, target: str, level: str | None, change: float) -> str:
    """``p95 of checkout rose`` (or ``share of x = 'yes' fell``): the start of a headline."""
    what = f"{statistic} of {target}" if level is None else f"share of {target} = {level!r}"
    verb = "rose" if change > 0 else "fell" if change < 0 else "did not change"
    return f"{what} {verb}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class _NodeFit:
    basis: Basis
    old: Mechanism
    test: ChangeTestResult


@dataclass(frozen=True)
class _FitUnit:
    """One node's fit and change test: a unit of work an engine can send anywhere."""

    node: str
    parents: tuple[str, ...]
    categorical: frozenset[str]
    before: Mapping[str, np.ndarray]
    after: Mapping[str, np.ndarray]
    models: ModelFamily
    test: ChangeTest

    @property
    def is_cat(self) -> bool:
        return self.node in self.categorical

    def slim(self) -> _FitUnit:
        """The unit with only the columns it reads (what is worth shipping to a worker)."""
        keep = (*self.parents, self.node)
        return replace(
            self,
            before={c: self.before[c] for c in keep},
            after={c: self.after[c] for c in keep},
        )

    def run(self) -> _NodeFit:
        parents, node = self.parents, self.node
        y_b, y_a = self.before[node], self.after[node]
        pdata_b = {p: self.before[p] for p in parents}
        pdata_a = {p: self.after[p] for p in parents}
        basis = self.models.make_basis(parents, pdata_b, y_b, self.categorical)
        old = fit_mechanism(basis, pdata_b, y_b, self.is_cat)
        # The test's knots see both periods, so that a parent whose range moved is covered in
        # both; its levels stay the before ones, since a level new in the after data has no
        # before mechanism (that is a change). The mechanisms keep the before basis, which
        # extrapolates with the slope the before data last had.
        pooled = {p: np.concatenate([pdata_b[p], pdata_a[p]]) for p in parents}
        y_pooled = np.concatenate([y_b, y_a])
        test_basis = self.models.make_basis(parents, pooled, y_pooled, self.categorical)
        test_basis = replace(test_basis, levels=basis.levels)
        return _NodeFit(basis, old, self.test(test_basis, pdata_b, pdata_a, y_b, y_a))


def _columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c: frame[c].to_numpy() for c in frame.columns}


EXPLAIN_MODELS = AutoModels(candidates=(LinearModels(), SplineModels(), PairwiseModels()))
"""Default model family of :func:`explain`: linear, additive splines, or splines with
pairwise terms, whichever cross-validates best."""

MAX_ROWS = 250_000
"""Default cap on the rows used per period (see ``max_rows``)."""


@one_blas_thread
def explain(
    graph: str | Path | nx.DiGraph,
    before: str | Path | pd.DataFrame,
    after: str | Path | pd.DataFrame,
    target: str,
    *,
    statistic: str | Statistic = "mean",
    alpha: float = 0.05,
    categorical: Iterable[str] = (),
    target_level: str | None = None,
    dropna: bool = False,
    models: ModelFamily | None = None,
    change_test: ChangeTest | None = None,
    categorical_change_test: ChangeTest | None = None,
    attribute_to: str = "changed",
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
        Causal DAG: a file path (any format of :func:`causal_attrib.load_graph`) or a
        ``networkx.DiGraph``.
    before, after
        The two periods: file paths or DataFrames holding a column per graph node.
    target
        The node whose statistic changed.
    statistic
        ``mean``, ``median``, ``std``, ``var``, a quantile ``pNN``, or a :class:`Statistic`.
    alpha
        False discovery rate for flagging changed mechanisms (Benjamini-Hochberg).
    categorical
        Numeric columns to treat as categorical (text and boolean columns always are).
    target_level
        For a categorical target, the level whose share is explained (default: the level
        whose share changed most).
    dropna
        Drop incomplete rows instead of failing on missing values.
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
        coalitions, bootstrap resamples): a :class:`causal_attrib.parallel.Engine` for
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
    _check_options(alpha, attribute_to, bootstrap, confidence, n_samples)
    check_max_rows(max_rows)
    if engine is not None and n_jobs is not None:
        raise InputError("give n_jobs (threads) or an engine, not both")
    engine = engine or Engine("threads", n_jobs)
    say = progress or silent
    g = load_graph(graph)
    require_node(g, target)
    prepared = prepare_data(
        g,
        read_table(before, "--before"),
        read_table(after, "--after"),
        categorical=categorical,
        dropna=dropna,
        max_rows=max_rows,
        seed=seed,
    )
    stat = parse_statistic(statistic) if isinstance(statistic, str) else statistic
    measure, level = _measure(stat, prepared, target, target_level)
    models = models or EXPLAIN_MODELS
    tests = {
        False: change_test or ResidualChangeTest(),
        True: categorical_change_test or CategoricalChangeTest(),
    }

    before_cols, after_cols = _columns(prepared.before), _columns(prepared.after)
    order = list(nx.lexicographical_topological_sort(g))

    units = [
        _FitUnit(
            node,
            tuple(sorted(g.predecessors(node))),
            prepared.categorical,
            before_cols,
            after_cols,
            models,
            tests[node in prepared.categorical],
        )
        for node in order
    ]
    ticker = Ticker(say, "fitting and testing mechanisms (nodes)", len(order))

    def fit_and_count(unit: _FitUnit) -> _NodeFit:
        fit = unit.run()
        ticker.tick()
        return fit

    # nodes are independent given the data: each runs whole on one worker, so the result
    # does not depend on the engine or n_jobs
    if engine.local:
        fitted = engine.map(fit_and_count, units)
    else:
        fitted = engine.map(_FitUnit.run, [u.slim() for u in units])
        ticker.tick(len(units))
    fits = dict(zip(order, fitted, strict=True))
    p_values = {
        n: fits[n].test.p_value if np.isfinite(fits[n].test.p_value) else 1.0 for n in order
    }
    q_values = dict(zip(order, benjamini_hochberg(list(p_values.values())), strict=True))
    changed = {n: bool(q_values[n] <= alpha) for n in order}

    relevant = nx.ancestors(g, target) | {target}
    players = [n for n in order if n in relevant and (changed[n] or attribute_to == "all")]

    def build(before_cols, after_cols, refit_old: bool = True) -> InterventionModel:
        """The intervention game on these rows (bootstrap resamples refit the old side too)."""
        old, new = {}, {}
        for node in order:
            if node not in relevant:
                continue
            basis, is_cat = fits[node].basis, node in prepared.categorical
            pdata = {p: before_cols[p] for p in basis.parents}
            old[node] = (
                fit_mechanism(basis, pdata, before_cols[node], is_cat)
                if refit_old
                else fits[node].old
            )
            if node in players:
                pdata = {p: after_cols[p] for p in basis.parents}
                new[node] = fit_mechanism(basis, pdata, after_cols[node], is_cat)
        return InterventionModel(g, target, old, new, players, uniforms, measure)

    rng = np.random.default_rng(seed)
    uniforms = {n: latin_uniforms(rng, n_samples) for n in sorted(relevant)}
    shapley_seed, boot_seed = rng.integers(0, 2**63, size=2)

    exact = len(players) <= max_exact_players
    say(
        f"attributing the change to {len(players)} changed mechanism(s) ("
        + (f"{2 ** len(players)} coalitions)" if exact else f"{n_permutations} orderings)")
    )

    def attribute(game: InterventionModel, engine: Engine = engine) -> dict[str, float]:
        return shapley_values(
            players,
            game.value,
            max_exact=max_exact_players,
            n_permutations=n_permutations,
            rng=np.random.default_rng(shapley_seed),  # same orderings in every resample
            evaluate=None if engine.local else _batched(game, engine),
        )

    game = build(before_cols, after_cols, refit_old=False)
    phi = attribute(game)
    fitted_before = game.value(frozenset())
    fitted_after = game.value(frozenset(players))

    intervals: dict[str, tuple[float, float]] = {}
    change_interval = None
    if bootstrap and players:
        boot_ticker = Ticker(say, "bootstrap resamples", bootstrap)
        n_b, n_a = len(prepared.before), len(prepared.after)
        # one generator per resample, drawn where the resample runs: the same resamples on
        # any engine, without holding every resample's row indices at once
        draws = np.random.default_rng(boot_seed).spawn(bootstrap)

        def resample(draw: np.random.Generator) -> tuple[dict[str, float], float]:
            ib, ia = draw.integers(0, n_b, n_b), draw.integers(0, n_a, n_a)
            bcols = {k: v[ib] for k, v in before_cols.items()}
            acols = {k: v[ia] for k, v in after_cols.items()}
            boot_game = build(bcols, acols)
            boot_phi = attribute(boot_game, _SERIAL)
            change = boot_game.value(frozenset(players)) - boot_game.value(frozenset())
            return boot_phi, change

        def resample_and_count(draw: np.random.Generator) -> tuple[dict[str, float], float]:
            out = resample(draw)
            boot_ticker.tick()
            return out

        if engine.local:
            boots = engine.map(resample_and_count, draws)
        else:  # a few large units, so the data travel a few times, not once per resample
            size = math.ceil(len(draws) / (2 * engine.jobs))
            chunks = [draws[i : i + size] for i in range(0, len(draws), size)]
            done = engine.map(lambda chunk: [resample(d) for d in chunk], chunks)
            boots = [b for chunk in done for b in chunk]
            boot_ticker.tick(len(draws))
        lo, hi = (1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0
        intervals = {
            p: tuple(float(x) for x in np.quantile([b[0][p] for b in boots], [lo, hi]))
            for p in players
        }
        change_interval = tuple(float(x) for x in np.quantile([b[1] for b in boots], [lo, hi]))

    fitted_change = fitted_after - fitted_before
    gross = sum(abs(v) for v in phi.values())
    # contributions that cancel leave a net change of rounding size; shares of it are noise
    shares_defined = abs(fitted_change) > 1e-9 * gross
    nodes = []
    for node in order:
        contribution = phi.get(node, 0.0)
        nodes.append(
            NodeResult(
                node=node,
                contribution=contribution,
                changed=changed[node],
                p_value=p_values[node],
                q_value=float(q_values[node]),
                mechanism=fits[node].old.label,
                ancestor=node in relevant,
                share=contribution / fitted_change if shares_defined else None,
                interval=intervals.get(node),
                tests={k: v if np.isfinite(v) else 1.0 for k, v in fits[node].test.parts.items()},
            )
        )
    nodes.sort(key=lambda n: (-abs(_num(n.contribution)), n.q_value, n.node))

    notes = [*graph_notes(g), *prepared.notes]
    if 0 < bootstrap and bootstrap * (1 - confidence) / 2 < 1:
        notes.append(
            f"{bootstrap} bootstrap resamples cannot resolve a {confidence:.0%} interval (its "
            f"ends are the extreme resamples); use --bootstrap {math.ceil(20 / (1 - confidence))}"
            " or more for stable ends"
        )
    if not nx.ancestors(g, target):
        notes.append(
            f"{target!r} has no causes in the graph, so only its own mechanism can explain "
            "the change"
        )
    if not players:
        notes.append(
            f"no mechanism upstream of {target!r} changed at alpha={alpha}; "
            "the observed change is within what chance allows"
        )
    obs_b, obs_a = (
        measure(prepared.before[target].to_numpy()),
        measure(prepared.after[target].to_numpy()),
    )
    settings = {
        "statistic": stat.name,
        "alpha": alpha,
        "attribute_to": attribute_to,
        "models": getattr(models, "name", type(models).__name__),
        "n_samples": n_samples,
        "bootstrap": bootstrap,
        "confidence": confidence,
        "seed": seed,
        "shapley": "exact" if len(players) <= max_exact_players else "permutation",
        "dropna": dropna,
        "categorical": sorted(prepared.categorical),
        "max_rows": max_rows,
    }
    return ExplainResult(
        target=target,
        statistic=stat.name,
        target_level=level,
        observed_before=obs_b,
        observed_after=obs_a,
        fitted_before=fitted_before,
        fitted_after=fitted_after,
        nodes=tuple(nodes),
        settings=settings,
        rows={
            "before": len(prepared.before),
            "after": len(prepared.after),
            "before_total": prepared.totals[0],
            "after_total": prepared.totals[1],
        },
        notes=tuple(notes),
        fitted_change_interval=change_interval,
        check=_graph_check(g, prepared, alpha, seed, say) if check else None,
        report_data=ReportData(
            g,
            {
                n: (prepared.before[n].to_numpy(), prepared.after[n].to_numpy())
                for n in [target, *_top_nodes(nodes, target)]
            },
        ),
    )


def _top_nodes(nodes: Iterable[NodeResult], target: str, k: int = 4) -> list[str]:
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


def _graph_check(graph, prepared, alpha, seed, say):
    """The graph check of the before period: mixing periods would make changed mechanisms
    look like dependences the graph lacks."""
    from .graph_check import check_graph

    say("checking the graph against the before data")
    return check_graph(
        graph, prepared.before, categorical=prepared.categorical, alpha=alpha, seed=seed
    )


def _check_options(alpha, attribute_to, bootstrap, confidence, n_samples) -> None:
    if not 0.0 < alpha < 1.0:
        raise InputError(f"--alpha must be between 0 and 1 (exclusive), got {alpha}")
    if attribute_to not in ATTRIBUTE_TO:
        raise InputError(f"--attribute-to must be one of {', '.join(ATTRIBUTE_TO)}")
    if bootstrap < 0:
        raise InputError(f"--bootstrap must be 0 (off) or a positive count, got {bootstrap}")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"--confidence must be between 0 and 1 (exclusive), got {confidence}")
    if n_samples < 100:
        raise InputError(f"--samples must be at least 100, got {n_samples}")


def _measure(
    stat: Statistic, prepared: PreparedData, target: str, target_level: str | None
) -> tuple[Callable[[np.ndarray], float], str | None]:
    """The function of simulated target values whose change is explained."""
    if target not in prepared.categorical:
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
    b, a = prepared.before[target], prepared.after[target]
    level = target_level if target_level is not None else choose_level(b, a)
    if level not in set(b) | set(a):
        raise InputError(f"--target-level {level!r} never occurs in {target!r}")
    return (lambda x: float(np.mean(x == level))), level
