"""Time-series mode's tables: node values in time order, the two periods cut from them,
and the lag columns each mechanism reads.

Lag columns are built on the whole series before anything is dropped or sampled, so a row
always carries its own past; a row whose past is missing (the first rows, a gap, a missing
value) is left out of fitting and testing and counted in a note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError, InputTypeError
from ..limits import MAX_LAGS, require_count
from .lags import Feature, lag_name
from .names import closest, describe_nodes
from .preparation import PreparedData, check_scale, is_text, sample_rows
from .series import Series, TimeAxis, parse_time, parse_window, read_series, span, window_rows

BEFORE, AFTER, NEITHER = 0, 1, -1


@dataclass(frozen=True)
class TimeSpec:
    """How rows become two periods in time-series mode.

    Attributes
    ----------
    column
        The time column (numbers, or ISO 8601 timestamps).
    split_at
        One table: before is ``t < split_at``, after is ``t >= split_at``.
    before_window, after_window
        One table: ``START/END`` half-open intervals of ``t`` (either end may be empty).
    lags
        Own and parents' past values each mechanism reads (``None``: chosen from the data).
    """

    column: str
    split_at: str | None = None
    before_window: str | None = None
    after_window: str | None = None
    lags: int | None = None

    def __post_init__(self) -> None:
        """Checked when built, the same for every analysis: ``lags`` a whole number from 0
        to :data:`~causal_attrib.limits.MAX_LAGS`, the rest text (``split_at`` may be a
        number)."""
        if not isinstance(self.column, str) or not self.column:
            raise InputTypeError(
                f"time column must be a column name, not {self.column!r}", parameter="time_column"
            )
        if self.lags is not None:
            require_count(self.lags, "lags", 0, MAX_LAGS)
        for name in ("before_window", "after_window"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise InputTypeError(
                    f"{name} must be text START/END, not {value!r}", parameter=name
                )
        at = self.split_at
        if at is not None and (isinstance(at, bool) or not isinstance(at, str | int | float)):
            raise InputTypeError(
                f"split_at must be a number or an ISO 8601 timestamp, not {at!r}",
                parameter="split_at",
            )


@dataclass(frozen=True)
class Block:
    """One contiguous series: typed node values (NaN for gaps), times, and each row's
    period (:data:`BEFORE`, :data:`AFTER` or :data:`NEITHER`)."""

    values: pd.DataFrame
    times: np.ndarray
    axis: TimeAxis
    period: np.ndarray

    def history(self, which: int) -> dict[str, np.ndarray]:
        """Node values from the start of the block to the end of period ``which``."""
        rows = np.flatnonzero(self.period == which)
        end = rows[-1] + 1 if rows.size else 0
        return {c: self.values[c].to_numpy()[:end] for c in self.values.columns}


@dataclass(frozen=True)
class Periods:
    """The series of a time-series analysis and what the user should know about them."""

    blocks: tuple[Block, ...]
    windows: dict[str, dict[str, str]]
    notes: tuple[str, ...] = field(default=())

    @property
    def axis(self) -> TimeAxis:
        """The first block's time axis."""
        return self.blocks[0].axis


def read_periods(
    nodes: Sequence[str],
    tables: Mapping[str, pd.DataFrame],
    spec: TimeSpec,
    dropna: bool = False,
) -> Periods:
    """Sort, check and cut the tables into a before and an after period.

    ``tables`` holds either ``--data`` (one series, cut by ``split_at`` or the windows)
    or ``--before`` and ``--after`` (each its own series).
    """
    if "--data" in tables:
        series = read_series(tables["--data"], spec.column, "the data")
        period = _cut(series, spec)
        blocks = (node_block(series, nodes, period, "the data", dropna),)
        windows = {
            "before": span(series, period == BEFORE),
            "after": span(series, period == AFTER),
        }
        notes = series.notes
    else:
        if not (spec.split_at is None and spec.before_window is None is spec.after_window):
            raise InputError(
                "split_at and the windows cut one table (data); before and after are "
                "already two periods",
                parameter="split_at",
            )
        blocks, windows, notes = (), {}, ()
        for which, option in ((BEFORE, "--before"), (AFTER, "--after")):
            label = f"the {option[2:]} data"
            series = read_series(tables[option], spec.column, label)
            period = np.full(len(series.times), which)
            blocks += (node_block(series, nodes, period, label, dropna),)
            windows[option[2:]] = span(series, period == which)
            notes += series.notes
    return Periods(blocks, windows, notes)


def _cut(series: Series, spec: TimeSpec) -> np.ndarray:
    """Each row's period from ``--split-at`` or the two windows."""
    period = np.full(len(series.times), NEITHER)
    if spec.split_at is not None:
        if spec.before_window or spec.after_window:
            raise InputError("give split_at or the two windows, not both", parameter="split_at")
        at = parse_time(spec.split_at, series.axis, "split_at")
        shown = series.axis.format(at)
        before = window_rows(series, (-np.inf, at), f"before period (t < {shown})")
        after = window_rows(series, (at, np.inf), f"after period (t >= {shown})")
    elif spec.before_window and spec.after_window:
        lo = parse_window(spec.before_window, series.axis, "before_window")
        hi = parse_window(spec.after_window, series.axis, "after_window")
        if lo[1] > hi[0] and hi[1] > lo[0]:
            raise InputError(
                "before_window and after_window overlap; periods must not share rows",
                parameter="before_window",
            )
        before = window_rows(series, lo, f"before window {spec.before_window}")
        after = window_rows(series, hi, f"after window {spec.after_window}")
    else:
        raise InputError(
            "one table in time order needs split_at TIME, or before_window and "
            "after_window (START/END each)",
            parameter="split_at",
        )
    period[before] = BEFORE
    period[after] = AFTER
    return period


def node_block(
    series: Series, nodes: Sequence[str], period: np.ndarray, label: str, dropna: bool
) -> Block:
    """The series' node columns as floats (time-series mode models continuous nodes)."""
    frame = series.frame
    missing = [n for n in nodes if n not in frame.columns]
    if missing:
        raise InputError(
            f"{label} lacks columns for graph nodes: {describe_nodes(missing)}"
            f"{closest(missing[0], frame.columns)}"
        )
    values = {}
    for node in nodes:
        col = frame[node]
        if is_text(col):
            raise InputError(
                f"{label}: {node!r} holds text; time-series mode models numeric nodes only "
                "(encode the levels as numbers, or leave the node out)"
            )
        x = col.to_numpy(dtype=float)
        if np.isinf(x).any():
            row = int(np.flatnonzero(np.isinf(x))[0]) + 1
            raise InputError(f"{label} has an infinite value in {node!r} at data row {row}")
        values[node] = check_scale(x, node, label)
    out = pd.DataFrame(values, columns=list(nodes))
    gaps = out[period != NEITHER].isna().sum()
    gaps = gaps[gaps > 0]
    if len(gaps) and not dropna:
        listed = ", ".join(f"{c!r} ({k})" for c, k in gaps.items())
        raise InputError(
            f"{label} has missing values in {listed}; fill them or pass --dropna to leave "
            "those rows (and the rows whose lags reach them) out"
        )
    return Block(out, series.times, series.axis, period)


MIN_AFTER_ROWS = 4
"""Fewest after rows (with their whole past) time mode explains: an incident's few
minutes. The change tests then say which nodes they could not test."""


def lagged_data(
    periods: Periods,
    features: Mapping[str, Iterable[Feature]],
    max_rows: int | None = None,
    seed: int = 0,
    min_rows: int = 10,
    one_period: bool = False,
) -> PreparedData:
    """Each period's rows with the node columns and every lag column the mechanisms read.

    Rows without their whole past (a block's first rows, rows after a gap or a missing
    value) are left out and counted; then each period is sampled to ``max_rows``. With
    ``one_period`` (``check``), every row is in the before period and the after one is empty.
    """
    needed = sorted({f for feats in features.values() for f in feats if f[1] > 0})
    frames: dict[int, list[pd.DataFrame]] = {BEFORE: [], AFTER: []}
    dropped = {BEFORE: 0, AFTER: 0}
    for block in periods.blocks:
        columns = dict(block.values.items())
        for node, lag in needed:
            col = np.full(len(block.times), np.nan)
            col[lag:] = block.values[node].to_numpy()[:-lag] if lag < len(col) else []
            col[~block.axis.lag_valid(block.times, lag)] = np.nan
            columns[lag_name(node, lag)] = col
        table = pd.DataFrame(columns)
        complete = table.notna().all(axis=1).to_numpy()
        for which in (BEFORE, AFTER):
            rows = block.period == which
            dropped[which] += int(np.count_nonzero(rows & ~complete))
            frames[which].append(table[rows & complete])
    out, notes, totals = {}, [], []
    for which, name in ((BEFORE, "before"), (AFTER, "after")):
        frame = pd.concat(frames[which], ignore_index=True)
        totals.append(len(frame) + dropped[which])
        frame, note = sample_rows(frame, max_rows, seed, f"{name} rows")
        notes += [note] if note else []
        needed = min(min_rows, MIN_AFTER_ROWS) if which == AFTER else min_rows
        if len(frame) < needed and not (one_period and which == AFTER):
            raise InputError(
                f"the {name} period has {len(frame)} row(s) with their whole past; at least "
                f"{needed} are needed: fewer lags, shallower lagged edges, or a longer period",
                parameter="lags",
            )
        out[name] = frame
    if dropped[BEFORE] or dropped[AFTER]:
        notes.append(
            f"left out {dropped[BEFORE]} before and {dropped[AFTER]} after row(s) whose past "
            "is not in the data (the first rows of a series, gaps, missing values)"
        )
    return PreparedData(
        out["before"], out["after"], frozenset(), (*periods.notes, *notes), tuple(totals)
    )
