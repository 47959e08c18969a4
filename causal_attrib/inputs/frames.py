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


def numeric_nodes(frame: pd.DataFrame, nodes: Iterable[str], label: str) -> pd.DataFrame:
    """``frame`` with node columns of numbers held as Python objects read as floats;
    complex numbers and whole numbers that double precision cannot hold exactly are
    refused (the small signal on top of 10**20 would be lost, and another node blamed)."""
    converted = {}
    for node in nodes:
        if node not in frame.columns:
            continue
        col = frame[node]
        if pd.api.types.is_complex_dtype(col) or _any_complex(col):
            raise InputError(
                f"column {node!r} of {label} holds complex numbers; give real numbers "
                "(e.g. the magnitude or the real part as its own column)",
                parameter=label.lstrip("-"),
            )
        if pd.api.types.is_integer_dtype(col) or col.dtype == object:
            _refuse_inexact(col, node, label)
        if col.dtype == object:
            present = col.dropna()
            if len(present) and all(_is_real(v) for v in present):
                converted[node] = present.map(float).reindex(col.index).astype(float)
    return frame.assign(**converted) if converted else frame


def _any_complex(col: pd.Series) -> bool:
    return col.dtype == object and any(isinstance(v, complex) for v in col.dropna())


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _refuse_inexact(col: pd.Series, node: str, label: str) -> None:
    """Refuse whole numbers beyond 2**53 that a float would round."""
    values = col.dropna().to_numpy()
    if pd.api.types.is_integer_dtype(col):
        values = values[np.abs(values.astype(float)) > EXACT] if len(values) else values
    for v in values:
        if isinstance(v, numbers.Integral) and not isinstance(v, bool) and abs(int(v)) > EXACT:
            if int(float(v)) != int(v):
                raise InputError(
                    f"column {node!r} of {label} holds {int(v)}, a whole number too large "
                    f"for double precision (it would read as {float(v):.17g}); subtract a "
                    "baseline (e.g. the first value) so the values stay below 2**53",
                    parameter=label.lstrip("-"),
                )
