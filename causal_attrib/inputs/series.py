"""Rows in time order: the time column read and checked, and the periods cut from it.

Time-series mode reads a column of numbers or ISO 8601 timestamps. Whatever would change
the answer is said, never done silently: rows out of order are sorted (a note counts them),
a repeated time is an error (two series interleaved, or a repeated export), a mix of
timestamps with and without a zone is an error, several UTC offsets are ordered in UTC
(a note), and gaps are noted and never bridged by a lag (see :meth:`TimeAxis.lag_valid`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError

_ZONE = r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$"

GAP = 1.5
"""A step longer than this many typical steps is a gap."""


@dataclass(frozen=True)
class TimeAxis:
    """How one table's time column reads: numbers or timestamps, and its typical step.

    Attributes
    ----------
    column
        The time column's name.
    kind
        ``"number"`` or ``"timestamp"`` (held as seconds since 1970, UTC for zoned ones).
    zoned
        Whether timestamps carry a zone.
    step
        The typical step between rows (the median), ``None`` when the times are irregular.
    """

    column: str
    kind: str
    zoned: bool = False
    step: float | None = None

    def format(self, value: float) -> str:
        """A time as the user wrote it: a number, or an ISO 8601 timestamp."""
        if self.kind == "number":
            return f"{value:.12g}"
        stamp = pd.Timestamp(round(value * 1e9), unit="ns", tz="UTC" if self.zoned else None)
        return stamp.isoformat()

    def duration(self, seconds: float) -> str:
        """A span of time in words (numbers stay numbers)."""
        if self.kind == "number":
            return f"{seconds:.6g}"
        for unit, size in (("day", 86400), ("hour", 3600), ("min", 60)):
            if seconds >= size:
                return (
                    f"{seconds / size:.3g} {unit}{'s' if unit != 'min' and seconds != size else ''}"
                )
        return f"{seconds:.3g} s"

    def lag_valid(self, times: np.ndarray, lag: int) -> np.ndarray:
        """Rows whose value ``lag`` rows back is exactly ``lag`` steps back in time (any row
        ``lag`` back when the times are irregular, where lags count rows)."""
        ok = np.zeros(len(times), dtype=bool)
        if lag == 0:
            return ~ok
        if lag >= len(times):
            return ok
        if self.step is None:
            ok[lag:] = True
            return ok
        span = times[lag:] - times[:-lag]
        ok[lag:] = np.abs(span - lag * self.step) <= 0.5 * self.step
        return ok


@dataclass(frozen=True)
class Series:
    """One table in time order.

    Attributes
    ----------
    frame
        The rows, sorted by time (index 0..n-1).
    times
        Their times as floats (seconds for timestamps).
    axis
        How the time column reads.
    notes
        What the user should know (rows sorted, gaps, offsets).
    """

    frame: pd.DataFrame
    times: np.ndarray
    axis: TimeAxis
    notes: tuple[str, ...] = field(default=())


def read_series(frame: pd.DataFrame, column: str, label: str) -> Series:
    """``frame`` sorted by its time ``column``, checked.

    Parameters
    ----------
    frame
        A table with a time column.
    column
        The time column (numbers, or ISO 8601 timestamps with or without a zone).
    label
        How messages name the table (``"the data"``).
    """
    if column not in frame.columns:
        raise InputError(f"{label} has no time column {column!r} (--time-column)")
    if len(frame) == 0:
        raise InputError(f"{label} has no rows")
    times, kind, zoned, notes = _parse_times(frame[column], column, label)
    order = np.argsort(times, kind="stable")
    moved = int(np.count_nonzero(order != np.arange(len(order))))
    if moved:
        notes.append(f"{label}: rows were not in time order; sorted by {column!r} ({moved} moved)")
    times = times[order]
    frame = frame.iloc[order].reset_index(drop=True)
    axis = TimeAxis(column, kind, zoned)
    repeat = np.flatnonzero(np.diff(times) == 0)
    if repeat.size:
        raise InputError(
            f"{label}: {repeat.size} row(s) repeat a time of {column!r} (first "
            f"{axis.format(times[repeat[0]])}); a series needs one row per time: aggregate "
            "them (e.g. the mean per minute) or give each series its own table"
        )
    axis, gap_notes = _sampling(times, axis, label)
    return Series(frame, times, axis, tuple(notes + gap_notes))


def _parse_times(col: pd.Series, column: str, label: str) -> tuple[np.ndarray, str, bool, list]:
    blank = col.isna().to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0]) + 1
        raise InputError(f"{label}: the time column {column!r} is empty at data row {row}")
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=float)
        if not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values))[0]) + 1
            raise InputError(f"{label}: the time column {column!r} is infinite at data row {row}")
        return values, "number", False, []
    text = col.astype(str).str.strip()
    zoned = text.str.contains(_ZONE, regex=True).to_numpy()
    if zoned.any() and not zoned.all():
        a, b = int(np.flatnonzero(zoned)[0]), int(np.flatnonzero(~zoned)[0])
        raise InputError(
            f"{label}: the time column {column!r} mixes timestamps with a zone (data row "
            f"{a + 1}: {text.iloc[a]!r}) and without (data row {b + 1}: {text.iloc[b]!r}); "
            "their order is ambiguous: give every timestamp a zone, or none"
        )
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=bool(zoned.all()))
    except (ValueError, TypeError, OverflowError):
        row = _first_unparsed(text)
        raise InputError(
            f"{label}: the time column {column!r} holds {text.iloc[row]!r} at data row "
            f"{row + 1}: not a number or an ISO 8601 timestamp"
        ) from None
    seconds = parsed.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    notes = []
    if zoned.all():
        offsets = sorted(
            set(text.str.extract("(" + _ZONE + ")")[0].str.upper().replace("Z", "+00:00"))
        )
        if len(offsets) > 1:
            notes.append(
                f"{label}: timestamps of {column!r} carry {len(offsets)} UTC offsets "
                f"({', '.join(offsets[:4])}); they are ordered in UTC"
            )
    return seconds, "timestamp", bool(zoned.all()), notes


def _first_unparsed(text: pd.Series) -> int:
    for i, value in enumerate(text):
        try:
            pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return i
    return 0


def _sampling(times: np.ndarray, axis: TimeAxis, label: str) -> tuple[TimeAxis, list[str]]:
    """The typical step (``None`` if irregular) and notes on gaps and irregular times."""
    if len(times) < 3:
        return axis, []
    steps = np.diff(times)
    step = float(np.median(steps))
    usual = steps <= GAP * step
    regular = np.mean(np.abs(steps[usual] - step) <= 0.1 * step) >= 0.9
    notes = []
    if not regular:
        notes.append(
            f"{label}: the times of {axis.column!r} are irregular (steps from "
            f"{axis.duration(float(steps.min()))} to {axis.duration(float(steps.max()))}); "
            "lags count rows, not time"
        )
        return TimeAxis(axis.column, axis.kind, axis.zoned, None), notes
    gaps = np.flatnonzero(~usual)
    if gaps.size:
        longest = int(gaps[np.argmax(steps[gaps])])
        notes.append(
            f"{label}: {gaps.size} gap(s) in {axis.column!r} (the longest "
            f"{axis.duration(float(steps[longest]))}, after {axis.format(times[longest])}); "
            "lags never reach across a gap: rows whose lags would are left out"
        )
    return TimeAxis(axis.column, axis.kind, axis.zoned, step), notes


def parse_time(text: str, axis: TimeAxis, option: str) -> float:
    """A time given on the command line, read like the series' times (a naive timestamp
    against a zoned series is read as UTC)."""
    text = str(text).strip()
    if axis.kind == "number":
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise InputError(f"{option} {text!r} is not a number like the times of {axis.column!r}")
        return value
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        raise InputError(f"{option} {text!r} is not an ISO 8601 timestamp") from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
        stamp = stamp if axis.zoned else stamp.tz_localize(None)
    return stamp.value / 1e9


def parse_window(text: str, axis: TimeAxis, option: str) -> tuple[float, float]:
    """``A/B`` as the half-open interval [A, B); either end may be left empty (open)."""
    if text.count("/") != 1:
        raise InputError(f"{option} {text!r} needs the form START/END (either may be empty)")
    start, end = (s.strip() for s in text.split("/"))
    lo = parse_time(start, axis, option) if start else -math.inf
    hi = parse_time(end, axis, option) if end else math.inf
    if not lo < hi:
        raise InputError(f"{option} {text!r} is empty: its start is not before its end")
    return lo, hi


def window_rows(series: Series, window: tuple[float, float], what: str) -> np.ndarray:
    """The rows of ``series`` inside ``window`` (a mask); an error naming the series' span
    when there are none."""
    mask = (series.times >= window[0]) & (series.times < window[1])
    if not mask.any():
        axis = series.axis
        raise InputError(
            f"the {what} holds no rows (the series runs from {axis.format(series.times[0])} "
            f"to {axis.format(series.times[-1])})"
        )
    return mask


def span(series: Series, mask: np.ndarray) -> dict[str, str]:
    """The first and last time of the rows in ``mask``, as written (for reports)."""
    chosen = series.times[mask]
    return {"start": series.axis.format(chosen[0]), "end": series.axis.format(chosen[-1])}
