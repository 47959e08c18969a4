"""The opening every analysis shares: the row cap checked, the graph read and the target
found in it, and each table read under the option name that gave it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pandas as pd

from ..errors import InputError
from ..inputs.frames import as_table, numeric_nodes
from ..inputs.graphs import LoadedGraph, read_graph, require_node
from ..inputs.lags import is_temporal, lagged_edges
from ..inputs.preparation import check_max_rows
from ..inputs.tables import read_table

GraphSource = str | Path | nx.DiGraph | LoadedGraph
"""A graph as the analyses accept it: a file path, ``"-"``, a DiGraph, or a graph read
before (:func:`causal_attrib.inputs.graphs.read_graph`, whose notes are kept)."""
TableSource = str | Path | pd.DataFrame
"""A table as the analyses accept it: a file path, ``"-"``, or a DataFrame."""


@dataclass(frozen=True)
class Opening:
    """The inputs of an analysis, read: the graph, the tables by option name, and what
    the graph's loader noticed."""

    graph: nx.DiGraph
    tables: dict[str, pd.DataFrame]
    notes: tuple[str, ...] = ()


def open_analysis(
    graph: GraphSource,
    tables: Mapping[str, TableSource],
    target: str | None = None,
    *,
    max_rows: int | None = None,
    validate: bool = True,
    temporal: bool = False,
    na_values: Sequence[str] = (),
) -> Opening:
    """Read an analysis' inputs in the order errors should be reported.

    Parameters
    ----------
    graph
        The causal graph.
    tables
        Each table by the option that names it in messages (``"--before"``).
    target
        A node that must be in the graph, if any.
    max_rows
        The analysis' row cap, checked before anything is read.
    validate
        Reject graphs that are not DAGs (``check`` reports them instead).
    temporal
        The analysis runs in time-series mode, where edges may carry lags; otherwise a
        lagged edge is an error (rows without a time order cannot have a delay).
    na_values
        Cell values that mean "missing", beside empty cells (see :func:`read_table`).
    """
    check_max_rows(max_rows)
    loaded = read_graph(graph, validate=validate)
    if not temporal and is_temporal(loaded.graph):
        u, v, lag = lagged_edges(loaded.graph)[0]
        raise InputError(
            f"the graph has lagged edges ({u} -> {v} at lag {lag}); they need rows in time "
            "order: give a time column (time_column)",
            parameter="time_column",
        )
    if target is not None:
        require_node(loaded.graph, target)
    read = {
        _the(label): read_table(as_table(source, label), label, na_values)
        for label, source in tables.items()
    }
    typed, offsets = numeric_nodes(read, list(loaded.graph.nodes))
    frames = {label: typed[_the(label)] for label in tables}
    notes = loaded.notes + offsets
    return Opening(loaded.graph, frames, notes)


def _the(label: str) -> str:
    """``"--before"`` as messages name its table: ``"the before data"``."""
    return f"the {label.lstrip('-')} data"
