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
  beyond it, so an outlier far outside the reference gets a large finite score instead of
  ``log(n)``, and probabilities never hit zero.
* **Incremental games.** Shapley values are averaged over orderings (all of them when few
  players, exact); along an ordering only the descendants of the node just added are
  re-simulated, with the same draws for every coalition (common random numbers).
* **Categorical nodes** keep the interval of uniforms that reproduces their observed level
  (the counterfactual noise of an inverse-CDF model), so they work as causes and as targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import permutations
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from .attribution import latin_uniforms
from .data_io import AnomalyData, check_max_rows, prepare_anomaly_data, read_table
from .exit_codes import InputError
from .graph_io import graph_notes, load_graph, require_node
from .mechanisms import (
    AdditiveNoiseMechanism,
    AutoModels,
    ClassifierMechanism,
    EmpiricalMechanism,
    Mechanism,
    ModelFamily,
    _pick,
    least_squares,
    one_blas_thread,
)
from .progress import Ticker, silent
from .reports import ReportData
from .reports import stable_float as _num

SCHEMA_VERSION = "1.0"
FIT_ON = ("both", "reference")
DIRECTIONS = ("both", "high", "low")
ATTRIBUTE = ("anomalous", "all")


# --- anomaly scores ---------------------------------------------------------------------


@dataclass(frozen=True)
class TailScorer:
    """Information-theoretic score of a continuous value: ``-log P(|X - m| / s >= |x - m| / s)``.

    ``m`` is the median and ``s`` a robust scale of the reference sample. Inside the sample the
    probability is the empirical share; beyond the top ``tail_fraction`` of it, an exponential
    tail fitted to those points takes over, so far outliers get large but finite scores.

    Parameters
    ----------
    tail_fraction
        Share of the largest deviations used to fit the exponential tail.
    min_tail
        Fewest points in the tail fit.
    max_score
        Cap on scores (``e**-100`` is beyond anything a sample can support).
    """

    tail_fraction: float = 0.05
    min_tail: int = 5
    max_score: float = 100.0
    direction: str = "both"

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise InputError(
                f"direction must be one of {', '.join(DIRECTIONS)}, not {self.direction!r}"
            )

    def fit(self, values: np.ndarray) -> FittedTail:
        """Learn centre, scale and tail from reference values (NaN ignored)."""
        x = np.asarray(values, dtype=float)
        x = x[np.isfinite(x)]
        centre = float(np.median(x))
        dev = np.abs(x - centre)
        scale = 1.4826 * float(np.median(dev))
        if scale <= 0:
            scale = 1.2533 * float(np.mean(dev))
        if scale <= 0:  # a constant: any deviation at all is extreme
            scale = 1e-9 * max(1.0, abs(centre))
        fitted = FittedTail(self, centre, scale, np.array([]))
        return FittedTail(self, centre, scale, np.sort(fitted.feature(x)))

    def tail_size(self, n: int) -> int:
        """How many of ``n`` largest points the exponential tail is fitted to."""
        return min(n, max(self.min_tail, math.ceil(self.tail_fraction * n)))

    def log_tail(self, counts: np.ndarray, n: int, top: np.ndarray, t: np.ndarray) -> np.ndarray:
        """``-log P(F >= t)`` from ``counts`` (points with ``F >= t``, per ``t``) among ``n``,
        and ``top``, the ``tail_size(n)`` largest points: empirical up to the smallest of
        them, exponential (fitted to them) beyond."""
        k = len(top)
        u = float(top.min())
        beta = max(float(top.mean()) - u, 1e-3)
        with np.errstate(divide="ignore"):
            log_p = np.where(
                t <= u, np.log(np.maximum(counts, 1) / n), np.log(k / n) - (t - u) / beta
            )
        return np.clip(-log_p, 0.0, self.max_score)


def _as_extreme(t: np.ndarray | float) -> np.ndarray:
    """Nudge thresholds down so that a value equal to the observed one counts as extreme
    (re-simulating the observed row reproduces it only up to rounding)."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    return t - 1e-9 * np.maximum(1.0, t)


@dataclass(frozen=True)
class FittedTail:
    """A :class:`TailScorer` fitted to one reference sample."""

    scorer: TailScorer
    centre: float
    scale: float
    features: np.ndarray = field(repr=False)

    def feature(self, values: np.ndarray | float) -> np.ndarray:
        """Deviation from the reference median in robust-scale units (one-sided if asked)."""
        dev = (np.asarray(values, dtype=float) - self.centre) / self.scale
        if self.scorer.direction == "high":
            return np.maximum(dev, 0.0)
        if self.scorer.direction == "low":
            return np.maximum(-dev, 0.0)
        return np.abs(dev)

    def score(self, values: np.ndarray | float) -> np.ndarray:
        """Scores of ``values`` against the reference."""
        f, t = self.features, _as_extreme(self.feature(values))
        n = len(f)
        counts = n - np.searchsorted(f, t, side="left")
        return self.scorer.log_tail(counts, n, f[n - self.scorer.tail_size(n) :], t)

    def score_one(self, value: float) -> float:
        """Score of a single value."""
        return float(self.score(float(value))[0])

    def score_sample(self, sample: np.ndarray, observed: float) -> float:
        """Score of ``observed`` against a simulated ``sample`` (same feature, same tail rule).

        This runs once per coalition, so it counts and partitions instead of sorting."""
        f, t = self.feature(sample), _as_extreme(self.feature(observed))
        n = len(f)
        k = self.scorer.tail_size(n)
        top = np.partition(f, n - k)[n - k :]
        counts = np.array([np.count_nonzero(f >= t[0])])
        return float(self.scorer.log_tail(counts, n, top, t)[0])


@dataclass(frozen=True)
class LevelScorer:
    """IT score of a category: ``-log P(p(X) <= p(x))``, the chance of a level at most as
    likely as the one seen; half a count of smoothing keeps unseen levels finite."""

    counts: Mapping[str, int]
    n: int

    @classmethod
    def fit(cls, values: np.ndarray) -> LevelScorer:
        """Count levels in the reference (missing values ignored)."""
        s = pd.Series([v for v in values if v is not None], dtype=object)
        return cls(dict(s.value_counts()), len(s))

    def score_one(self, level: str) -> float:
        """Score of one observed level."""
        c = self.counts.get(level, 0)
        rarer = sum(k for k in self.counts.values() if k <= c)
        return float(-np.log((rarer + 0.5) / (self.n + 1)))

    def score_sample(self, sample: np.ndarray, observed: str) -> float:
        """Score of ``observed`` against a simulated sample of levels."""
        c = self.counts.get(observed, 0)
        rare = np.fromiter((self.counts.get(v, 0) <= c for v in sample), bool, len(sample))
        return float(-np.log((rare.sum() + 0.5) / (len(sample) + 1)))


def _conditional_level_score(proba: np.ndarray, classes: tuple, level: str) -> float:
    """Score of a category given its parents: ``-log P(p(X|pa) <= p(x|pa))``."""
    px = proba[classes.index(level)] if level in classes else 0.0
    tail = min(1.0, sum(v for v in proba if v <= px + 1e-12))  # rounding can sum past 1
    return float(min(100.0, -np.log(max(tail, np.exp(-100.0)))))


# --- observed noise as a mechanism --------------------------------------------------------


@dataclass(frozen=True)
class ObservedNoise:
    """A node whose noise is pinned to what an anomalous row showed.

    Continuous nodes add the observed residual to ``f(parents)``; roots repeat the observed
    value; categorical nodes with parents draw their uniform inside the interval that
    reproduced the observed level, so new parents can still change the level.
    """

    mechanism: Mechanism
    value: Any = None
    residual: float = 0.0
    interval: tuple[float, float] | None = None

    def sample(self, data: Mapping[str, np.ndarray], u: np.ndarray) -> np.ndarray:
        """Values for each draw, with the noise fixed."""
        mech = self.mechanism
        if isinstance(mech, EmpiricalMechanism) or (
            isinstance(mech, ClassifierMechanism) and self.interval is None
        ):
            return np.full(
                len(u), self.value, dtype=object if isinstance(self.value, str) else float
            )
        if isinstance(mech, AdditiveNoiseMechanism):
            return mech.predict(data) + self.residual
        lo, hi = self.interval
        return mech.sample(data, lo + (hi - lo) * u)


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RootCause:
    """One node's part in an anomaly.

    Attributes
    ----------
    node
        Node name.
    contribution
        Shapley share of the target's anomaly score owed to this node's own noise.
    score
        The node's own anomaly score: how unusual its value was *given its parents*.
    """

    node: str
    contribution: float
    score: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "node": self.node,
            "contribution": _num(self.contribution),
            "score": _num(self.score),
        }


@dataclass(frozen=True)
class RowResult:
    """The analysis of one anomalous row.

    Attributes
    ----------
    row
        Label of the row (``--id-column`` value, else its 1-based number).
    target_value
        The target's value in the row (``None`` if not measured).
    target_score
        IT anomaly score of the target against the reference.
    anomalous
        Whether ``target_score`` reaches the row threshold.
    root_causes
        Players ranked by contribution (empty when the row was not attributed).
    unattributed
        Part of the score left to nodes the row does not measure (their noise stays random).
    unmeasured
        Ancestors of the target (or the target) that the row does not measure.
    """

    row: str
    target_value: Any
    target_score: float | None
    anomalous: bool
    root_causes: tuple[RootCause, ...]
    unattributed: float | None
    unmeasured: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        value = self.target_value
        return {
            "row": self.row,
            "target_value": value if isinstance(value, str) or value is None else _num(value),
            "target_score": _num(self.target_score),
            "anomalous": self.anomalous,
            "root_causes": [c.to_dict() for c in self.root_causes],
            "unattributed": _num(self.unattributed),
            "unmeasured": list(self.unmeasured),
        }


@dataclass(frozen=True)
class AnomalyResult:
    """Everything :func:`attribute_anomalies` found; ``to_dict()`` is the CLI's JSON.

    Attributes
    ----------
    target
        The node whose anomaly is explained.
    rows
        One :class:`RowResult` per anomalous-table row.
    summary
        Mean contribution per node over the attributed rows, ranked.
    threshold, row_threshold
        The family-wise threshold and the per-row score it implies
        (``threshold + ln(rows)``, Bonferroni over the rows).
    settings, notes
        What was run, and what the user should know.
    report_data
        The graph and the reference and anomalous values of the target and the top
        causes, for the HTML report; not part of ``to_dict()``.
    """

    command: ClassVar[str] = "anomaly"

    target: str
    rows: tuple[RowResult, ...]
    summary: tuple[RootCause, ...]
    threshold: float
    row_threshold: float
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    report_data: ReportData | None = field(default=None, repr=False, compare=False)

    @property
    def anomalous_rows(self) -> list[str]:
        """Labels of the rows whose target score reached the row threshold."""
        return [r.row for r in self.rows if r.anomalous]

    @property
    def max_score(self) -> float:
        """The largest target score over the rows."""
        return max((r.target_score for r in self.rows if r.target_score is not None), default=0.0)

    @property
    def blame_total(self) -> float:
        """Sum of the positive contributions in the summary (what shares are relative to)."""
        return float(sum(c.contribution for c in self.summary if c.contribution > 0))

    @property
    def top_cause(self) -> str | None:
        """The node ranked first over the window, if any row was attributed."""
        return self.summary[0].node if self.summary else None

    def headline(self) -> str:
        """One sentence for humans: is the target anomalous, and whose noise made it so."""
        n = len(self.rows)
        k = len(self.anomalous_rows)
        rows = "row" if n == 1 else "rows"
        if k == 0:
            return (
                f"`{self.target}` is not anomalous in the {n} {rows} given (highest score "
                f"{self.max_score:.3g}, threshold {self.row_threshold:.3g}); no root cause "
                "to name."
            )
        lead = self.summary[0] if self.summary else None
        blame = self.blame_total
        share = f" ({lead.contribution / blame * 100:.0f} % of the blame)" if lead and blame else ""
        cause = f"; root cause: `{lead.node}`{share}" if lead else ""
        return (
            f"`{self.target}` is anomalous in {k} of {n} {rows} (highest score "
            f"{self.max_score:.3g}, threshold {self.row_threshold:.3g}){cause}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's ``--format json`` is exactly this, serialised)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "target": self.target,
            "headline": self.headline(),
            "threshold": _num(self.threshold),
            "row_threshold": _num(self.row_threshold),
            "anomalous_rows": self.anomalous_rows,
            "anomalies": [r.to_dict() for r in self.rows],
            "summary": [c.to_dict() for c in self.summary],
            "settings": dict(self.settings),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per (anomalous row, node) with contribution and node score."""
        records = [
            {
                "row": r.row,
                "target_score": r.target_score,
                "rank": rank,
                "node": c.node,
                "contribution": c.contribution,
                "score": c.score,
            }
            for r in self.rows
            for rank, c in enumerate(r.root_causes, start=1)
        ]
        columns = ["row", "target_score", "rank", "node", "contribution", "score"]
        return pd.DataFrame.from_records(records, columns=columns)


# --- the analysis --------------------------------------------------------------------------


@one_blas_thread
def attribute_anomalies(
    graph: str | Path | nx.DiGraph,
    reference: str | Path | pd.DataFrame,
    anomalies: str | Path | pd.DataFrame,
    target: str,
    *,
    categorical: Iterable[str] = (),
    threshold: float = 3.0,
    direction: str = "both",
    fit_on: str = "both",
    attribute: str = "anomalous",
    models: ModelFamily | None = None,
    scorer: TailScorer | None = None,
    id_column: str | None = None,
    n_samples: int = 2000,
    n_permutations: int = 120,
    max_rows: int | None = 250_000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
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
        Model family strategy (default :class:`~causal_attrib.mechanisms.AutoModels`).
    scorer
        Anomaly scorer for continuous values (default :class:`TailScorer`).
    id_column
        Column of ``anomalies`` that labels its rows (e.g. a timestamp).
    n_samples
        Monte Carlo draws per coalition.
    n_permutations
        Orderings averaged for the Shapley values (all of them, i.e. exact, when fewer).
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
    if fit_on not in FIT_ON:
        raise InputError(f"fit_on must be one of {', '.join(FIT_ON)}, not {fit_on!r}")
    if attribute not in ATTRIBUTE:
        raise InputError(f"attribute must be one of {', '.join(ATTRIBUTE)}, not {attribute!r}")
    if not (isinstance(threshold, int | float) and np.isfinite(threshold) and threshold >= 0):
        raise InputError(f"threshold must be a non-negative number, not {threshold!r}")
    check_max_rows(max_rows)
    if n_samples < 100:
        raise InputError(f"samples must be at least 100, not {n_samples}")
    if n_permutations < 2:
        raise InputError(f"permutations must be at least 2, not {n_permutations}")
    say = progress or silent
    g = load_graph(graph)
    require_node(g, target)
    data = prepare_anomaly_data(
        g,
        read_table(reference, "--reference"),
        read_table(anomalies, "--anomalies"),
        target,
        categorical=categorical,
        id_column=id_column,
        max_rows=max_rows,
        seed=seed,
    )
    scorer = scorer or TailScorer(direction=direction)
    models = models or AutoModels()
    say("fitting mechanisms")
    model = _NoiseModel.fit(data, target, models, scorer, fit_on == "both")
    n_rows = len(data.anomalies)
    row_threshold = float(threshold) + math.log(n_rows)
    rng = np.random.default_rng(seed)
    uniforms = {n: latin_uniforms(rng, n_samples) for n in model.order}
    walker = _Walker(model, uniforms)
    rows = []
    ticker = Ticker(say, "attributing rows", n_rows)
    for i in range(n_rows):
        row = {n: data.anomalies[n].iloc[i] for n in model.order}
        rows.append(
            model.explain_row(
                data.labels[i],
                row,
                row_threshold,
                attribute == "all",
                walker,
                n_permutations,
                np.random.default_rng([seed, i]),
            )
        )
        ticker.tick()
    summary = summarise(rows)
    settings = {
        "threshold": _num(threshold),
        "direction": scorer.direction,
        "fit_on": fit_on,
        "attribute": attribute,
        "models": getattr(models, "name", type(models).__name__),
        "samples": n_samples,
        "permutations": n_permutations,
        "seed": seed,
        "max_rows": max_rows,
        "reference_rows": len(data.reference),
        "anomalous_rows": n_rows,
        "mechanisms": {n: model.label(n) for n in model.order},
    }
    notes = graph_notes(g) + data.notes
    if not nx.ancestors(data.graph, target):
        notes += (
            f"{target!r} has no causes in the graph, so every anomaly is attributed to its "
            "own mechanism",
        )
    shown = [target, *(c.node for c in summary if c.node != target)][:5]
    report_data = ReportData(
        data.graph,
        {n: (data.reference[n].to_numpy(), data.anomalies[n].to_numpy()) for n in shown},
        periods=("reference", "anomalous rows"),
    )
    return AnomalyResult(
        target, tuple(rows), summary, float(threshold), row_threshold, settings, notes, report_data
    )


def _ranked(causes: Iterable[RootCause]) -> tuple[RootCause, ...]:
    """Largest contribution first; ties (to 12 digits) by name, so output is stable."""
    return tuple(sorted(causes, key=lambda c: (-round(c.contribution, 12), c.node)))


def summarise(rows: Iterable[RowResult]) -> tuple[RootCause, ...]:
    """Mean contribution per node over the attributed rows; node score is its maximum.

    :attr:`AnomalyResult.summary` is this over all rows; pass a subset (e.g. only the
    anomalous rows of an ``attribute="all"`` run) to rank over those instead.
    """
    attributed = [r for r in rows if r.root_causes]
    if not attributed:
        return ()
    total: dict[str, float] = {}
    score: dict[str, float] = {}
    for r in attributed:
        for c in r.root_causes:
            total[c.node] = total.get(c.node, 0.0) + c.contribution
            if c.score is not None:
                score[c.node] = max(score.get(c.node, 0.0), c.score)
    return _ranked(RootCause(n, v / len(attributed), score.get(n)) for n, v in total.items())


@dataclass
class _NoiseModel:
    """The fitted SCM over the target's ancestors, with reference noise scorers."""

    target: str
    order: list[str]
    parents: dict[str, tuple[str, ...]]
    mechanisms: dict[str, Mechanism]
    scorers: dict[str, Any]
    fill: dict[str, Any]
    target_scorer: Any
    categorical: frozenset[str]
    descendants: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, data: AnomalyData, target: str, models: ModelFamily, scorer: TailScorer, pooled: bool
    ) -> _NoiseModel:
        g = data.graph
        relevant = nx.ancestors(g, target) | {target}
        order = [n for n in nx.lexicographical_topological_sort(g) if n in relevant]
        cat = data.categorical
        target_tail, scorer = scorer, replace(scorer, direction="both")
        fill = {n: _typical(data.reference[n], n in cat) for n in order}
        frames = [data.reference] + ([data.anomalies] if pooled else [])
        n_ref = len(data.reference)
        mechanisms: dict[str, Mechanism] = {}
        scorers: dict[str, Any] = {}
        parents: dict[str, tuple[str, ...]] = {}
        for node in order:
            pa = tuple(sorted(g.predecessors(node)))
            parents[node] = pa
            if not pa:
                y = data.reference[node].dropna().to_numpy()
                mechanisms[node] = EmpiricalMechanism.fit(
                    y.astype(object if node in cat else float)
                )
                scorers[node] = LevelScorer.fit(y) if node in cat else scorer.fit(y)
                continue
            y_all = np.concatenate([f[node].to_numpy() for f in frames])
            seen = pd.notna(y_all)
            pdata = {
                p: _filled(np.concatenate([f[p].to_numpy() for f in frames]), fill[p], p in cat)
                for p in pa
            }
            pdata = {p: v[seen] for p, v in pdata.items()}
            y = y_all[seen]
            if node in cat:
                y = y.astype(object)
                basis = models.make_basis(pa, pdata, y, cat)
                mechanisms[node] = ClassifierMechanism.fit(basis, pdata, y)
                scorers[node] = None  # conditional: scored from the classifier's probabilities
                continue
            y = y.astype(float)
            basis = models.make_basis(pa, pdata, y, cat)
            design = basis.transform(pdata)
            coef = least_squares(design, y)[0]
            in_ref = np.flatnonzero(seen) < n_ref
            residuals = (y - design @ coef)[in_ref]
            if len(residuals) < 2:
                residuals = y - design @ coef
            mechanisms[node] = AdditiveNoiseMechanism(basis, coef, np.sort(residuals))
            scorers[node] = scorer.fit(residuals)
        ref_target = data.reference[target].to_numpy()
        ref_target = ref_target[pd.notna(ref_target)]
        target_scorer = (
            LevelScorer.fit(ref_target)
            if target in cat
            else target_tail.fit(ref_target.astype(float))
        )
        model = cls(target, order, parents, mechanisms, scorers, fill, target_scorer, cat)
        rank = {n: i for i, n in enumerate(order)}
        for node in order:
            down = (nx.descendants(g, node) & relevant) | {node}
            model.descendants[node] = sorted(down, key=rank.__getitem__)
        return model

    def label(self, node: str) -> str:
        mech = self.mechanisms[node]
        return getattr(mech, "label", "empirical")

    def explain_row(
        self,
        label: str,
        row: Mapping[str, Any],
        row_threshold: float,
        attribute_all: bool,
        walker: _Walker,
        n_permutations: int,
        rng: np.random.Generator,
    ) -> RowResult:
        cat = self.categorical
        measured = {
            n: row[n] is not None and not (n not in cat and np.isnan(row[n])) for n in self.order
        }
        unmeasured = tuple(n for n in self.order if not measured[n])
        if not measured[self.target]:
            return RowResult(label, None, None, False, (), None, unmeasured)
        x_t = row[self.target]
        t_score = self.target_scorer.score_one(x_t)
        anomalous = t_score >= row_threshold
        if not (anomalous or attribute_all):
            return RowResult(label, x_t, t_score, anomalous, (), None, unmeasured)
        # Complete the row (unmeasured nodes take their typical value given their parents),
        # then read off each node's observed noise and its own score.
        values: dict[str, Any] = {}
        pinned: dict[str, ObservedNoise] = {}
        node_score: dict[str, float | None] = {}
        for node in self.order:
            mech = self.mechanisms[node]
            pdata = {
                p: np.array([values[p]], dtype=object if p in cat else float)
                for p in self.parents[node]
            }
            if not measured[node]:
                values[node] = self._typical_given(node, pdata)
                node_score[node] = None
                continue
            x = row[node]
            values[node] = x
            if isinstance(mech, EmpiricalMechanism):
                pinned[node] = ObservedNoise(mech, value=x)
                node_score[node] = self.scorers[node].score_one(x)
            elif isinstance(mech, AdditiveNoiseMechanism):
                residual = float(x) - float(mech.predict(pdata)[0])
                pinned[node] = ObservedNoise(mech, residual=residual)
                node_score[node] = self.scorers[node].score_one(residual)
            else:
                proba = mech.proba(pdata)[0]
                node_score[node] = _conditional_level_score(proba, mech.classes, x)
                if x in mech.classes:
                    k = mech.classes.index(x)
                    cum = np.concatenate([[0.0], np.cumsum(proba)])
                    pinned[node] = ObservedNoise(mech, value=x, interval=(cum[k], cum[k + 1]))
                else:
                    pinned[node] = ObservedNoise(mech, value=x)
        players = [n for n in self.order if n in pinned]

        def measure(sample: np.ndarray) -> float:
            return self.target_scorer.score_sample(sample, x_t)

        phi, grand = _shapley_over_orderings(
            players, walker, pinned, measure, t_score, n_permutations, rng
        )
        causes = _ranked(RootCause(n, phi[n], node_score[n]) for n in players)
        return RowResult(label, x_t, t_score, anomalous, causes, grand, unmeasured)

    def _typical_given(self, node: str, pdata: Mapping[str, np.ndarray]) -> Any:
        mech = self.mechanisms[node]
        if isinstance(mech, EmpiricalMechanism):
            return self.fill[node]
        if isinstance(mech, AdditiveNoiseMechanism):
            return float(mech.predict(pdata)[0] + np.median(mech.residuals))
        return mech.classes[int(np.argmax(mech.proba(pdata)[0]))]


def _typical(column: pd.Series, categorical: bool) -> Any:
    seen = column.dropna()
    if len(seen) == 0:
        return None
    if categorical:
        return seen.astype(str).value_counts().sort_index().idxmax()
    return float(seen.median())


def _filled(values: np.ndarray, fill: Any, categorical: bool) -> np.ndarray:
    if categorical:
        # a missing text cell may be None or a float NaN, depending on how it was read
        return np.array([fill if pd.isna(v) else v for v in values], dtype=object)
    out = values.astype(float)
    out[np.isnan(out)] = fill
    return out


class _Walker:
    """Simulates the noise game along orderings, re-computing only what a new player changes.

    Additive-noise nodes keep one term per parent, so when one parent's draws change only
    that term is recomputed; the random-noise draws and the empty coalition's values are
    computed once and shared by every row and ordering (common random numbers).
    """

    def __init__(self, model: _NoiseModel, uniforms: Mapping[str, np.ndarray]):
        self.model = model
        self.uniforms = uniforms
        self.additive = {
            n
            for n in model.order
            if isinstance(model.mechanisms[n], AdditiveNoiseMechanism)
            and model.mechanisms[n].basis.additive
        }
        self.slices = {n: model.mechanisms[n].basis.slices() for n in self.additive}
        self.noise = {n: _pick(model.mechanisms[n].residuals, uniforms[n]) for n in self.additive}
        self.values: dict[str, np.ndarray] = {}
        self.terms: dict[str, dict[str, np.ndarray]] = {}
        self.fx: dict[str, np.ndarray] = {}
        for node in model.order:
            if node in self.additive:
                self.terms[node] = {
                    p: self._term(node, p, self.values[p]) for p in model.parents[node]
                }
                self.fx[node] = self._sum(node, self.terms[node])
                self.values[node] = self.fx[node] + self.noise[node]
            else:
                data = {p: self.values[p] for p in model.parents[node]}
                self.values[node] = model.mechanisms[node].sample(data, uniforms[node])

    def _term(self, node: str, parent: str, x: np.ndarray) -> np.ndarray:
        mech = self.model.mechanisms[node]
        return mech.basis.term(parent, x, mech.coef[self.slices[node][parent]])

    def _sum(self, node: str, terms: Mapping[str, np.ndarray]) -> np.ndarray:
        out = np.full(len(self.uniforms[node]), self.model.mechanisms[node].coef[0])
        for t in terms.values():
            out += t
        return out

    def walk(
        self,
        ordering: list[str],
        pinned: Mapping[str, ObservedNoise],
        measure: Callable[[np.ndarray], float],
        empty_value: float,
        phi: dict[str, float],
    ) -> float:
        """Add each player's marginal contribution along ``ordering`` to ``phi``; return the
        grand coalition's value."""
        model = self.model
        values = dict(self.values)
        fx = dict(self.fx)
        terms: dict[str, dict[str, np.ndarray]] = {}
        coalition: set[str] = set()
        previous = empty_value
        for player in ordering:
            coalition.add(player)
            changed: set[str] = set()
            for node in model.descendants[player]:
                parents = model.parents[node]
                moved = [p for p in parents if p in changed]
                if node != player and not moved:
                    continue
                if node in self.additive:
                    if moved:
                        local = terms.get(node)
                        if local is None:
                            local = terms[node] = dict(self.terms[node])
                        for p in moved:
                            local[p] = self._term(node, p, values[p])
                        fx[node] = self._sum(node, local)
                    noise = pinned[node].residual if node in coalition else self.noise[node]
                    values[node] = fx[node] + noise
                else:
                    mech = pinned[node] if node in coalition else model.mechanisms[node]
                    data = {p: values[p] for p in parents}
                    values[node] = mech.sample(data, self.uniforms[node])
                changed.add(node)
            value = measure(values[model.target])
            phi[player] += previous - value
            previous = value
        return previous


def _shapley_over_orderings(
    players: list[str],
    walker: _Walker,
    pinned: Mapping[str, ObservedNoise],
    measure: Callable[[np.ndarray], float],
    empty_value: float,
    n_permutations: int,
    rng: np.random.Generator,
) -> tuple[dict[str, float], float]:
    """Shapley values of the noise game and the grand coalition's value.

    The game's value is the target's score with the coalition's noise pinned; the empty
    coalition's value is the target's own score, so the values add up to
    ``target_score - v(all players)``. With few players every ordering is used (exact);
    otherwise ``n_permutations`` random orderings in antithetic (reversed) pairs.
    """
    k = len(players)
    phi = dict.fromkeys(players, 0.0)
    if k == 0:
        return phi, empty_value
    if math.factorial(k) <= n_permutations:
        orders = [list(p) for p in permutations(players)]
    else:
        orders = []
        for _ in range(max(1, n_permutations // 2)):
            perm = [players[j] for j in rng.permutation(k)]
            orders += [perm, perm[::-1]]
    grand = empty_value
    for ordering in orders:
        grand = walker.walk(ordering, pinned, measure, empty_value, phi)
    return {p: v / len(orders) for p, v in phi.items()}, float(grand)
