"""Tables handed over from Python, checked at the boundary: what a DataFrame (or a dict of
columns) must look like before any analysis reads it, and node columns whose numbers
pandas keeps as Python objects.

A notebook's DataFrame may have a two-level header, the same column twice, columns ``1``
and ``"1"`` (one name once written as text), complex numbers, or floats in an ``object``
column; each is refused with one line, or read as the numbers it holds, never guessed at.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, InputTypeError

EXACT = 2**53
"""Whole numbers beyond this magnitude are not all exact in double precision."""


def as_table(source: object, label: str) -> str | Path | pd.DataFrame:
    """``source`` as something :func:`~causal_attrib.inputs.tables.read_table` reads: a
    path, ``"-"``, or a DataFrame whose header is one level of distinct names (a dict of
    columns becomes a DataFrame)."""
    if isinstance(source, str | Path):
        return source
    what = f"the {label.lstrip('-')} table"
    if isinstance(source, Mapping):
        try:
            source = pd.DataFrame(dict(source))
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"{what} is a dict that is not a table of columns ({exc})",
                parameter=label.lstrip("-"),
            ) from None
    if not isinstance(source, pd.DataFrame):
        raise InputTypeError(
            f"{label.lstrip('-')} must be a file path, '-', a DataFrame or a dict of columns, not "
            f"{type(source).__name__}",
            parameter=label.lstrip("-"),
        )
    if isinstance(source.columns, pd.MultiIndex):
        raise InputError(
            f"{what} has a header of {source.columns.nlevels} levels; give one column per "
            "node with a one-level header (e.g. join the levels: df.columns = ['_'.join(c) "
            "for c in df.columns])",
            parameter=label.lstrip("-"),
        )
    _refuse_repeated_names(source.columns, what, label.lstrip("-"))
    return source


def _refuse_repeated_names(columns: Iterable[object], what: str, parameter: str) -> None:
    seen: dict[str, object] = {}
    for column in columns:
        if not isinstance(column, str | numbers.Number) or isinstance(column, bool):
            raise InputTypeError(
                f"{what} has a column named {column!r}; column names must be text",
                parameter=parameter,
            )
        name = str(column)
        if name in seen:
            same = seen[name] == column and type(seen[name]) is type(column)
            twice = (
                f"{name!r} twice" if same else f"{seen[name]!r} and {column!r}, one name as text"
            )
            raise InputError(
                f"{what} has the column {twice}; rename one",
                parameter=parameter,
            )
        seen[name] = column


def numeric_nodes(
    frames: Mapping[str, pd.DataFrame], nodes: Iterable[str]
) -> tuple[dict[str, pd.DataFrame], tuple[str, ...]]:
    """The tables (by how messages name them) with node columns of numbers held as Python
    objects read as floats, and notes. Complex numbers are refused. Whole numbers that
    double precision cannot hold exactly (10**20 plus a small signal) keep every digit of
    their differences: they are read as exact offsets from their smallest value in every
    table (one origin, so periods stay comparable; a note says so), instead of rounding the
    signal away and blaming another node."""
    out, notes = dict(frames), []
    for node in nodes:
        columns = {label: f[node] for label, f in frames.items() if node in f.columns}
        for label, col in columns.items():
            if pd.api.types.is_complex_dtype(col) or _any_complex(col):
                raise InputError(
                    f"column {node!r} of {label} holds complex numbers; give real numbers "
                    "(e.g. the magnitude or the real part as its own column)",
                    parameter="data",
                )
        origins = [o for o in map(_inexact_origin, columns.values()) if o is not None]
        if origins and all(_whole(col) for col in columns.values()):
            origin = min(min(int(v) for v in col.dropna()) for col in columns.values())
            for label, col in columns.items():
                offsets = col.dropna().map(lambda v, o=origin: float(int(v) - o))
                out[label] = out[label].assign(**{node: offsets.reindex(col.index).astype(float)})
            notes.append(
                f"column {node!r} holds whole numbers too large for double precision; they "
                f"are read as exact offsets from {origin} (its values are shown as offsets)"
            )
            continue
        for label, col in columns.items():
            present = col.dropna()
            if col.dtype == object and len(present) and all(_is_real(v) for v in present):
                converted = present.map(float).reindex(col.index).astype(float)
                out[label] = out[label].assign(**{node: converted})
    return out, tuple(notes)


def _whole(col: pd.Series) -> bool:
    present = col.dropna().to_list()
    return all(isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)
               for v in present)  # fmt: skip


def _any_complex(col: pd.Series) -> bool:
    return col.dtype == object and any(isinstance(v, complex) for v in col.dropna())


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _inexact_origin(col: pd.Series) -> int | None:
    """The smallest value of a column of whole numbers that a float would round (beyond
    2**53), else ``None``."""
    if not (pd.api.types.is_integer_dtype(col) or col.dtype == object):
        return None
    if pd.api.types.is_integer_dtype(col) and col.dtype != object:
        values = col.dropna().to_numpy()
        if not len(values) or np.all(np.abs(values.astype(float)) <= EXACT):
            return None
    present = col.dropna().to_list()
    if not present or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_) for v in present
    ):
        return None
    ints = [int(v) for v in present]
    if all(abs(v) <= EXACT or int(float(v)) == v for v in ints):
        return None
    return min(ints)
