"""Rows in time order: the time column read and checked, and the periods cut from it.

Time-series mode reads a column of numbers or ISO 8601 timestamps. Whatever would change
the answer is said, never done silently: rows out of order are sorted (a note counts them),
a repeated time is an error (two series interleaved, or a repeated export), a mix of
timestamps with and without a zone is an error, several UTC offsets are ordered in UTC
(a note), and gaps are noted and never bridged by a lag (see :meth:`TimeAxis.lag_valid`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..errors import InputError
from .names import closest

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
    origin
        The exact time the series' times count from: nanoseconds since 1970 for
        timestamps, a whole number for numbers (0 unless they pass 2**53). Times are
        held as float offsets from it, so close times far from 0 stay apart.
    """

    column: str
    kind: str
    zoned: bool = False
    step: float | None = None
    origin: int = 0

    def format(self, value: float) -> str:
        """A time as the user wrote it: a number, or an ISO 8601 timestamp."""
        if self.kind == "number":
            if self.origin and float(value).is_integer():
                return str(self.origin + int(value))
            return f"{self.origin + value:.12g}"
        ns = self.origin + round(value * 1e9)
        stamp = pd.Timestamp(ns, unit="ns", tz="UTC" if self.zoned else None)
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
        raise InputError(
            f"{label} has no time column {column!r}{closest(column, frame.columns)}",
            parameter="time_column",
        )
    if len(frame) == 0:
        raise InputError(f"{label} has no rows")
    parsed = parse_times(frame[column], column, label)
    times, notes = parsed.offsets, list(parsed.notes)
    order = np.argsort(times, kind="stable")
    moved = int(np.count_nonzero(order != np.arange(len(order))))
    if moved:
        notes.append(f"{label}: rows were not in time order; sorted by {column!r} ({moved} moved)")
    times = times[order]
    frame = frame.iloc[order].reset_index(drop=True)
    axis = TimeAxis(column, parsed.kind, parsed.zoned, origin=parsed.origin)
    _refuse_repeats(times, parsed.exact[order], axis, label)
    axis, gap_notes = _sampling(times, axis, label)
    return Series(frame, times, axis, tuple(notes + gap_notes))


def _refuse_repeats(times: np.ndarray, exact: np.ndarray, axis: TimeAxis, label: str) -> None:
    """A repeated time is an error; so are distinct times too close to tell apart over
    the series' span in double precision (never silently called repeated)."""
    repeat = np.flatnonzero(np.diff(times) == 0)
    if not repeat.size:
        return
    first = int(repeat[0])
    if exact[first] != exact[first + 1]:
        raise InputError(
            f"{label}: the times {_shown(exact[first])} and {_shown(exact[first + 1])} of "
            f"{axis.column!r} are too close to tell apart over the series' span (double "
            "precision keeps about 15 digits of a time's offset from the first)",
            parameter="time_column",
        )
    raise InputError(
        f"{label}: {repeat.size} row(s) repeat a time of {axis.column!r} (first "
        f"{axis.format(times[first])}); a series needs one row per time: aggregate "
        "them (e.g. the mean per minute) or give each series its own table"
    )


ISO_8601 = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d)"
    r"(?:[Tt ](?P<clock>\d\d:\d\d(?::\d\d(?:[.,]\d{1,9})?)?)(?P<zone>[zZ]|[+-]\d\d(?::?\d\d)?)?)?$"
)
"""A timestamp as this tool reads it: ``2026-11-28``, ``2026-11-28T12:00``, seconds and
fractions optional, a zone (``Z``, ``+01:00``, ``+0100``, ``+01``) only after a time."""
NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
"""A finite decimal number (no ``nan``, ``inf`` or thousands separators)."""
EXAMPLE = "a number or an ISO 8601 timestamp (like 2026-11-28T12:00:00Z)"
FIRST = pd.Timestamp.min.ceil("s")
LAST = pd.Timestamp.max.floor("s")
RANGE = f"{FIRST:%Y-%m-%d} to {LAST:%Y-%m-%d}"
"""The timestamps pandas holds in nanoseconds; others are refused, never wrapped."""
EXACT = 2**53
"""Whole numbers beyond this lose digits as floats; times are then kept as exact offsets."""


@dataclass(frozen=True)
class ParsedTimes:
    """A time column read: each row's time as a float offset from ``origin`` (an exact
    integer: the first time's nanoseconds or whole number), and how it reads."""

    offsets: np.ndarray
    kind: str
    zoned: bool
    origin: int
    exact: np.ndarray
    notes: list = field(default_factory=list)


def parse_times(col: pd.Series, column: str, label: str) -> ParsedTimes:
    """The one reader of time columns: numbers, ISO 8601 timestamps or ``datetime64``.

    Anything else (``NaT``, ``now``, ``28/11/2026``, a year pandas cannot hold, a
    boolean) is an :class:`~causal_attrib.errors.InputError` that names the data row and
    the value. Whole numbers beyond 2**53 and nanosecond timestamps keep every digit: the
    times are offsets from the first one, computed exactly.
    """
    where = f"{label}: the time column {column!r}"
    blank = col.isna().to_numpy()
    if blank.any():
        row = int(np.flatnonzero(blank)[0])
        raise InputError(
            f"{where} is empty at data row {row + 1} ({_shown(col.iloc[row])}); every row "
            f"needs a time: {EXAMPLE}",
            parameter="time_column",
        )
    if pd.api.types.is_datetime64_any_dtype(col):
        return _from_datetimes(col, col.astype(str), where)
    if pd.api.types.is_bool_dtype(col):
        raise InputError(f"{where} holds booleans, not times", parameter="time_column")
    if pd.api.types.is_complex_dtype(col):
        raise InputError(f"{where} holds complex numbers, not times", parameter="time_column")
    if pd.api.types.is_integer_dtype(col):
        return _from_integers(col.to_numpy(), where)
    if pd.api.types.is_float_dtype(col):
        return _from_floats(col.to_numpy(dtype=float), where)
    return _from_objects(col.reset_index(drop=True), where)


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse(where: str, row: int, value: object, why: str = "") -> InputError:
    return InputError(
        f"{where} holds {_shown(value)} at data row {row + 1}: {why or 'not ' + EXAMPLE}",
        parameter="time_column",
    )


def _from_floats(values: np.ndarray, where: str) -> ParsedTimes:
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _refuse(where, row, values[row], "not a finite number")
    return ParsedTimes(values, "number", False, 0, values)


def _from_integers(values, where: str) -> ParsedTimes:
    """Whole numbers; beyond 2**53 as exact offsets from the smallest."""
    ints = [int(v) for v in values] if values.dtype == object else values
    if len(ints) and max(abs(int(min(ints))), abs(int(max(ints)))) <= EXACT:
        floats = np.asarray(ints, dtype=float)
        return ParsedTimes(floats, "number", False, 0, floats)
    origin = int(min(ints))
    if isinstance(ints, np.ndarray):
        offsets = (ints.astype(np.uint64) - np.uint64(origin % 2**64)).astype(float)
    else:
        offsets = np.array([v - origin for v in ints], dtype=float)
    exact = np.array([int(v) for v in ints], dtype=object)
    return ParsedTimes(offsets, "number", False, origin, exact)


def _from_objects(col: pd.Series, where: str) -> ParsedTimes:
    """Python objects or text: all numbers, or all ISO 8601 timestamps."""
    values = col.to_list()
    if all(_is_real(v) for v in values):
        if all(isinstance(v, int | np.integer) for v in values):
            return _from_integers(np.array(values, dtype=object), where)
        return _from_floats(np.array(values, dtype=float), where)
    text = [str(v) if _is_real(v) else v.strip() if isinstance(v, str) else None for v in values]
    kinds = ["number" if _is_real(v) else _text_kind(t) for v, t in zip(values, text, strict=True)]
    numbers, stamps = kinds.count("number"), kinds.count("timestamp")
    first = "number" if numbers > stamps else "timestamp"  # the column's kind: its majority
    for row, kind in enumerate(kinds):
        if kind is None:
            raise _refuse(where, row, values[row])
        if kind != first:
            raise _refuse(where, row, values[row], f"a {kind}, where most rows hold {first}s")
    if first == "number":
        if all(isinstance(v, int | np.integer) or re.fullmatch(r"[+-]?\d+", t)
               for v, t in zip(values, text, strict=True)):  # fmt: skip
            return _from_integers(np.array([int(t) for t in text], dtype=object), where)
        return _from_floats(np.array([float(t) for t in text]), where)
    return _from_text(pd.Series(text), where)


def _is_real(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(
        value, bool | np.bool_
    )


def _text_kind(text: str | None) -> str | None:
    if text is None:
        return None
    if NUMBER.match(text):
        return "number"
    if ISO_8601.match(text):
        return "timestamp"
    return None


def _from_text(text: pd.Series, where: str) -> ParsedTimes:
    """ISO 8601 timestamps: all with a zone, or none."""
    zones = text.str.extract(ISO_8601)["zone"]
    zoned = zones.notna().to_numpy()
    if zoned.any() and not zoned.all():
        a, b = int(np.flatnonzero(zoned)[0]), int(np.flatnonzero(~zoned)[0])
        raise InputError(
            f"{where} mixes timestamps with a zone (data row {a + 1}: {text.iloc[a]!r}) and "
            f"without (data row {b + 1}: {text.iloc[b]!r}); their order is ambiguous: give "
            "every timestamp a zone, or none",
            parameter="time_column",
        )
    years = text.str.slice(0, 4).astype(int).to_numpy()
    outside = (years < FIRST.year) | (years > LAST.year)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise _refuse(
            where, row, text.iloc[row], f"outside the timestamps this tool holds ({RANGE})"
        )
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=bool(zoned.all()))
    except (ValueError, TypeError, OverflowError):
        for row, value in enumerate(text):
            try:
                pd.to_datetime(pd.Series([value]), format="ISO8601", utc=bool(zoned.all()))
            except (ValueError, TypeError, OverflowError):
                raise _refuse(where, row, value, "not a valid date or time") from None
        raise _refuse(where, 0, text.iloc[0], "not a valid date or time") from None
    out = _from_datetimes(parsed, text, where)
    if zoned.all():
        offsets = sorted(set(zones.str.upper().replace("Z", "+00:00")))
        if len(offsets) > 1:
            column = where.split("time column ", 1)[1]
            label = where.split(": the time column", 1)[0]
            out.notes.append(
                f"{label}: timestamps of {column} carry {len(offsets)} UTC offsets "
                f"({', '.join(offsets[:4])}); they are ordered in UTC"
            )
    return out


def _from_datetimes(parsed: pd.Series, shown: pd.Series, where: str) -> ParsedTimes:
    """``datetime64`` values (any unit, with or without a zone) as exact nanoseconds."""
    zoned = getattr(parsed.dt, "tz", None) is not None
    naive = parsed.dt.tz_convert("UTC").dt.tz_localize(None) if zoned else parsed
    outside = ((naive < FIRST) | (naive > LAST)).to_numpy()
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise _refuse(
            where, row, shown.iloc[row], f"outside the timestamps this tool holds ({RANGE})"
        )
    ns = naive.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view(np.int64)
    origin = int(ns.min())
    offsets = (ns.view(np.uint64) - np.uint64(origin % 2**64)).astype(float) / 1e9
    return ParsedTimes(offsets, "timestamp", zoned, origin, ns)


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
        return replace(axis, step=None), notes
    gaps = np.flatnonzero(~usual)
    if gaps.size:
        longest = int(gaps[np.argmax(steps[gaps])])
        notes.append(
            f"{label}: {gaps.size} gap(s) in {axis.column!r} (the longest "
            f"{axis.duration(float(steps[longest]))}, after {axis.format(times[longest])}); "
            "lags never reach across a gap: rows whose lags would are left out"
        )
    return replace(axis, step=step), notes


def parse_time(text: object, axis: TimeAxis, parameter: str) -> float:
    """A time given as an option (``split_at``, an incident's start), read like the
    series' times, as an offset from the series' origin: a number for a series of numbers,
    an ISO 8601 timestamp for one of timestamps (a naive one against a zoned series is read
    as UTC). Words like ``now`` or ``today`` are refused: the answer must not change with
    the day it runs."""
    raw = str(text).strip() if isinstance(text, str) else text
    if not isinstance(raw, str):
        if not _is_real(raw):
            raise InputError(
                f"{parameter} must be {EXAMPLE}, not {type(text).__name__}", parameter=parameter
            )
        raw = str(raw)
    if axis.kind == "number":
        if not NUMBER.match(raw):
            raise InputError(
                f"{parameter} {raw!r} is not a number like the times of {axis.column!r} "
                "(times are numbers or ISO 8601 timestamps)",
                parameter=parameter,
            )
        if axis.origin and re.fullmatch(r"[+-]?\d+", raw):
            return float(int(raw) - axis.origin)
        return float(raw) - axis.origin
    match = ISO_8601.match(raw)
    if not match:
        raise InputError(
            f"{parameter} {raw!r} is not an ISO 8601 timestamp like the times of "
            f"{axis.column!r} (times are numbers or ISO 8601 timestamps, e.g. "
            "2026-11-28T12:00:00Z)",
            parameter=parameter,
        )
    if not FIRST.year <= int(raw[:4]) <= LAST.year:
        raise InputError(
            f"{parameter} {raw!r} is outside the timestamps this tool holds ({RANGE})",
            parameter=parameter,
        )
    try:
        stamp = pd.Timestamp(raw)
    except (ValueError, TypeError, OverflowError):
        raise InputError(
            f"{parameter} {raw!r} is not a valid date or time", parameter=parameter
        ) from None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    if not FIRST <= stamp <= LAST:
        raise InputError(
            f"{parameter} {raw!r} is outside the timestamps this tool holds ({RANGE})",
            parameter=parameter,
        )
    return (stamp.as_unit("ns").value - axis.origin) / 1e9


def parse_window(text: str, axis: TimeAxis, parameter: str) -> tuple[float, float]:
    """``A/B`` as the half-open interval [A, B); either end may be left empty (open)."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise InputError(
            f"{parameter} {text!r} needs the form START/END (either may be empty)",
            parameter=parameter,
        )
    start, end = (s.strip() for s in text.split("/"))
    lo = parse_time(start, axis, parameter) if start else -math.inf
    hi = parse_time(end, axis, parameter) if end else math.inf
    if not lo < hi:
        raise InputError(
            f"{parameter} {text!r} is empty: its start is not before its end", parameter=parameter
        )
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
