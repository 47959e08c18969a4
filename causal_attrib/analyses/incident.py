"""Root causes of an incident in time series: whose *innovation* made the target anomalous.

The time-series form of :mod:`causal_attrib.analyses.anomaly`. The reference is the
series before the incident; each node's mechanism reads its parents at their lags and its
own past (:mod:`causal_attrib.analyses.time_mode`), and its noise is its innovation, what
was new at that node at that step. A spike at a database one minute that reaches the web
tier two minutes later is then the database's innovation, not the web tier's.

The game, per incident row: the nodes in a coalition keep their observed innovations from
shortly before the incident's start (the lookback: the longest chain of lags) to that row,
every other node's innovations are drawn afresh from its reference innovations, and the
series is simulated forward from the observed history before the lookback; the value is
how much of the target's surprise given its history (its score against that forecast,
every innovation fresh) the coalition's observed innovations explain. Nodes whose
innovations stayed typical during the incident (score below :data:`TYPICAL`) are not
players: their innovations stay fresh in every coalition, as in row mode, so the forecast
the score is read against does not depend on who plays. The contributions add up to the
surprise less what the players, all pinned, leave unexplained (each row's
``unattributed``), so a row is explained even when its value alone looks ordinary for the
time of day.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import networkx as nx
import numpy as np

from ..choices import Direction, FitOn, parse_choice
from ..engine import one_blas_thread
from ..errors import InputError
from ..inputs.lags import lag_features
from ..inputs.periods import AFTER, BEFORE, Block, Periods, node_block
from ..inputs.series import Series, parse_time, read_series
from ..limits import MAX_LAGS, require_count
from ..models.bases import ANOMALY_MODELS, ModelFamily
from ..models.linalg import least_squares
from ..progress import Progress, silent
from ..results.anomaly import AnomalyResult, rank_causes
from ..results.base import ReportData
from ..results.base import stable_float as _num
from ..stats.robust import RobustCalibration, resolution
from ..stats.scores import TailScorer
from .anomaly import (
    MOVED_REASON,
    alarm_deviation,
    check_anomaly_options,
    choose_ranking,
    excluded_note,
    split_notes,
    unusualness,
)
from .incident_game import MAX_INCIDENT_ROWS, IncidentModel
from .lag_order import MAX_AUTO_LAGS, choose_lags, lags_json
from .opening import GraphSource, TableSource, open_analysis
from .options import require_target


@one_blas_thread
def attribute_incident(
    graph: GraphSource,
    data: TableSource,
    target: str,
    *,
    time_column: str,
    incident: str = "auto",
    since: str | None = None,
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
        ``"auto"``: the most recent onset among the target's and its ancestors'
        innovations (:func:`detect_incident`). The reference is the series before START.
    since
        With ``incident="auto"``: search for the onset at or after this time only.
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
        require_count(lags, "lags", 0, MAX_LAGS)
    require_target(target)
    if not isinstance(time_column, str) or not time_column:
        raise InputError("time_column must name the column of times", parameter="time_column")
    say = progress or silent
    opening = open_analysis(graph, {"--data": data}, target, temporal=True)
    series = read_series(opening.tables["--data"], time_column, "the data")
    block = node_block(
        series, list(opening.graph.nodes), np.zeros(len(series.times), int), "the data", False
    )
    scorer = TailScorer(direction=direction)
    candidates = tuple(sorted(nx.ancestors(opening.graph, target)))
    window = incident_window(series, block, target, incident, threshold, scorer, candidates, since)
    block = Block(block.values, block.times, block.axis, window.periods)
    periods = Periods((block,), {}, series.notes)
    if lags is None:
        lags, bic = choose_lags(opening.graph, periods, MAX_AUTO_LAGS)
    else:
        bic = {}
    say("fitting mechanisms with memory")
    pooled = fit_on is FitOn.BOTH
    model = fit_clean(opening.graph, block, target, lags, models or ANOMALY_MODELS, scorer, pooled)
    require_past(model)
    labels = [series.axis.format(t) for t in series.times]
    rows = model.attribute(window, labels, threshold, n_samples, n_permutations, seed, say)
    unusual = innovation_unusualness(model, window)
    tests = len(unusual) * min(window.end - window.start, MAX_INCIDENT_ROWS)
    # the target moved when some row passed the single-row level: the graph's split of its
    # score then names who moved it; when it did not move at all, the split is of noise
    # and the candidates' own unusualness ranks (docs/anomaly.md)
    moved = any(r.target_score is not None and r.target_score >= threshold for r in rows)
    causes, ranking = choose_ranking(
        rows, rank_causes(rows), unusual, alarm_deviation(threshold, tests),
        by_unusualness=not moved, lead_reason=MOVED_REASON, then_unusual=True,
    )  # fmt: skip
    settings = {
        "threshold": _num(threshold), "direction": direction.value, "fit_on": fit_on.value,
        "attribute": "anomalous", "models": getattr(models or ANOMALY_MODELS, "name", "auto"),
        "samples": n_samples, "permutations": n_permutations, "seed": seed, "max_rows": None,
        "reference_rows": int(window.start), "anomalous_rows": len(rows),
        "mechanisms": {n: model.mechanisms[n].label for n in model.order},
    }  # fmt: skip
    time_mode = {
        "time_column": time_column, **lags_json(lags), "lags_from": "BIC" if bic else "--lags",
        "bic": {str(k): round(v, 3) for k, v in sorted(bic.items())},
        "incident": window.to_dict(series),
    }  # fmt: skip
    notes = (
        *opening.notes,
        *series.notes,
        *gap_notes(series, window, opening.graph, lags),
        *excluded_note(ranking),
        *split_notes(rows),
    )
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


def gap_notes(series: Series, window: IncidentWindow, graph, lags) -> tuple[str, ...]:
    """A note when incident rows lack the past their mechanisms read (a gap in the times
    just before or inside the incident): those rows' innovations are unknown, so their
    causes cannot be traced, and the report must say so rather than show no cause."""
    reach = max((k for feats in lag_features(graph, lags).values() for _, k in feats), default=0)
    if reach == 0:
        return ()
    valid = np.all([series.axis.lag_valid(series.times, k) for k in range(1, reach + 1)], axis=0)
    stop = min(window.end, window.start + MAX_INCIDENT_ROWS)
    blind = np.flatnonzero(~valid[window.start : stop])
    if not blind.size:
        return ()
    first = series.axis.format(series.times[window.start + int(blind[0])])
    return (
        f"{blind.size} incident row(s) (the first at {first}) follow a gap in "
        f"{series.axis.column!r} within {reach} step(s): their past is not in the data, so "
        "their innovations and causes cannot be traced, and only the incident's first "
        "unbroken run of rows with their past is attributed; give data without the gap or "
        "an incident that starts after it",
    )


def innovation_unusualness(model: IncidentModel, window: IncidentWindow) -> dict:
    """Each influencer's :func:`~causal_attrib.analyses.anomaly.unusualness` over the
    incident rows attributed: its innovations against its reference innovations."""
    start, stop = window.start, min(window.end, window.start + MAX_INCIDENT_ROWS)
    return {
        n: unusualness(
            n,
            model.reference[n],
            model.innovations[n][start:stop],
            model.values[n][:start],
            model.values[n][start:stop],
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
    cut = start - first.lookback - first.settle
    if first.lookback + first.settle == 0 or cut < MIN_REFERENCE:
        return first
    period = block.period.copy()
    period[cut:start] = -1  # neither reference nor incident: history only
    model = IncidentModel.fit(graph, Block(block.values, block.times, block.axis, period),
                              target, lags, models, scorer, pooled)  # fmt: skip
    return replace(model, lookback=max(model.lookback, first.lookback),
                   settle=max(model.settle, first.settle))  # fmt: skip


MIN_PAST_ROWS = 10
"""Fewest reference rows with their whole past a node's innovations are calibrated on."""


def require_past(model: IncidentModel) -> None:
    """Refuse (one line, naming ``lags``) a model some node of which has fewer than
    :data:`MIN_PAST_ROWS` reference rows with its whole past: its innovations would have
    nothing to be compared with."""
    short = [(len(model.reference[n]), n) for n in model.order]
    rows, node = min(short, default=(MIN_PAST_ROWS, ""))
    if rows < MIN_PAST_ROWS:
        reach = max((k for _, k in model.features[node]), default=0)
        raise InputError(
            f"lags: the reference has {rows} row(s) with the whole past of {node!r} ({reach} "
            f"step(s) back, lags included); at least {MIN_PAST_ROWS} are needed: give fewer "
            "lags or a longer reference",
            parameter="lags",
        )


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
    series: Series,
    block: Block,
    target: str,
    incident: str,
    threshold: float,
    scorer: TailScorer,
    candidates: tuple[str, ...] = (),
    since: str | None = None,
) -> IncidentWindow:
    """The incident's rows: as given (``START`` or ``START/END``) or found (``auto``: the
    most recent onset among the ``candidates``' innovations, after ``since``)."""
    n = len(series.times)
    if str(incident).strip().lower() == "auto":
        first = MIN_REFERENCE
        if since is not None:
            at = parse_time(str(since), series.axis, "since")
            first = max(first, int(np.searchsorted(series.times, at, side="left")))
        nodes = tuple(dict.fromkeys((target, *candidates)))
        values = {c: block.values[c].to_numpy(dtype=float) for c in nodes}
        return detect_incident(values, target, threshold, scorer, first)
    if since is not None:
        raise InputError(
            "since goes with incident='auto' only (where it searches for an onset); give one "
            "or the other",
            parameter="since",
        )
    text = str(incident)
    start_text, _, end_text = text.partition("/")
    start = parse_time(start_text, series.axis, "incident")
    end = parse_time(end_text, series.axis, "incident") if end_text.strip() else math.inf
    lo = int(np.searchsorted(series.times, start, side="left"))
    hi = int(np.searchsorted(series.times, end, side="left"))
    if hi <= lo:
        raise InputError(f"incident {text!r} holds no rows of the data", parameter="incident")
    if lo < MIN_REFERENCE:
        raise InputError(
            f"incident {text!r} leaves {lo} reference row(s) before it; at least "
            f"{MIN_REFERENCE} are needed to learn what normal looks like",
            parameter="incident",
        )
    return IncidentWindow(lo, hi, n, False, {"method": "given"})


ONSET_LAGS = 3
"""Own lags of the univariate autoregression whose residuals ``--incident auto`` scores;
also the most quiet rows inside one incident (alarms further apart are two incidents)."""


def detect_incident(
    values: Mapping[str, np.ndarray],
    target: str,
    threshold: float,
    scorer: TailScorer,
    first: int = MIN_REFERENCE,
) -> IncidentWindow:
    """The most recent incident: the last onset of an alarm at or after row ``first``.

    Each measured candidate (the target and its ancestors) is prewhitened by an
    autoregression of order :data:`ONSET_LAGS` fitted on the whole series (an incident is a
    minority of rows), and its residuals, its *innovations*, are scored by their robust
    deviation (:class:`~causal_attrib.stats.robust.RobustCalibration`: median and MAD,
    earlier excursions left out, never finer than the metric's resolution); the target's
    values are scored the same way (a level no normal row reached). A candidate alarms
    when it passes the family-wise deviation for rows times candidates
    (:func:`~causal_attrib.analyses.anomaly.alarm_deviation`).

    An *onset* is a candidate's alarm after :data:`ONSET_LAGS` quiet rows of its own at
    which its value moves away from its usual level: a fault's end is a step back, and
    another node still alarming from an earlier fault (a latency that stays high) neither
    opens nor holds open a later incident. The incident opens at the earliest onset within
    :data:`ONSET_LAGS` rows before the last one (a cause and the effects that follow it
    within a few steps) and lasts to the last alarm. Raises :class:`InputError` when no
    candidate alarms.
    """
    n = len(values[target])
    if n <= MIN_REFERENCE:
        raise InputError(
            f"incident='auto' needs more than {MIN_REFERENCE} rows (the series has {n}): at "
            f"least {MIN_REFERENCE} rows of normal behaviour come before an incident",
            parameter="incident",
        )
    names = list(values)
    t = names.index(target)
    stepped = np.vstack([_innovation_deviation(values[c]) for c in names])
    stepped[:, : max(first, ONSET_LAGS)] = 0.0
    level = _level_deviation(values[target], scorer.direction)
    level[: max(first, ONSET_LAGS)] = 0.0
    stacked = stepped.copy()
    stacked[t] = np.maximum(stepped[t], level)
    alarm = alarm_deviation(threshold, n * len(values))
    alarms = stacked >= alarm
    if not alarms.any():
        peak = np.unravel_index(int(np.argmax(stacked)), stacked.shape)
        raise InputError(
            f"incident='auto' found nothing unusual: the largest innovation deviation is "
            f"{float(stacked[peak]):.3g} robust SDs ({names[peak[0]]!r}, row "
            f"{peak[1] + 1}), below the alarm level {alarm:.3g}; give the incident's start "
            "(incident='START[/END]')",
            parameter="incident",
        )
    # onsets are innovations: a target whose level crosses the alarm some steps after an
    # ancestor's innovation is that incident building up, not a new one
    far = [_level_deviation(values[c], Direction.BOTH) for c in names]
    opens = _onsets(stepped >= alarm, far)
    if not opens.any():  # no innovation alarmed: the target's level opens
        opens = _onsets(alarms, far)
    if not opens.any():  # every alarm is a return to normal: the first alarm opens
        opens = alarms & (np.cumsum(alarms.any(axis=0)) == 1)
    onsets = np.flatnonzero(opens.any(axis=0))
    last = int(onsets[-1])
    start = int(onsets[onsets >= last - ONSET_LAGS][0])
    opener = names[int(np.argmax(np.where(opens[:, start], stacked[:, start], -1.0)))]
    end = int(np.flatnonzero(alarms.any(axis=0))[-1]) + 1
    earlier = onsets[onsets < start]
    evidence = {
        "method": f"robust deviations of the target's and its measured ancestors' "
        f"AR({ONSET_LAGS}) innovations (and of the target's values); the most recent onset",
        "opened_by": opener,
        "signal": "level" if opener == target and level[start] > stepped[t, start] else "step",
        "alarm_level": round(alarm, 3),
        "onset_score": round(float(stacked[:, start].max()), 3),
        "alarms": int(alarms.any(axis=0).sum()),
        "earlier_runs": int(np.count_nonzero(np.diff(earlier) > ONSET_LAGS) + bool(earlier.size)),
    }
    return IncidentWindow(start, end, n, True, evidence)


def _onsets(alarms: np.ndarray, far: list[np.ndarray]) -> np.ndarray:
    """Where each candidate's alarm begins (a boolean matrix like ``alarms``): it did not
    alarm in the :data:`ONSET_LAGS` rows before, and its value moves away from its usual
    level (``far``, its robust level deviation per row, does not fall)."""
    opens = np.zeros_like(alarms)
    for k, away in enumerate(far):
        for i in np.flatnonzero(alarms[k]):
            quiet = not alarms[k, max(0, i - ONSET_LAGS) : i].any()
            opens[k, i] = quiet and (i == 0 or away[i] >= away[i - 1])
    return opens


def _innovation_deviation(values: np.ndarray) -> np.ndarray:
    """Robust deviation of each row's AR(:data:`ONSET_LAGS`) innovation (0 where the
    series or its past is missing)."""
    v = np.asarray(values, dtype=float)
    filled = np.where(np.isfinite(v), v, np.nanmedian(v) if np.isfinite(v).any() else 0.0)
    resid = _prewhitened(filled, ONSET_LAGS)
    calibration = RobustCalibration.fit(resid[ONSET_LAGS:], resolution(filled))
    out = np.nan_to_num(calibration.deviation(resid))
    out[:ONSET_LAGS] = 0.0
    out[~np.isfinite(v)] = 0.0
    return out


def _level_deviation(values: np.ndarray, direction: Direction) -> np.ndarray:
    """Robust deviation of the target's values (one-sided when ``direction`` says so)."""
    v = np.asarray(values, dtype=float)
    calibration = RobustCalibration.fit(v, resolution(v))
    signed = (v - calibration.centre) / calibration.scale
    if direction is Direction.HIGH:
        signed = np.maximum(signed, 0.0)
    elif direction is Direction.LOW:
        signed = np.maximum(-signed, 0.0)
    return np.nan_to_num(np.abs(signed))


def _prewhitened(values: np.ndarray, lags: int) -> np.ndarray:
    """Residuals of ``values`` on their own last ``lags`` values (0 for the first rows)."""
    n = len(values)
    values = values - values.mean()  # centred: a large level must not hide the lags
    design = np.column_stack(
        [np.ones(n - lags)] + [values[lags - k : n - k] for k in range(1, lags + 1)]
    )
    coef = least_squares(design, values[lags:])[0]
    out = np.zeros(n)
    out[lags:] = values[lags:] - design @ coef
    return out
