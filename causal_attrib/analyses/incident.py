"""Root causes of an incident in time series: whose *innovation* made the target anomalous.

The time-series form of :mod:`causal_attrib.analyses.anomaly`. The reference is the
series before the incident; each node's mechanism reads its parents at their lags and its
own past (:mod:`causal_attrib.analyses.time_mode`), and its noise is its innovation, what
was new at that node at that step. A spike at a database one minute that reaches the web
tier two minutes later is then the database's innovation, not the web tier's.

The game, per incident row: the nodes in a coalition keep their observed innovations from
the incident's start to that row, every other player's innovations are drawn afresh from
its reference innovations, and the series is simulated forward from the observed history
before the incident; the value is how much of the target's surprise given its history
(its score against the simulation where every player's innovations are fresh) the
coalition's observed innovations explain. The contributions add up to that surprise, so
a row is explained even when its value alone looks ordinary for the time of day. Nodes
whose innovations stayed typical during the incident (score
below :data:`TYPICAL`) are not players: they keep their observed innovations throughout,
which can only leave a small part of the score unattributed (reported per row).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import norm

from ..choices import Direction, FitOn, parse_choice
from ..engine import one_blas_thread
from ..errors import InputError
from ..inputs.periods import AFTER, BEFORE, Block, Periods, node_block
from ..inputs.series import Series, parse_time, read_series
from ..limits import require_count
from ..models.bases import ANOMALY_MODELS, ModelFamily
from ..models.linalg import least_squares
from ..progress import Progress, silent
from ..results.anomaly import AnomalyResult, rank_causes
from ..results.base import ReportData
from ..results.base import stable_float as _num
from ..stats.scores import TailScorer
from .anomaly import (
    alarm_deviation,
    check_anomaly_options,
    choose_ranking,
    excluded_note,
    split_notes,
    unusualness,
)
from .incident_game import MAX_INCIDENT_ROWS, IncidentModel
from .lag_order import MAX_AUTO_LAGS, choose_lags
from .opening import GraphSource, TableSource, open_analysis
from .time_mode import MAX_LAGS


@one_blas_thread
def attribute_incident(
    graph: GraphSource,
    data: TableSource,
    target: str,
    *,
    time_column: str,
    incident: str = "auto",
    lags: int | None = None,
    threshold: float = 3.0,
    direction: Direction | str = Direction.BOTH,
    fit_on: FitOn | str = FitOn.BOTH,
    models: ModelFamily | None = None,
    n_samples: int = 2000,
    n_permutations: int = 64,
    seed: int = 0,
    progress: Progress | None = None,
) -> AnomalyResult:
    """Attribute an incident in a time series to the nodes whose innovations caused it.

    Parameters
    ----------
    graph
        Causal graph; edges may carry lags.
    data
        One table in time order with a column per node and ``time_column``.
    target
        The node whose anomaly is explained.
    time_column
        Column of times (numbers or ISO 8601 timestamps).
    incident
        ``START`` or ``START/END`` (half-open; END omitted: to the end of the data), or
        ``"auto"``: the onset found from the target's series (:func:`detect_incident`).
        The reference is the series before START.
    lags
        Past values each mechanism reads (``None``: chosen by BIC on the reference).
    threshold, direction, fit_on
        As in :func:`~causal_attrib.analyses.anomaly.attribute_anomalies`: by default the
        mechanisms are fitted on the reference and the incident rows.
    models
        Model family (default :data:`~causal_attrib.models.bases.ANOMALY_MODELS`).
    n_samples
        Simulated series per coalition.
    n_permutations
        Orderings sampled when more than 8 nodes are players.
    seed
        Seed of every random draw.
    progress
        Called with a short message at the start of each slow step.
    """
    direction = parse_choice(Direction, direction, "direction")
    fit_on = parse_choice(FitOn, fit_on, "fit_on")
    check_anomaly_options(threshold, n_samples, n_permutations, seed)
    if lags is not None:
        require_count(lags, "--lags", 0, MAX_LAGS)
    say = progress or silent
    opening = open_analysis(graph, {"--data": data}, target, temporal=True)
    series = read_series(opening.tables["--data"], time_column, "the data")
    block = node_block(
        series, list(opening.graph.nodes), np.zeros(len(series.times), int), "the data", False
    )
    scorer = TailScorer(direction=direction)
    window = incident_window(series, block, target, incident, threshold, scorer)
    block = Block(block.values, block.times, block.axis, window.periods)
    periods = Periods((block,), {}, series.notes)
    if lags is None:
        lags, bic = choose_lags(opening.graph, periods, MAX_AUTO_LAGS)
    else:
        bic = {}
    say("fitting mechanisms with memory")
    pooled = fit_on is FitOn.BOTH
    model = fit_clean(opening.graph, block, target, lags, models or ANOMALY_MODELS, scorer, pooled)
    labels = [series.axis.format(t) for t in series.times]
    rows = model.attribute(window, labels, threshold, n_samples, n_permutations, seed, say)
    unusual = innovation_unusualness(model, window)
    tests = len(unusual) * min(window.end - window.start, MAX_INCIDENT_ROWS)
    causes, ranking = choose_ranking(
        rows, rank_causes(rows), unusual, alarm_deviation(threshold, tests)
    )
    settings = {
        "threshold": _num(threshold), "direction": direction.value, "fit_on": fit_on.value,
        "attribute": "anomalous", "models": getattr(models or ANOMALY_MODELS, "name", "auto"),
        "samples": n_samples, "permutations": n_permutations, "seed": seed, "max_rows": None,
        "reference_rows": int(window.start), "anomalous_rows": len(rows),
        "mechanisms": {n: model.mechanisms[n].label for n in model.order},
    }  # fmt: skip
    time_mode = {
        "time_column": time_column, "lags": lags, "lags_from": "BIC" if bic else "--lags",
        "bic": {str(k): round(v, 3) for k, v in sorted(bic.items())},
        "incident": window.to_dict(series),
    }  # fmt: skip
    notes = (*opening.notes, *series.notes, *excluded_note(ranking.nodes), *split_notes(rows))
    if window.end - window.start > MAX_INCIDENT_ROWS:
        notes += (
            f"the incident has {window.end - window.start} rows; the first "
            f"{MAX_INCIDENT_ROWS} are scored and attributed (where it starts is where its "
            "causes show; give --incident START/END for a later part)",
        )
    shown = [target, *(c.node for c in causes if c.node != target)][:5]
    values = {n: block.values[n].to_numpy() for n in shown}
    report = ReportData(
        opening.graph,
        {n: (v[: window.start], v[window.start : window.end]) for n, v in values.items()},
        periods=("reference", "incident"),
        series=values,
        windows=((0, window.start, "reference"), (window.start, window.end, "incident")),
        span=(series.axis.format(series.times[0]), series.axis.format(series.times[-1])),
    )
    row_threshold = float(threshold) + math.log(max(1, window.end - window.start))
    return AnomalyResult(
        target, tuple(rows), causes, float(threshold), row_threshold, settings, notes, report,
        below_threshold=not any(r.anomalous for r in rows) and bool(causes), time_mode=time_mode,
        ranking=ranking,
    )  # fmt: skip


def innovation_unusualness(model: IncidentModel, window: IncidentWindow) -> dict:
    """Each influencer's :func:`~causal_attrib.analyses.anomaly.unusualness` over the
    incident rows attributed: its innovations against its reference innovations."""
    start, stop = window.start, min(window.end, window.start + MAX_INCIDENT_ROWS)
    return {
        n: unusualness(
            n, model.reference[n], model.innovations[n][start:stop],
            model.values[n][:start], model.values[n][start:stop],
        )  # fmt: skip
        for n in model.order
    }


def fit_clean(graph, block: Block, target, lags, models, scorer, pooled=True) -> IncidentModel:
    """The incident model fitted on a reference that ends before the incident's lookback:
    a cause may act some steps before the target reacts (the lookback), and rows where it
    already acted would teach the mechanisms that the incident is normal (an explosive
    autoregression fitted on a spike's first steps)."""
    first = IncidentModel.fit(graph, block, target, lags, models, scorer, pooled)
    start = int(np.argmax(block.period != BEFORE))
    cut = start - first.lookback
    if first.lookback == 0 or cut < MIN_REFERENCE:
        return first
    period = block.period.copy()
    period[cut:start] = -1  # neither reference nor incident: history only
    model = IncidentModel.fit(graph, Block(block.values, block.times, block.axis, period),
                              target, lags, models, scorer, pooled)  # fmt: skip
    return replace(model, lookback=max(model.lookback, first.lookback))


@dataclass(frozen=True)
class IncidentWindow:
    """The incident's rows ``start <= i < end`` of the series, how they were chosen, and
    each row's period (reference before, incident inside)."""

    start: int
    end: int
    rows: int
    auto: bool
    evidence: Mapping[str, object]

    @property
    def periods(self) -> np.ndarray:
        """Reference rows (:data:`BEFORE`), incident rows (:data:`AFTER`), and later rows."""
        out = np.full(self.rows, -1)
        out[: self.start] = BEFORE
        out[self.start : self.end] = AFTER
        return out

    def to_dict(self, series: Series) -> dict:
        """The JSON block ``time_mode.incident``."""
        last = series.times[self.end - 1]
        return {
            "start": series.axis.format(series.times[self.start]),
            "end": series.axis.format(last),
            "auto": self.auto,
            "reference_rows": self.start,
            "incident_rows": self.end - self.start,
            "evidence": dict(self.evidence),
        }


MIN_REFERENCE = 30
"""Fewest reference rows before an incident."""


def incident_window(
    series: Series, block: Block, target: str, incident: str, threshold: float, scorer: TailScorer
) -> IncidentWindow:
    """The incident's rows: as given (``START`` or ``START/END``) or found (``auto``)."""
    n = len(series.times)
    if str(incident).strip().lower() == "auto":
        return detect_incident(block.values[target].to_numpy(dtype=float), threshold, scorer)
    text = str(incident)
    start_text, _, end_text = text.partition("/")
    start = parse_time(start_text, series.axis, "--incident")
    end = parse_time(end_text, series.axis, "--incident") if end_text.strip() else math.inf
    lo = int(np.searchsorted(series.times, start, side="left"))
    hi = int(np.searchsorted(series.times, end, side="left"))
    if hi <= lo:
        raise InputError(f"--incident {text!r} holds no rows of the data")
    if lo < MIN_REFERENCE:
        raise InputError(
            f"--incident {text!r} leaves {lo} reference row(s) before it; at least "
            f"{MIN_REFERENCE} are needed to learn what normal looks like"
        )
    return IncidentWindow(lo, hi, n, False, {"method": "given"})


ONSET_LAGS = 3
"""Own lags of the univariate autoregression whose residuals ``--incident auto`` scores."""


def detect_incident(values: np.ndarray, threshold: float, scorer: TailScorer) -> IncidentWindow:
    """The incident's onset and end from the target's series alone.

    A monitoring series wanders, so its values alone are a poor alarm. The target is
    prewhitened by an autoregression of order :data:`ONSET_LAGS` fitted on the whole series
    (an incident is a minority of rows) and its residuals are scored by their robust
    z-score (a sudden step); its values are scored the same way (a level no normal row
    reached). The incident is around the strongest alarm (the larger of both scores, at
    least ``threshold + ln(rows)``, after :data:`MIN_REFERENCE` rows); its onset is the
    first of the rows before that alarm that all stay above ``threshold``, and it lasts
    until the target's value is back within what the rows before the onset saw.
    """
    n = len(values)
    resid = _prewhitened(values, ONSET_LAGS)
    steps = robust_scores(resid, resid[ONSET_LAGS:], scorer.direction)
    levels = robust_scores(values, values, scorer.direction)
    scores = np.maximum(steps, levels)
    scores[: max(MIN_REFERENCE, ONSET_LAGS)] = 0.0
    alarm = threshold + math.log(n)
    peak = int(np.argmax(scores))
    if scores[peak] < alarm:
        raise InputError(
            f"--incident auto found no onset: the target's most unusual step scores "
            f"{float(scores[peak]):.3g} (row {peak + 1}), below the alarm level {alarm:.3g}; "
            "give the incident's start (--incident START[/END])"
        )
    start = peak  # back from the strongest alarm while the target stays unusual
    while start - 1 >= MIN_REFERENCE and scores[start - 1] >= threshold:
        start -= 1
    normal = scorer.fit(values[:start]).score(values) < threshold  # clearly back
    after = np.flatnonzero(normal[peak + 1 :])
    end = peak + 1 + int(after[0]) if after.size else n
    hits = np.flatnonzero(scores >= alarm)
    evidence = {
        "method": f"robust z-scores of the target's AR({ONSET_LAGS}) residuals and values "
        "over the whole series; the incident lasts while its value stays outside what came "
        "before",
        "signal": "step" if steps[start] >= levels[start] else "level",
        "alarm_level": round(alarm, 3),
        "onset_score": round(float(scores[start]), 3),
        "alarms": int(hits.size),
    }
    return IncidentWindow(start, max(end, start + 1), n, True, evidence)


def robust_scores(values: np.ndarray, reference: np.ndarray, direction: Direction) -> np.ndarray:
    """``-log P(Z >= z)`` for the robust z-score of each value (median and MAD of
    ``reference``; two-sided unless ``direction`` says high or low). A normal tail, not the
    empirical one, because the reference holds the incident too: an empirical tail would
    learn the incident as normal."""
    centre = float(np.median(reference))
    spread = (
        1.4826 * float(np.median(np.abs(reference - centre))) or float(np.std(reference)) or 1.0
    )
    z = (values - centre) / spread
    if direction is Direction.HIGH:
        return -norm.logsf(z)
    if direction is Direction.LOW:
        return -norm.logsf(-z)
    return -(norm.logsf(np.abs(z)) + math.log(2.0))


def _prewhitened(values: np.ndarray, lags: int) -> np.ndarray:
    """Residuals of ``values`` on their own last ``lags`` values (0 for the first rows)."""
    n = len(values)
    design = np.column_stack(
        [np.ones(n - lags)] + [values[lags - k : n - k] for k in range(1, lags + 1)]
    )
    coef = least_squares(design, values[lags:])[0]
    out = np.zeros(n)
    out[lags:] = values[lags:] - design @ coef
    return out
