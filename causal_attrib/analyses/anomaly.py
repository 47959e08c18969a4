"""Root causes of anomalous rows: which node's own unusual behaviour made the target anomalous.

This follows Budhathoki et al., "Causal structure-based root cause analysis of outliers"
(ICML 2022). Each node is ``x_j = f_j(parents) + n_j``; the *noise* ``n_j`` is what was unusual
at the node itself. The target's anomaly is measured with an information-theoretic score,
``-log P(feature(X) >= feature(x))``, and each node's noise gets its Shapley share of that score:
the value of a coalition ``S`` is the target's score when the nodes in ``S`` keep their observed
noise and every other noise is drawn afresh from its normal distribution.

Where this departs from ``dowhy.gcm.attribute_anomalies``, on purpose:

* **Fit on both.** By default mechanisms are fitted on the reference *and* the anomalous rows.
  The method assumes the mechanisms did not change (only the noise was unusual), so the
  anomalous rows are samples of the same mechanisms, and they are the only samples where a
  parent moved far enough to show how strongly the child follows it. Monitoring data often
  has services whose latency never varied in normal operation; fitted on those alone, the
  child's dependence on them is unidentified and the blame lands on the child.
* **Tails that extrapolate.** Scores come from the empirical tail with an exponential tail
  beyond it (:mod:`causal_attrib.stats.scores`), so an outlier far outside the reference
  gets a large finite score instead of ``log(n)``, and probabilities never hit zero.
* **Incremental games.** Shapley values are averaged over orderings (all of them when few
  players, exact; else sampled until every standard error is within 1 % of the row's
  score); along an ordering only the descendants of the node just added are re-simulated
  (:mod:`causal_attrib.models.noise`).
* **Categorical nodes** keep the interval of uniforms that reproduces their observed level
  (the counterfactual noise of an inverse-CDF model), so they work as causes and as targets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import special

from ..choices import AttributeRows, Direction, FitOn, parse_choice
from ..engine import one_blas_thread
from ..errors import InputError
from ..inputs.preparation import AnomalyData, prepare_anomaly_data
from ..limits import MAX_PERMUTATIONS, MAX_SAMPLES, require_count, require_number, require_seed
from ..models.bases import ANOMALY_MODELS, ModelFamily
from ..models.fitting import FittedSCM, fit_scm
from ..models.mechanisms import FixedNoise, Mechanism
from ..models.noise import NoiseWalker
from ..progress import Progress, Ticker, silent
from ..results.anomaly import (
    AnomalyResult,
    Ranking,
    RootCause,
    RowResult,
    Unusualness,
    rank_causes,
    ranked,
)
from ..results.base import ReportData
from ..results.base import stable_float as _num
from ..stats.robust import EXCURSION, RobustCalibration, resolution
from ..stats.sampling import latin_uniforms
from ..stats.scores import ConditionalLevelScorer, FittedTail, LevelScorer, TailScorer
from ..stats.shapley import SHAPLEY_TOLERANCE, shapley_walked
from .opening import GraphSource, TableSource, open_analysis
from .options import require_max_rows, require_target

NoiseScorer = FittedTail | LevelScorer | ConditionalLevelScorer
"""Anything with ``score_noise(parents' data, value, noise) -> score``."""


@one_blas_thread
def attribute_anomalies(
    graph: GraphSource,
    reference: TableSource,
    anomalies: TableSource,
    target: str,
    *,
    categorical: Iterable[str] = (),
    na_values: Sequence[str] = (),
    threshold: float = 3.0,
    direction: Direction | str = Direction.BOTH,
    fit_on: FitOn | str = FitOn.BOTH,
    attribute: AttributeRows | str = AttributeRows.ANOMALOUS,
    models: ModelFamily | None = None,
    scorer: TailScorer | None = None,
    id_column: str | None = None,
    n_samples: int = 2000,
    n_permutations: int = 120,
    max_rows: int | None = 250_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> AnomalyResult:
    """Attribute the target's anomaly in each anomalous row to the nodes' own noise.

    Parameters
    ----------
    graph
        Causal DAG: a file path or a ``networkx.DiGraph``.
    reference
        Rows from normal operation (file path or DataFrame), one column per node.
    anomalies
        One or more anomalous rows (a single outlier or an incident window).
    target
        The node whose anomaly is explained.
    categorical
        Numeric columns to treat as categorical (text and boolean columns always are).
    na_values
        Cell values that mean "missing" beside empty cells (``--na-values``); text such
        as ``None`` or ``NA`` is otherwise a level (see :func:`causal_attrib.read_table`).
    threshold
        Family-wise anomaly threshold on the IT score: a row counts as anomalous when its
        target score reaches ``threshold + ln(number of rows)``, so a window of normal rows
        raises a false alarm with probability below about ``exp(-threshold)`` (5 % for 3).
    direction
        Which deviations of a continuous target count: ``"both"``, ``"high"`` (e.g. latency
        above normal) or ``"low"`` (e.g. availability below normal). Node scores stay
        two-sided.
    fit_on
        ``"both"``: fit mechanisms on reference and anomalous rows (see the module notes);
        ``"reference"``: on the reference alone, as DoWhy does. Noise distributions always
        come from the reference.
    attribute
        ``"anomalous"``: attribute only rows whose target is anomalous; ``"all"``: every row.
    models
        Model family strategy (default :data:`~causal_attrib.models.bases.ANOMALY_MODELS`:
        linear, additive splines or quadratic, chosen by cross-validation).
    scorer
        Anomaly scorer for continuous values (default :class:`TailScorer`).
    id_column
        Column of ``anomalies`` that labels its rows (e.g. a timestamp).
    n_samples
        Monte Carlo draws per coalition.
    n_permutations
        Most orderings averaged for the Shapley values: all of them (exact) when there are
        no more; else sampled, stopping earlier once every contribution's standard error
        is within 1 % of the row's score (:data:`~causal_attrib.stats.shapley.SHAPLEY_TOLERANCE`).
    max_rows
        Fit on a seeded sample of at most this many reference rows (``None``: all). The
        anomalous rows are always used in full.
    seed
        Seed of every random draw; the same inputs and seed give identical results.
    progress
        Called with a short message at the start of each slow step.

    Returns
    -------
    AnomalyResult
    """
    fit_on = parse_choice(FitOn, fit_on, "fit_on")
    attribute = parse_choice(AttributeRows, attribute, "attribute")
    check_anomaly_options(threshold, n_samples, n_permutations, seed)
    require_target(target)
    max_rows = require_max_rows(max_rows)
    say = progress or silent
    opening = open_analysis(
        graph,
        {"--reference": reference, "--anomalies": anomalies},
        target,
        max_rows=max_rows,
        na_values=na_values,
    )
    data = prepare_anomaly_data(
        opening.graph,
        opening.tables["--reference"],
        opening.tables["--anomalies"],
        target,
        categorical=categorical,
        id_column=id_column,
        max_rows=max_rows,
        seed=seed,
    )
    scorer = scorer or TailScorer(direction=direction)
    models = models or ANOMALY_MODELS
    say("fitting mechanisms")
    model = NoiseModel.fit(data, target, models, scorer, fit_on is FitOn.BOTH)
    settings = {
        "threshold": _num(threshold),
        "direction": scorer.direction.value,
        "fit_on": fit_on.value,
        "attribute": attribute.value,
        "models": getattr(models, "name", type(models).__name__),
        "samples": n_samples,
        "permutations": n_permutations,
        "seed": seed,
        "max_rows": max_rows,
    }
    return attribute_model(
        model, data, threshold, attribute, settings, opening.notes, n_samples, n_permutations,
        seed, say,
    )  # fmt: skip


def attribute_model(
    model: NoiseModel,
    data: AnomalyData,
    threshold: float,
    attribute: AttributeRows,
    settings: dict,
    notes: tuple[str, ...],
    n_samples: int,
    n_permutations: int,
    seed: int,
    say: Progress,
) -> AnomalyResult:
    """The anomaly analysis once a model is fitted: score and attribute every row, rank the
    causes, and gather the report (fresh fits and saved models alike)."""
    target = model.target
    row_threshold = float(threshold) + math.log(len(data.anomalies))
    rows, below_threshold = attribute_rows(
        model, data, row_threshold, attribute, n_samples, n_permutations, seed, say
    )
    unusual = model.unusualness(data)
    causes, ranking = choose_ranking(
        rows, rank_causes(rows), unusual,
        alarm_deviation(threshold, len(unusual) * len(data.anomalies)), by_unusualness=False,
    )  # fmt: skip
    settings = {
        **settings,
        "reference_rows": len(data.reference),
        "anomalous_rows": len(data.anomalies),
        "mechanisms": {n: model.mechanisms[n].label for n in model.order},
    }
    notes = tuple(notes) + data.notes + excluded_note(ranking) + split_notes(rows)
    if not nx.ancestors(data.graph, target):
        notes += (
            f"{target!r} has no causes in the graph, so every anomaly is attributed to its "
            "own mechanism",
        )
    shown = [target, *(c.node for c in causes if c.node != target)][:5]
    report_data = ReportData(
        data.graph,
        {n: (data.reference[n].to_numpy(), data.anomalies[n].to_numpy()) for n in shown},
        periods=("reference", "anomalous rows"),
    )
    return AnomalyResult(
        target, tuple(rows), causes, float(threshold), row_threshold, settings, notes, report_data,
        below_threshold=below_threshold, ranking=ranking,
    )  # fmt: skip


UNUSUAL_DEVIATION = 1.0
"""Robust SDs a candidate's noise must reach to be ranked by unusualness (outside the
central two thirds of its clean reference noise)."""

LARGE_SHARE = 3.0
"""A row's split that hands one node more than this many times the row's own score gets
a note: the shares then offset each other and say little."""

ATTRIBUTION_REASON = (
    "the target is anomalous: causes are ranked by their Shapley share of its score"
)
LEAD_REASON = (
    "the target is not anomalous in any row: causes are the attribution's lead over the "
    "most unusual rows (row mode keeps it: ranking rows by unusualness measured worse on "
    "PetShop); the candidates' own unusualness is listed beside it"
)
MOVED_REASON = (
    "the target is not anomalous over the window, but in some row it passed the single-row "
    "level (the threshold without the window's ln(rows)): it moved, so causes are the "
    "attribution's lead over its most unusual rows (the graph's view of who moved it), then "
    "the other candidates whose own noise was unusual"
)
UNUSUALNESS_REASON = (
    "the target is not anomalous, so a split of its small score says little: candidates "
    "whose own noise (their deviation from what their parents predict, so a node that only "
    "followed an unusual cause stays typical) passed the alarm come first, most unusual "
    "first, then the attribution's lead, then the other unusual candidates"
)


def alarm_deviation(threshold: float, tests: int) -> float:
    """Robust SDs a candidate's noise must reach to raise an alarm among ``tests`` (nodes
    times rows): the two-sided normal deviation with tail ``exp(-(threshold + ln tests))``,
    the family-wise rule of the row threshold (3.6 for threshold 3 and 150 tests)."""
    return float(-special.ndtri(math.exp(-(threshold + math.log(max(1, tests)))) / 2))


def choose_ranking(
    rows: list[RowResult],
    causes: tuple[RootCause, ...],
    unusual: Mapping[str, Unusualness],
    alarm: float,
    by_unusualness: bool = True,
    lead_reason: str = LEAD_REASON,
    then_unusual: bool = False,
) -> tuple[tuple[RootCause, ...], Ranking]:
    """The causes and the path that ranked them (the rule in docs/anomaly.md).

    When some row's target passes its threshold, the attribution ranks. When none does
    and not ``by_unusualness``, the attribution's lead over the most unusual rows ranks
    (``lead_reason`` says why), followed when ``then_unusual`` by the other candidates
    whose noise reached :data:`UNUSUAL_DEVIATION`. Else: first the candidates whose own
    noise reached the
    ``alarm`` deviation
    (:func:`alarm_deviation`), most unusual first; then the attribution's lead over the
    most unusual rows (the graph's view of who moved the target); then the other
    candidates whose noise reached :data:`UNUSUAL_DEVIATION`. Contributions are the lead's
    (0 for a node it did not name)."""
    nodes = tuple(sorted(unusual.values(), key=lambda u: (-u.deviation, u.node)))
    if any(r.anomalous for r in rows):
        return causes, Ranking("attribution", ATTRIBUTION_REASON, nodes)
    if not by_unusualness and not then_unusual:
        return causes, Ranking("lead", lead_reason, nodes)
    lead = {c.node: c for c in causes}
    first = [u.node for u in nodes if u.deviation >= alarm] if by_unusualness else []
    order = first + [c.node for c in causes if c.node not in first]
    order += [u.node for u in nodes if u.node not in order and u.deviation >= UNUSUAL_DEVIATION]
    by = {u.node: u for u in nodes}
    reordered = tuple(
        RootCause(
            n,
            lead[n].contribution if n in lead else 0.0,
            by[n].score if lead.get(n) is None else lead[n].score,
        )
        for n in order
    )
    if not by_unusualness:
        return reordered, Ranking("lead", lead_reason, nodes)
    return reordered, Ranking("unusualness", UNUSUALNESS_REASON, nodes)


def unusualness(node: str, reference: np.ndarray, window: np.ndarray, values, seen) -> Unusualness:
    """One candidate's :class:`Unusualness`: its ``window`` noise against its ``reference``
    noise, calibrated robustly (:class:`~causal_attrib.stats.robust.RobustCalibration`)
    with the resolution of its reference ``values`` (``seen``: its values in the window)."""
    calibration = RobustCalibration.fit(reference, resolution(values, seen))
    w = np.asarray(window, dtype=float)
    w = w[np.isfinite(w)]
    if w.size == 0:
        return Unusualness(node, 0.0, 0.0, calibration.excluded)
    return Unusualness(
        node,
        float(np.max(calibration.deviation(w))),
        float(np.max(calibration.score(w))),
        calibration.excluded,
    )


def split_notes(rows: Iterable[RowResult]) -> tuple[str, ...]:
    """A note per row whose split hands one node more than :data:`LARGE_SHARE` times the
    row's own score (the shares then offset each other), naming the node."""
    notes = []
    for r in rows:
        if not r.root_causes or not r.target_score:
            continue
        top = max(r.root_causes, key=lambda c: abs(c.contribution))
        if abs(top.contribution) > LARGE_SHARE * abs(r.target_score):
            notes.append(
                f"row {r.row}: {top.node!r} gets {top.contribution:+.3g}, "
                f"{abs(top.contribution) / abs(r.target_score):.0f}x the row's own score "
                f"{r.target_score:.3g}; other nodes' shares offset it, so this row's split "
                "is fragile (a coarse or poorly identified mechanism)"
            )
    return tuple(notes)


def excluded_note(ranking: Ranking) -> tuple[str, ...]:
    """When unusualness ranked, the note naming the reference rows left out of its
    calibration as earlier excursions (the JSON lists them in every case)."""
    left = [f"{u.node} ({u.excluded})" for u in ranking.nodes if u.excluded]
    if ranking.by != "unusualness" or not left:
        return ()
    return (
        f"reference rows more than {EXCURSION:g} robust SDs out were left out of the noise "
        "calibration as earlier excursions: " + ", ".join(left),
    )


MOST_UNUSUAL = 10
"""Rows ranked when none is anomalous: the most unusual ones, at most this many."""


def most_unusual(rows: list[RowResult]) -> set[int]:
    """Indices of the rows whose target is most unusual (score above 0, up to
    :data:`MOST_UNUSUAL` of them), to rank causes when no row passes the threshold."""
    scored = [(r.target_score, i) for i, r in enumerate(rows) if r.target_score]
    return {i for _, i in sorted(scored, key=lambda t: (-t[0], t[1]))[:MOST_UNUSUAL]}


def check_anomaly_options(threshold, n_samples: int, n_permutations: int, seed: int) -> None:
    """Refuse option values an anomaly attribution cannot use (rows or incidents alike)."""
    if require_number(threshold, "threshold", -math.inf, math.inf) < 0:
        raise InputError(
            f"threshold must be a non-negative number, not {threshold!r}", parameter="threshold"
        )
    require_count(n_samples, "n_samples", 100, MAX_SAMPLES)
    require_count(n_permutations, "n_permutations", 2, MAX_PERMUTATIONS)
    require_seed(seed)


def attribute_rows(
    model: NoiseModel,
    data: AnomalyData,
    row_threshold: float,
    attribute: AttributeRows,
    n_samples: int,
    n_permutations: int,
    seed: int,
    say: Progress,
) -> tuple[list[RowResult], bool]:
    """Each anomalous-table row scored and, when anomalous (or ``attribute="all"``),
    attributed; every row uses the same draws (common random numbers).

    When no row is attributed, the :func:`most_unusual` rows are, because the user handed
    us the window for a reason; the flag returned says the causes rank rows below the
    threshold (the verdict does not change)."""
    rng = np.random.default_rng(seed)
    uniforms = {n: latin_uniforms(rng, n_samples) for n in model.order}
    walker = model.walker(uniforms)
    ticker = Ticker(say, "attributing rows", len(data.anomalies))

    def explain(i: int, attribute_all: bool) -> RowResult:
        row = {n: data.anomalies[n].iloc[i] for n in model.order}
        return model.explain_row(
            data.labels[i], row, row_threshold, attribute_all, walker, n_permutations,
            np.random.default_rng([seed, i]),
        )  # fmt: skip

    rows = []
    for i in range(len(data.anomalies)):
        rows.append(explain(i, attribute is AttributeRows.ALL))
        ticker.tick()
    unusual = set() if any(r.root_causes for r in rows) else most_unusual(rows)
    for i in sorted(unusual):  # the same draws as the first pass: only the attribution is new
        rows[i] = explain(i, True)
    return rows, bool(unusual)


@dataclass
class NoiseModel:
    """The fitted SCM over the target's ancestors, with scorers of each node's noise."""

    target: str
    order: list[str]
    parents: dict[str, tuple[str, ...]]
    mechanisms: dict[str, Mechanism]
    scorers: dict[str, NoiseScorer]
    target_scorer: FittedTail | LevelScorer
    categorical: frozenset[str]
    descendants: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, data: AnomalyData, target: str, models: ModelFamily, scorer: TailScorer, pooled: bool
    ) -> NoiseModel:
        """Fit every relevant node's mechanism (on reference and anomalous rows when
        ``pooled``; noise always from the reference) and a scorer of its noise."""
        frames = [data.reference] + ([data.anomalies] if pooled else [])
        order = relevant_order(data.graph, target)
        columns = {n: np.concatenate([f[n].to_numpy() for f in frames]) for n in order}
        noise_rows = np.arange(len(columns[target])) < len(data.reference) if pooled else None
        fill = {n: typical_value(data.reference[n], n in data.categorical) for n in order}
        scm = fit_scm(
            data.graph, columns, models=models, categorical=data.categorical, nodes=order,
            fill=fill, noise_rows=noise_rows,
        )  # fmt: skip
        return cls.build(scm, data.reference[target].to_numpy(), target, scorer)

    @classmethod
    def build(
        cls, scm: FittedSCM, reference_target: np.ndarray, target: str, scorer: TailScorer
    ) -> NoiseModel:
        """The anomaly game's model from a fitted SCM: the target's ancestors' mechanisms,
        a scorer of each one's noise, and the target's scorer from its reference values."""
        g = scm.graph
        order = [n for n in relevant_order(g, target) if n in scm.mechanisms]
        cat = scm.categorical
        node_scorer = replace(scorer, direction=Direction.BOTH)
        mechanisms = {n: scm.mechanisms[n] for n in order}
        scorers = {n: _noise_scorer(mechanisms[n], n in cat, node_scorer) for n in order}
        parents = {n: scm.parents(n) for n in order}
        ref_target = reference_target[pd.notna(reference_target)]
        target_scorer = (
            LevelScorer.fit(ref_target) if target in cat else scorer.fit(ref_target.astype(float))
        )
        model = cls(target, order, parents, mechanisms, scorers, target_scorer, cat)
        rank = {n: i for i, n in enumerate(order)}
        relevant = set(order)
        for node in order:
            down = (nx.descendants(g, node) & relevant) | {node}
            model.descendants[node] = sorted(down, key=rank.__getitem__)
        return model

    def walker(self, uniforms: Mapping[str, np.ndarray]) -> NoiseWalker:
        """The noise game's simulator with these draws."""
        return NoiseWalker(self.order, self.parents, self.mechanisms, self.descendants, uniforms)

    def explain_row(
        self,
        label: str,
        row: Mapping[str, Any],
        row_threshold: float,
        attribute_all: bool,
        walker: NoiseWalker,
        n_permutations: int,
        rng: np.random.Generator,
    ) -> RowResult:
        """Score one row's target and, if asked, split the score between the nodes' noises."""
        measured = {n: _is_measured(row[n]) for n in self.order}
        unmeasured = tuple(n for n in self.order if not measured[n])
        if not measured[self.target]:
            return RowResult(label, None, None, False, (), None, unmeasured)
        x_t = row[self.target]
        t_score = self.target_scorer.score_one(x_t)
        anomalous = t_score >= row_threshold
        if not (anomalous or attribute_all):
            return RowResult(label, x_t, t_score, anomalous, (), None, unmeasured)
        pinned, node_score = self._pin(row, measured)
        players = typical_pruned([n for n in self.order if n in pinned], node_score)

        def measure(sample: np.ndarray) -> float:
            return self.target_scorer.score_sample(sample, x_t)

        def walk(ordering, phi: dict[str, float]) -> float:
            return walker.walk(ordering, pinned, self.target, measure, t_score, phi)

        estimate, grand = shapley_walked(
            players, walk, n_permutations=n_permutations, rng=rng,
            tolerance=SHAPLEY_TOLERANCE, scale=abs(t_score),
        )  # fmt: skip
        left = t_score if grand is None else float(grand)  # the random nodes' part
        phi, errors = estimate.values, estimate.errors or {}
        causes = ranked(RootCause(n, phi[n], node_score[n], errors.get(n)) for n in players)
        return RowResult(label, x_t, t_score, anomalous, causes, left, unmeasured)

    def unusualness(self, data: AnomalyData) -> dict[str, Unusualness]:
        """Each measured candidate's :class:`Unusualness` over the anomalous rows: its noise
        against its reference noise (a categorical node's score, read as a deviation)."""
        noise: dict[str, list] = {n: [] for n in self.order}
        scores: dict[str, list] = {n: [] for n in self.order}
        for i in range(len(data.anomalies)):
            row = {n: data.anomalies[n].iloc[i] for n in self.order}
            measured = {n: _is_measured(row[n]) for n in self.order}
            pinned, node_score = self._pin(row, measured)
            for n, fixed in pinned.items():
                noise[n].append(fixed.noise)
                scores[n].append(node_score[n])
        out = {}
        for n in self.order:
            reference = self.mechanisms[n].noise_values
            if n in self.categorical or reference is None:
                nats = max((s for s in scores[n] if s is not None), default=0.0)
                z = float(-special.ndtri(min(1.0, math.exp(-nats)) / 2))
                out[n] = Unusualness(n, z, nats)
                continue
            values = data.reference[n].to_numpy(dtype=float)
            seen = np.asarray(data.anomalies[n].to_numpy(dtype=float))
            out[n] = unusualness(n, reference, np.asarray(noise[n], dtype=float), values, seen)
        return out

    def _pin(self, row, measured) -> tuple[dict[str, FixedNoise], dict[str, float | None]]:
        """Complete the row (unmeasured nodes take their typical value given their parents),
        then read off each measured node's noise, pinned, and its own score."""
        values: dict[str, Any] = {}
        pinned: dict[str, FixedNoise] = {}
        node_score: dict[str, float | None] = {}
        for node in self.order:
            mech = self.mechanisms[node]
            pdata = {
                p: np.array([values[p]], dtype=object if p in self.categorical else float)
                for p in self.parents[node]
            }
            if not measured[node]:
                values[node] = mech.typical(pdata)
                node_score[node] = None
                continue
            x = values[node] = row[node]
            noise = mech.noise_of(pdata, np.array([x], dtype=object))[0]
            pinned[node] = FixedNoise(mech, noise)
            node_score[node] = self.scorers[node].score_noise(pdata, x, noise)
        return pinned, node_score


PRUNE_FROM = 15
"""Measured nodes per row from which nodes with typical noise are pruned (see
:func:`typical_pruned`)."""

TYPICAL = 1.0
"""A node's own noise score (nats) below which its noise counts as typical: inside the central
63 % of its reference noise."""

MAX_PLAYERS = 20
"""Most players per row in a pruned game: the nodes with the most unusual noise."""


def typical_pruned(nodes: list[str], node_score: Mapping[str, float | None]) -> list[str]:
    """The row's players.

    With more than :data:`PRUNE_FROM` measured nodes, only the (at most
    :data:`MAX_PLAYERS`) nodes whose own noise was the most unusual, and not typical
    (score at least :data:`TYPICAL`), are players; the others' noise stays random in every
    coalition, as an unmeasured node's does. Orderings then walk a handful of nodes instead
    of hundreds. What this can cost is measured, not assumed: the score the players leave
    unexplained with every one of them pinned (the row's ``unattributed``) is what the
    pruned nodes could have claimed, at most.
    """
    if len(nodes) <= PRUNE_FROM:
        return nodes
    score = {n: node_score.get(n) or 0.0 for n in nodes}
    unusual = sorted((n for n in nodes if score[n] >= TYPICAL), key=lambda n: (-score[n], n))
    keep = set(unusual[:MAX_PLAYERS])
    return [n for n in nodes if n in keep]


def relevant_order(graph: nx.DiGraph, target: str) -> list[str]:
    """The target's ancestors and the target, in a fixed topological order."""
    relevant = nx.ancestors(graph, target) | {target}
    return [n for n in nx.lexicographical_topological_sort(graph) if n in relevant]


def _noise_scorer(mechanism: Mechanism, categorical: bool, scorer: TailScorer) -> NoiseScorer:
    """How unusual a node's noise is: against the reference values of a root, the
    reference residuals of an additive-noise node, or the classifier's probabilities."""
    noise = mechanism.noise_values
    if noise is None:
        return ConditionalLevelScorer(mechanism)
    return LevelScorer.fit(noise) if categorical else scorer.fit(noise)


def _is_measured(value: Any) -> bool:
    """Whether a cell holds a value: a gap may read as ``None`` or as NaN (pandas stores
    gaps of text columns as NaN), for categorical nodes as for the others."""
    return value is not None and bool(pd.notna(value))


def typical_value(column: pd.Series, categorical: bool) -> Any:
    """A column's stand-in for its gaps: the median, or the most common level."""
    seen = column.dropna()
    if len(seen) == 0:
        return None
    if categorical:
        return seen.astype(str).value_counts().sort_index().idxmax()
    return float(seen.median())
