"""Time-series mode's opening: series read and cut into periods, the lag order chosen,
and every row given the past its mechanism reads.

In time mode each node's mechanism reads its parents at their edges' lags, their values up
to ``lags`` steps before, and its own last ``lags`` values (linearly: an autoregression).
Its noise is the *innovation*, what was new at the node at that time, which is what the
change tests, the interventions and the anomaly scores work on. A slowly wandering series
is then its own past plus small innovations, not a changed mechanism.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs.lags import Feature, contemporaneous, lag_features, lag_name, summary_graph
from ..inputs.periods import AFTER, BEFORE, Periods, TimeSpec, lagged_data, node_block, read_periods
from ..inputs.preparation import PreparedData
from ..inputs.series import read_series
from ..limits import MAX_LAGS, require_count
from ..models.linalg import least_squares
from .lag_order import (
    MAX_AUTO_LAGS,
    ROWS_PER_COEFFICIENT,
    choose_lags,
    lags_json,
    largest_order,
)


@dataclass(frozen=True)
class TimeMode:
    """What time-series mode adds to an analysis.

    Attributes
    ----------
    features
        Per node, the (node, lag) pairs its mechanism reads.
    lags
        The lag order used: one for every node (given) or one per node (chosen).
    chosen
        Whether ``lags`` was chosen from the data (by BIC) rather than given.
    bic
        The summed BIC of every order tried (empty when given).
    windows
        First and last time of each period, as written.
    column
        The time column.
    """

    features: dict[str, tuple[Feature, ...]]
    lags: int | dict[str, int]
    chosen: bool
    bic: dict[int, float] = field(default_factory=dict)
    windows: dict[str, dict[str, str]] = field(default_factory=dict)
    column: str = ""
    periods: Periods | None = field(default=None, repr=False, compare=False)
    """The series as read (for pictures of the result)."""

    def parents(self, node: str) -> tuple[str, ...]:
        """The columns ``node``'s mechanism reads."""
        return tuple(lag_name(p, k) for p, k in self.features[node])

    def own(self, node: str) -> frozenset[str]:
        """The columns of ``node``'s own past (kept linear)."""
        return frozenset(lag_name(p, k) for p, k in self.features[node] if p == node)

    @property
    def summary(self) -> nx.DiGraph:
        """Who influences whom at any lag (may have feedback cycles)."""
        return summary_graph(self.features)

    @property
    def max_lag(self) -> int:
        """The deepest lag any mechanism reads."""
        return max((k for fs in self.features.values() for _, k in fs), default=0)

    def to_dict(self) -> dict:
        """The JSON block ``time_mode``."""
        return {
            "time_column": self.column,
            **lags_json(self.lags),
            "lags_from": "BIC" if self.chosen else "--lags",
            "bic": {str(k): round(v, 3) for k, v in sorted(self.bic.items())},
            "windows": self.windows,
        }


def open_time_series(
    graph: nx.DiGraph,
    tables: Mapping[str, pd.DataFrame],
    spec: TimeSpec,
    *,
    categorical=(),
    dropna: bool = False,
    max_rows: int | None = None,
    seed: int = 0,
) -> tuple[PreparedData, TimeMode]:
    """The periods' rows with their lag columns, and the time mode that built them."""
    if list(categorical):
        raise InputError(
            "time-series mode models numeric nodes only; drop categorical", parameter="categorical"
        )
    if spec.lags is not None:
        require_count(spec.lags, "lags", 0, MAX_LAGS)
    nodes = list(graph.nodes)
    periods: Periods = read_periods(nodes, tables, spec, dropna)
    if spec.lags is None:
        lags, bic = choose_lags(graph, periods, MAX_AUTO_LAGS)
    else:
        lags, bic = spec.lags, {}
    features = lag_features(graph, lags)
    prepared = lagged_data(periods, features, max_rows, seed)
    mode = TimeMode(features, lags, spec.lags is None, bic, periods.windows, spec.column, periods)
    return prepared, mode


def innovations(rows: pd.DataFrame, mode: TimeMode) -> pd.DataFrame:
    """Each node's value minus its linear prediction from every node's past up to the
    deepest lag (a vector autoregression's residuals). They follow the lag-0 edges alone,
    without autocorrelation, which is what a check of the within-step graph needs."""
    nodes = list(mode.features)
    past = sorted({lag_name(p, k) for fs in mode.features.values() for p, k in fs if k > 0})
    design = np.column_stack([np.ones(len(rows)), *(rows[c].to_numpy(float) for c in past)])
    out = {}
    for node in nodes:
        y = rows[node].to_numpy(float)
        out[node] = y - design @ least_squares(design, y)[0]
    return pd.DataFrame(out, columns=nodes)


def series_innovations(
    graph: nx.DiGraph, table: pd.DataFrame, spec: TimeSpec, dropna: bool = False
) -> tuple[nx.DiGraph, pd.DataFrame, tuple[str, ...]]:
    """``check`` in time-series mode: the lag-0 graph and the innovations of the whole
    series (every node's residual on every node's past, :func:`innovations`). Checking
    autocorrelated values as independent rows would call every wandering node dependent;
    lagged edges themselves are not tested. The notes say what the series' reading did
    (rows sorted, gaps, UTC offsets, rows without their past)."""
    if spec.split_at or spec.before_window or spec.after_window:
        raise InputError(
            "check reads one series: leave out split_at and the windows", parameter="split_at"
        )
    series = read_series(table, spec.column, "the data")
    period = np.zeros(len(series.times), dtype=int)
    block = node_block(series, list(graph.nodes), period, "the data", dropna)
    periods = Periods((block,), {}, series.notes)
    lags = spec.lags
    if lags is None:  # one vector autoregression for every node: an order its rows support
        deepest = largest_order(choose_lags(graph, periods, MAX_AUTO_LAGS)[0])
        width = len(graph)  # coefficients per lag of each node's regression on every past
        lags = max(
            (k for k in range(1, deepest + 1)
             if len(series.times) >= ROWS_PER_COEFFICIENT * (width * k + 1)),
            default=1,
        )  # fmt: skip
    features = lag_features(graph, lags)
    lagged = lagged_data(periods, features, min_rows=10, one_period=True)
    mode = TimeMode(features, lags, spec.lags is None)
    return contemporaneous(graph), innovations(lagged.before, mode), lagged.notes


def series_report(periods: Periods, shown: list[str]) -> dict:
    """What a picture of a time-mode result needs: the shown nodes' whole series (blocks
    one after the other), each period's row range, and the first and last time."""
    series = {
        n: np.concatenate([b.values[n].to_numpy(float) for b in periods.blocks]) for n in shown
    }
    windows, offset = [], 0
    for block in periods.blocks:
        for which, label in ((BEFORE, "before"), (AFTER, "after")):
            rows = np.flatnonzero(block.period == which)
            if rows.size:
                windows.append((offset + int(rows[0]), offset + int(rows[-1]) + 1, label))
        offset += len(block.times)
    first, last = periods.blocks[0], periods.blocks[-1]
    span = (first.axis.format(first.times[0]), last.axis.format(last.times[-1]))
    return {"series": series, "windows": tuple(windows), "span": span}
