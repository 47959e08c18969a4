"""Segments: the same explanation per region, product line or host, and across them.

:func:`explain_segments` splits both periods by one or more columns, runs
:func:`causal_attrib.explain` on every segment with enough rows (in parallel, on an
:class:`~causal_attrib.parallel.Engine`), and says which (segment, node) pairs account for
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

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import networkx as nx
import numpy as np
import pandas as pd

from .attribution import Statistic, parse_statistic
from .data_io import choose_level, is_text, level_labels, read_table
from .distribution_change import SCHEMA_VERSION, ExplainResult, change_phrase, explain
from .exit_codes import InputError
from .graph_io import closest, load_graph, require_node
from .parallel import Engine, resolve_engine
from .progress import Progress, Ticker, silent
from .reports import stable_float as _num

MIN_SEGMENT_ROWS = 30
"""Fewest rows per period for a segment to be explained (fewer: reported as skipped)."""

MISSING = "(missing)"


@dataclass(frozen=True)
class Segment:
    """One segment's rows, weight and result (or why it was skipped).

    Attributes
    ----------
    key
        The segment's value of each ``by`` column (as text; empty cells are ``(missing)``).
    rows
        Rows in the before and after periods.
    weight_before, weight_after
        The segment's share of its period's rows.
    result
        Its :class:`~causal_attrib.ExplainResult`, or ``None`` when skipped.
    skipped
        Why the segment was not explained, or ``None``.
    """

    key: Mapping[str, str]
    rows: Mapping[str, int]
    weight_before: float
    weight_after: float
    result: ExplainResult | None = None
    skipped: str | None = None

    @property
    def label(self) -> str:
        """``col=value, col=value``."""
        return ", ".join(f"{k}={v}" for k, v in self.key.items())

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        result = None
        if self.result is not None:
            result = {
                k: v
                for k, v in self.result.to_dict().items()
                if k not in ("schema_version", "command")
            }
        return {
            "segment": dict(self.key),
            "label": self.label,
            "rows": dict(self.rows),
            "weight_before": _num(self.weight_before),
            "weight_after": _num(self.weight_after),
            "skipped": self.skipped,
            "result": result,
        }


@dataclass(frozen=True)
class SegmentPair:
    """How much one node's changed mechanism in one segment moved the overall statistic."""

    segment: str
    node: str
    contribution: float
    share: float | None

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "segment": self.segment,
            "node": self.node,
            "contribution": _num(self.contribution),
            "share": _num(self.share),
        }


@dataclass(frozen=True)
class SegmentedResult:
    """The answer of :func:`explain_segments`.

    ``pairs`` ranks (segment, node) pairs by the part of the overall change they account
    for; ``exact`` says whether those parts add up (mean and level shares) or are weighted
    approximations (other statistics).
    """

    command: ClassVar[str] = "segments"

    target: str
    statistic: str
    target_level: str | None
    by: tuple[str, ...]
    segments: tuple[Segment, ...]
    pairs: tuple[SegmentPair, ...]
    overall_before: float
    overall_after: float
    exact: bool
    mix: float | None
    gaps: float
    skipped_change: float | None
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = field(default=())

    @property
    def overall_change(self) -> float:
        """Observed overall after minus before (all rows, every segment)."""
        return self.overall_after - self.overall_before

    @property
    def explained(self) -> tuple[Segment, ...]:
        """Segments that were explained."""
        return tuple(s for s in self.segments if s.result is not None)

    @property
    def skipped(self) -> tuple[Segment, ...]:
        """Segments that were not, with why."""
        return tuple(s for s in self.segments if s.result is None)

    @property
    def changed_ancestors(self) -> list[str]:
        """``segment: node`` for every changed ancestor of the target in any segment."""
        return [f"{s.label}: {n}" for s in self.explained for n in s.result.changed_ancestors]

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        change = self.overall_change
        head = change_phrase(self.statistic, self.target, self.target_level, change)
        if change:
            head += f" by {change if change > 0 else -change:.4g} overall"
        n = len(self.segments)
        head += f" over {n} segment{'s' if n != 1 else ''}"
        if self.skipped:
            head += f" ({len(self.skipped)} skipped)"
        lead = next((p for p in self.pairs if p.contribution), None)
        if lead is None:
            return head + "; no changed mechanism upstream of it in any segment."
        part = f" ({abs(lead.share) * 100:.0f} % of it)" if lead.share is not None else ""
        approx = "" if self.exact else ", weighted by rows"
        return (
            f"{head}; the largest part, {lead.contribution:.4g}{part}{approx}, comes from "
            f"a changed mechanism at {lead.node} in {lead.segment}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints with ``--by``)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "target": self.target,
            "statistic": self.statistic,
            "target_level": self.target_level,
            "by": list(self.by),
            "summary": self.summary,
            "exact": self.exact,
            "figures": {
                "overall_before": _num(self.overall_before),
                "overall_after": _num(self.overall_after),
                "overall_change": _num(self.overall_change),
                "pairs_total": _num(sum(p.contribution for p in self.pairs)),
                "gaps": _num(self.gaps),
                "mix": _num(self.mix),
                "skipped_change": _num(self.skipped_change),
            },
            "changed_ancestors": self.changed_ancestors,
            "pairs": [p.to_dict() for p in self.pairs],
            "segments": [s.to_dict() for s in self.segments],
            "settings": dict(self.settings),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """The (segment, node) pairs as a DataFrame, largest first."""
        columns = ["segment", "node", "contribution", "share"]
        return pd.DataFrame([p.to_dict() for p in self.pairs], columns=columns)


def explain_segments(
    graph: str | Path | nx.DiGraph,
    before: str | Path | pd.DataFrame,
    after: str | Path | pd.DataFrame,
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
        Where the segments run (default: local processes, one per core). Each segment is
        explained whole by one worker, so the result is the same on any engine.
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
    by = (by,) if isinstance(by, str) else tuple(by)
    if not by:
        raise InputError("--by needs at least one column")
    if len(set(by)) != len(by):
        raise InputError(f"--by names a column twice: {', '.join(by)}")
    if min_rows < 5:
        raise InputError(f"--min-segment-rows must be at least 5, got {min_rows}")
    if "n_jobs" in options or "engine" in options:
        raise InputError("segments take an engine for the segments, not n_jobs per segment")
    say = progress or silent
    engine = engine or resolve_engine(default="processes")
    g = load_graph(graph)
    require_node(g, target)
    before_t, after_t = read_table(before, "--before"), read_table(after, "--after")
    for name, table in (("before", before_t), ("after", after_t)):
        for col in by:
            if col not in table.columns:
                hint = closest(col, table.columns)
                raise InputError(f"--by column {col!r} is not in the {name} data{hint}")
    if target not in before_t.columns or target not in after_t.columns:
        raise InputError(f"target {target!r} is not a column of both tables")
    stat = parse_statistic(statistic) if isinstance(statistic, str) else statistic
    categorical_target = is_text(before_t[target]) or target in options.get("categorical", ())
    if categorical_target and target_level is None:
        target_level = choose_level(level_labels(before_t[target]), level_labels(after_t[target]))

    keys_b, keys_a = _keys(before_t, by), _keys(after_t, by)
    keys = sorted(set(keys_b) | set(keys_a))
    n_b, n_a = len(before_t), len(after_t)
    drop = [c for c in by if c not in g]  # segment columns that are not nodes
    segments: list[Segment] = []
    units = []
    for key in keys:
        rows_b, rows_a = keys_b.get(key, ()), keys_a.get(key, ())
        segment = Segment(
            dict(zip(by, key, strict=True)),
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
                g,
                before_t.iloc[rows_b].drop(columns=drop),
                after_t.iloc[rows_a].drop(columns=drop),
                target,
                stat,
                target_level,
                seed,
                options,
            )
        )

    say(f"explaining {len(units)} segment(s) on {engine.describe()}")
    ticker = Ticker(say, "segments", len(units))
    if engine.local:

        def run_and_count(unit: _SegmentUnit) -> ExplainResult | str:
            out = unit.run()
            ticker.tick()
            return out

        outcomes = engine.map(run_and_count, units)
    else:
        outcomes = engine.map(_SegmentUnit.run, units)
        ticker.tick(len(units))
    for unit, outcome in zip(units, outcomes, strict=True):
        segment = segments[unit.index]
        if isinstance(outcome, str):
            segments[unit.index] = _skip(segment, outcome)
        else:
            segments[unit.index] = replace(segment, result=outcome)

    measure = _measure(stat, target_level)
    overall_b, overall_a = measure(before_t[target]), measure(after_t[target])
    exact = stat.name == "mean"
    pairs, gaps = _pairs(segments, overall_a - overall_b, exact)
    mix = skipped_change = None
    if exact:
        mix = float(
            sum(
                (s.weight_after - s.weight_before) * s.result.observed_before
                for s in segments
                if s.result is not None
            )
        )
        skipped_change = 0.0
        for key, s in zip(keys, segments, strict=True):
            if s.result is None:
                mb = measure(before_t[target].iloc[keys_b[key]]) if key in keys_b else 0.0
                ma = measure(after_t[target].iloc[keys_a[key]]) if key in keys_a else 0.0
                skipped_change += s.weight_after * ma - s.weight_before * mb
    notes = []
    if not exact:
        notes.append(
            f"the {stat.name} of all rows is not a weighted sum of the segments' {stat.name}s, "
            "so segment/node parts are weighted by the after period's row shares and do not "
            "add up to the overall change"
        )
    if drop:
        notes.append(f"segment column(s) not in the graph, left out of each analysis: {drop}")
    for s in segments:
        if s.result is not None:
            notes += [f"{s.label}: {n}" for n in s.result.notes if "not graph nodes" not in n]
    # the analysis settings as every segment ran them (the first explained one says)
    ran = next((dict(seg.result.settings) for seg in segments if seg.result is not None), None)
    if ran is None:
        ran = {"statistic": stat.name, "seed": seed}
        ran.update({k: _plain(v) for k, v in sorted(options.items())})
    settings = {"by": list(by), "min_segment_rows": min_rows, **ran}
    return SegmentedResult(
        target=target,
        statistic=stat.name,
        target_level=target_level,
        by=by,
        segments=tuple(segments),
        pairs=tuple(pairs),
        overall_before=overall_b,
        overall_after=overall_a,
        exact=exact,
        mix=mix,
        gaps=gaps,
        skipped_change=skipped_change,
        settings=settings,
        notes=tuple(notes),
    )


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


def _measure(stat: Statistic, level: str | None) -> Callable[[pd.Series], float]:
    """The statistic of a target column, as every segment's analysis computes it."""
    if level is None:
        return lambda col: float(stat(col.to_numpy(dtype=float)))
    return lambda col: float(np.mean(level_labels(col) == level)) if len(col) else 0.0


def _keys(table: pd.DataFrame, by: Sequence[str]) -> dict[tuple[str, ...], np.ndarray]:
    """Row positions of each segment key."""
    labels = pd.DataFrame({c: _text(table[c]) for c in by})
    groups = labels.groupby(list(by), sort=False).indices
    return {k if isinstance(k, tuple) else (k,): v for k, v in groups.items()}


def _text(column: pd.Series) -> pd.Series:
    """Values as text labels (integers without a trailing .0), empty cells as (missing)."""
    if pd.api.types.is_float_dtype(column) and column.dropna().mod(1).eq(0).all():
        column = column.astype("Int64")
    return column.astype(object).where(column.notna(), MISSING).astype(str)


def _plain(value: Any) -> Any:
    """Option values as JSON-ready settings (strategies by name)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [str(v) for v in value]
    return getattr(value, "name", type(value).__name__)
