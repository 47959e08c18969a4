"""Segments: the same explanation per region, product line or host, and across them.

:func:`explain_segments` splits both periods by one or more columns, runs
:func:`causal_attrib.explain` on every segment with enough rows (in parallel, on an
:class:`~causal_attrib.engine.Engine`), and says which (segment, node) pairs account for
most of the overall change.

For the mean (and a categorical target's level share) the overall change splits exactly::

    change = sum over segments and nodes of  w_after(s) * contribution(s, node)
           + sum over segments of            w_after(s) * gap(s)
           + mix = sum over segments of      (w_after(s) - w_before(s)) * mean_before(s)
           + the change of skipped segments

with ``w`` a segment's share of its period's rows. Other statistics (a p95) do not add up
over segments; their pairs are weighted the same way and marked approximate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd

from ..choices import EngineKind
from ..engine import Engine
from ..errors import InputError
from ..inputs.names import closest
from ..inputs.preparation import is_text, level_labels
from ..limits import MAX_COUNT, require_count
from ..progress import Progress, Ticker, silent
from ..results.base import stable_float as _num
from ..results.explain import ExplainResult
from ..results.segments import Segment, SegmentedResult, SegmentPair
from ..stats.statistics import Statistic, parse_statistic, target_measure
from .explain import check_options, explain
from .opening import GraphSource, TableSource, open_analysis
from .options import require_engine, require_names, require_target

MIN_SEGMENT_ROWS = 30
"""Fewest rows per period for a segment to be explained (fewer: reported as skipped)."""


MISSING = "(missing)"


def explain_segments(
    graph: GraphSource,
    before: TableSource,
    after: TableSource,
    target: str,
    by: str | Sequence[str],
    *,
    statistic: str | Statistic = "mean",
    target_level: str | None = None,
    min_rows: int = MIN_SEGMENT_ROWS,
    engine: Engine | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    **options: Any,
) -> SegmentedResult:
    """Explain the change of ``target``'s statistic in every segment, and across them.

    Parameters
    ----------
    graph, before, after, target, statistic, target_level
        As for :func:`causal_attrib.explain`. A categorical target's level is chosen on all
        rows, so every segment explains the share of the same level.
    by
        Column(s) of both tables whose values define the segments.
    min_rows
        Fewest rows per period a segment needs; smaller segments are reported as skipped.
    engine
        Where the segments run (default: local processes, one per core; the library never
        picks a cluster by itself). Each segment is explained whole by one worker, so the
        result is the same on any engine.
    seed
        Seed of every segment's analysis.
    progress
        Called with short messages about the slow steps.
    **options
        Passed to :func:`causal_attrib.explain` for every segment (``alpha``,
        ``bootstrap``, ``models``, ...).

    Returns
    -------
    SegmentedResult
    """
    by = _check_segment_options(by, min_rows, options)
    check_options(seed=seed, statistic=statistic, target_level=target_level, **options)
    target = require_target(target)
    say = progress or silent
    engine = require_engine(engine, None) or Engine(EngineKind.PROCESSES)
    opening = open_analysis(graph, {"--before": before, "--after": after}, target)
    before_t, after_t = opening.tables["--before"], opening.tables["--after"]
    _require_columns(before_t, after_t, by, target)
    stat = parse_statistic(statistic) if isinstance(statistic, str) else statistic
    labels_b, labels_a = level_labels(before_t[target]), level_labels(after_t[target])
    categorical_target = is_text(before_t[target]) or target in options.get("categorical", ())
    measure, target_level = target_measure(
        stat, target, categorical_target, labels_b, labels_a, target_level
    )
    split = _Split.of(before_t, after_t, by)
    segments, units = _plan(
        split, opening.graph, target, stat, target_level, seed, min_rows, options
    )
    say(f"explaining {len(units)} segment(s) on {engine.describe()}")
    segments = _run(units, segments, engine, Ticker(say, "segments", len(units)))

    def column_measure(column: pd.Series) -> float:
        values = level_labels(column) if target_level is not None else column.to_numpy(float)
        return measure(values)

    exact = stat.name == "mean"
    overall = column_measure(before_t[target]), column_measure(after_t[target])
    pairs, gaps = _pairs(segments, overall[1] - overall[0], exact)
    mix, skipped_change = (
        _mix_and_skipped(segments, split, target, column_measure) if exact else (None, None)
    )
    return SegmentedResult(
        target=target,
        statistic=stat.name,
        target_level=target_level,
        by=by,
        segments=tuple(segments),
        pairs=tuple(pairs),
        overall_before=overall[0],
        overall_after=overall[1],
        exact=exact,
        mix=mix,
        gaps=gaps,
        skipped_change=skipped_change,
        settings=_settings(segments, by, min_rows, stat, seed, options),
        notes=opening.notes + tuple(_notes(segments, split, stat, exact, opening.graph)),
    )


def _check_segment_options(by, min_rows: int, options: Mapping[str, Any]) -> tuple[str, ...]:
    by = require_names(by, "by")
    if not by:
        raise InputError("by needs at least one column", parameter="by")
    if len(set(by)) != len(by):
        raise InputError(f"by names a column twice: {', '.join(by)}", parameter="by")
    require_count(min_rows, "min_rows", 5, MAX_COUNT)
    if "n_jobs" in options or "engine" in options:
        raise InputError(
            "segments take an engine for the segments, not n_jobs per segment",
            parameter="n_jobs" if "n_jobs" in options else "engine",
        )
    return by


def _require_columns(before: pd.DataFrame, after: pd.DataFrame, by, target: str) -> None:
    for name, table in (("before", before), ("after", after)):
        for col in by:
            if col not in table.columns:
                hint = closest(col, table.columns)
                raise InputError(
                    f"by column {col!r} is not in the {name} data{hint}", parameter="by"
                )
    if target not in before.columns or target not in after.columns:
        raise InputError(f"target {target!r} is not a column of both tables")


@dataclass(frozen=True)
class _Split:
    """Both tables and the row positions of each segment key in each."""

    before: pd.DataFrame
    after: pd.DataFrame
    by: tuple[str, ...]
    keys_before: dict[tuple[str, ...], np.ndarray]
    keys_after: dict[tuple[str, ...], np.ndarray]

    @classmethod
    def of(cls, before: pd.DataFrame, after: pd.DataFrame, by: tuple[str, ...]) -> _Split:
        return cls(before, after, by, _keys(before, by), _keys(after, by))

    @property
    def keys(self) -> list[tuple[str, ...]]:
        """Every key of either period, sorted."""
        return sorted(set(self.keys_before) | set(self.keys_after))


def _plan(split: _Split, graph, target, stat, target_level, seed, min_rows, options):
    """The segments in key order, the small ones already skipped with why, and a unit of
    work for each of the others."""
    n_b, n_a = len(split.before), len(split.after)
    # each segment's analysis sees the node columns only: the segment columns and other
    # columns are the same in every segment, and said once for all of them
    nodes = {str(n).strip() for n in graph}
    keep = [c for c in split.before.columns if str(c).strip() in nodes]
    keep_after = [c for c in split.after.columns if str(c).strip() in nodes]
    segments: list[Segment] = []
    units = []
    for key in split.keys:
        rows_b, rows_a = split.keys_before.get(key, ()), split.keys_after.get(key, ())
        segment = Segment(
            dict(zip(split.by, key, strict=True)),
            {"before": len(rows_b), "after": len(rows_a)},
            len(rows_b) / n_b,
            len(rows_a) / n_a,
        )
        if min(len(rows_b), len(rows_a)) < min_rows:
            reason = (
                f"{len(rows_b)} rows before and {len(rows_a)} after; a segment needs at least "
                f"{min_rows} in each period (--min-segment-rows)"
            )
            segments.append(_skip(segment, reason))
            continue
        segments.append(segment)
        units.append(
            _SegmentUnit(
                len(segments) - 1,
                graph,
                split.before.iloc[rows_b][keep],
                split.after.iloc[rows_a][keep_after],
                target,
                stat,
                target_level,
                seed,
                options,
            )
        )
    return segments, units


def _run(units, segments: list[Segment], engine: Engine, ticker: Ticker) -> list[Segment]:
    """Explain the planned segments on ``engine``; a segment whose own data fail the
    analysis' input checks is skipped with that error."""
    if engine.local:

        def run_and_count(unit: _SegmentUnit) -> ExplainResult | str:
            out = unit.run()
            ticker.tick()
            return out

        outcomes = engine.map(run_and_count, units)
    else:
        outcomes = engine.map(_SegmentUnit.run, units)
        ticker.tick(len(units))
    segments = list(segments)
    for unit, outcome in zip(units, outcomes, strict=True):
        segment = segments[unit.index]
        if isinstance(outcome, str):
            segments[unit.index] = _skip(segment, outcome)
        else:
            segments[unit.index] = replace(segment, result=outcome)
    return segments


def _mix_and_skipped(segments, split: _Split, target: str, measure) -> tuple[float, float]:
    """The change from segments' row shares moving, and that of the skipped segments."""
    mix = float(
        sum(
            (s.weight_after - s.weight_before) * s.result.observed_before
            for s in segments
            if s.result is not None
        )
    )
    skipped_change = 0.0
    for key, s in zip(split.keys, segments, strict=True):
        if s.result is None:
            rows_b, rows_a = split.keys_before.get(key), split.keys_after.get(key)
            mb = measure(split.before[target].iloc[rows_b]) if rows_b is not None else 0.0
            ma = measure(split.after[target].iloc[rows_a]) if rows_a is not None else 0.0
            skipped_change += s.weight_after * ma - s.weight_before * mb
    return mix, skipped_change


def _notes(segments, split: _Split, stat, exact: bool, graph: nx.DiGraph) -> list[str]:
    notes = []
    if not exact:
        notes.append(
            f"the {stat.name} of all rows is not a weighted sum of the segments' {stat.name}s, "
            "so segment/node parts are weighted by the after period's row shares and do not "
            "add up to the overall change"
        )
    if not any(s.result is not None for s in segments):
        notes.append(
            "no segment could be explained (every one was skipped), so nothing was tested; "
            "--fail-on-change fails rather than pass without looking"
        )
    drop = [c for c in split.by if c not in graph]
    if drop:
        notes.append(f"segment column(s) not in the graph, left out of each analysis: {drop}")
    for s in segments:
        if s.result is not None:
            notes += [f"{s.label}: {n}" for n in s.result.notes]
    return notes


def _settings(segments, by, min_rows, stat, seed, options) -> dict[str, Any]:
    """The analysis settings as every segment ran them (the first explained one says)."""
    ran = next((dict(seg.result.settings) for seg in segments if seg.result is not None), None)
    if ran is None:
        ran = {"statistic": stat.name, "seed": seed}
        ran.update({k: _plain(v) for k, v in sorted(options.items())})
    return {"by": list(by), "min_segment_rows": min_rows, **ran}


@dataclass(frozen=True)
class _SegmentUnit:
    """One segment's analysis: a unit of work an engine can send anywhere."""

    index: int
    graph: nx.DiGraph
    before: pd.DataFrame
    after: pd.DataFrame
    target: str
    statistic: Statistic
    target_level: str | None
    seed: int
    options: Mapping[str, Any]

    def run(self) -> ExplainResult | str:
        """The segment's result, or the one-line reason it could not be explained."""
        try:
            result = explain(
                self.graph,
                self.before.reset_index(drop=True),
                self.after.reset_index(drop=True),
                self.target,
                statistic=self.statistic,
                target_level=self.target_level,
                seed=self.seed,
                n_jobs=1,
                **self.options,
            )
        except InputError as exc:
            return str(exc)
        return _without_report_data(result)


def _without_report_data(result: ExplainResult) -> ExplainResult:
    """Drop the raw columns kept for HTML pages: segments travel between processes."""
    return replace(result, report_data=None)


def _skip(segment: Segment, reason: str) -> Segment:
    return Segment(
        segment.key, segment.rows, segment.weight_before, segment.weight_after, None, reason
    )


def _pairs(segments, change, exact) -> tuple[list[SegmentPair], float]:
    """The (segment, node) parts, largest first, and the segments' weighted gaps."""
    pairs = []
    gaps = 0.0
    for s in segments:
        if s.result is None:
            continue
        gaps += s.weight_after * s.result.gap
        for n in s.result.nodes:
            if n.ancestor and n.contribution:
                weighted = s.weight_after * n.contribution
                share = weighted / change if exact and change else None
                pairs.append(SegmentPair(s.label, n.node, weighted, share))
    pairs.sort(key=lambda p: (-abs(_num(p.contribution)), p.segment, p.node))
    return pairs, gaps


def _keys(table: pd.DataFrame, by: Sequence[str]) -> dict[tuple[str, ...], np.ndarray]:
    """Row positions of each segment key."""
    labels = pd.DataFrame({c: level_labels(table[c], missing=MISSING) for c in by})
    groups = labels.groupby(list(by), sort=False).indices
    return {k if isinstance(k, tuple) else (k,): v for k, v in groups.items()}


def _plain(value: Any) -> Any:
    """Option values as JSON-ready settings (strategies by name)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value]
    return getattr(value, "name", type(value).__name__)
