"""From spans to what the other commands take: the causal service graph, and a table of
per-service metrics per time window.

Both read spans through :class:`~causal_attrib.inputs.traces.SpanSource` and link them
with :func:`~causal_attrib.analyses.spans.read_spans` (whose module states the rules for
bad spans, calls and self time).

**Cycles.** Calls both ways (``a`` calls ``b`` and ``b`` calls ``a``, or a longer loop) make
a cycle, which a causal DAG cannot hold. Rule: while a cycle remains, the edge of the first
cycle found (nodes in name order) with the fewest calls (ties: the last in name order) is
dropped (``cycles="drop"``), or kept as an edge acting one time step later
(``cycles="lag"``, for time-series mode); each is named in a note.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd

from ..choices import CycleRule, parse_choice
from ..errors import InputError
from ..inputs.traces import SpanSource
from ..limits import MAX_COUNT, require_count
from ..results.traces import METRICS, CallEdge, ServiceGraph, TraceMetrics
from .spans import SpanLinker, Spans

_UNITS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "min": 60 * 10**9, "h": 3600 * 10**9}
MAX_WINDOWS = 1_000_000
"""Rows a metrics table may have (a guard against a window of a nanosecond)."""


def service_graph(
    paths: Sequence[str | Path],
    *,
    trace_format: str | None = None,
    columns: dict[str, str] | None = None,
    service_from: str | None = None,
    min_calls: int = 1,
    cycles: str = "drop",
    progress: Callable[[str], None] | None = None,
) -> ServiceGraph:
    """The causal service graph of the spans in ``paths``: callee → caller, with calls.

    Parameters
    ----------
    paths
        Span files of one format (see :mod:`causal_attrib.inputs.traces`).
    trace_format, columns, service_from
        How to read them: :class:`~causal_attrib.inputs.traces.SpanSource`.
    min_calls
        Edges with fewer calls are left out (with a note).
    cycles
        A :class:`~causal_attrib.choices.CycleRule`: ``drop`` or ``lag`` (module docs).
    progress
        Called with a message after each batch of spans read.

    Returns
    -------
    ServiceGraph
        Every service seen, and the edges, in name order.
    """
    require_count(min_calls, "--min-calls", 1, MAX_COUNT)
    rule = parse_choice(CycleRule, cycles, "--cycles")
    linker = SpanLinker(SpanSource(list(paths), trace_format, columns, service_from), progress)
    calls: dict[tuple[str, str], int] = {}
    kept = 0
    for spans, _ in linker:
        kept += len(spans)
        names = linker.names
        for (a, b), n in spans.calls().items():
            calls[names[a], names[b]] = calls.get((names[a], names[b]), 0) + n
    notes = linker.notes()
    graph = nx.DiGraph()
    graph.add_nodes_from(sorted(linker.names))
    rare = []
    for (caller, callee), n in sorted(calls.items()):
        if n >= min_calls:
            graph.add_edge(callee, caller, calls=n)
        else:
            rare.append(f"{callee} -> {caller} ({n})")
    if rare:
        notes.append(f"{len(rare)} edge(s) with fewer than {min_calls} calls left out: "
                     + ", ".join(rare))  # fmt: skip
    keep = rule == CycleRule.LAG
    removed = _break_cycles(graph, notes, keep)
    edges = [CallEdge(u, v, d["calls"]) for u, v, d in graph.edges(data=True)]
    edges += [CallEdge(u, v, n, lag=1) for u, v, n in removed if keep]
    edges.sort(key=lambda e: (e.cause, e.effect, e.lag))
    return ServiceGraph(tuple(sorted(linker.names)), tuple(edges), kept, tuple(notes))


def _break_cycles(graph: nx.DiGraph, notes: list[str], keep: bool) -> list[tuple]:
    """Remove an edge of each cycle by the module's rule; the removed ``(u, v, calls)``."""
    removed = []
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return removed
        candidates = sorted(((a, b, graph.edges[a, b]["calls"]) for a, b in cycle), reverse=True)
        u, v, n = min(candidates, key=lambda e: e[2])  # the fewest; ties: last in name order
        graph.remove_edge(u, v)
        removed.append((u, v, n))
        loop = " -> ".join([a for a, _ in cycle] + [cycle[0][0]])
        fate = "kept as a lag-1 edge" if keep else "dropped"
        notes.append(f"calls form a cycle ({loop}): {u} -> {v} ({n} calls, the fewest) {fate}")


def parse_window(text: str | int) -> int:
    """A window length in nanoseconds from ``"1m"``, ``"30s"``, ``"500ms"``, ``"1h"`` (a bare
    number is seconds)."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*", str(text))
    if found is None:
        raise InputError(
            f"window {text!r} is not a duration: write e.g. 1m, 30s, 500ms or 1h",
            parameter="window",
        )
    ns = round(float(found.group(1)) * _UNITS[found.group(2) or "s"])
    if ns <= 0:
        raise InputError(f"window must be longer than 0, not {text!r}", parameter="window")
    return ns


def trace_metrics(
    paths: Sequence[str | Path],
    *,
    window: str | int = "1m",
    metric: str | None = None,
    trace_format: str | None = None,
    columns: dict[str, str] | None = None,
    service_from: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> TraceMetrics:
    """Per-service metrics per time window, from the spans in ``paths``.

    A service's requests in a window are its entry spans starting in it (see
    :mod:`causal_attrib.analyses.spans`): their count, the share that failed, and the
    p50/p90/p99 of their duration and of their self time, in milliseconds. Windows are
    aligned to multiples of their length since the Unix epoch; every window from the
    first span to the last is a row, so the series has no gaps (a service without
    requests in one has 0 requests and empty cells).

    Parameters
    ----------
    paths, trace_format, columns, service_from, progress
        As for :func:`service_graph`.
    window
        The window length (``"1m"``; :func:`parse_window`).
    metric
        One of :data:`~causal_attrib.results.traces.METRICS`: only it, one column per
        service named by the service (the graph's node names), instead of every metric
        as ``service.metric`` columns.

    Returns
    -------
    TraceMetrics
        The table, first column ``time`` (ISO 8601, UTC).
    """
    width = parse_window(window)
    if metric is not None and metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}",
                         parameter="metric")  # fmt: skip
    linker = SpanLinker(SpanSource(list(paths), trace_format, columns, service_from), progress)
    windows = _Windows(width)
    kept = 0
    for spans, bound in linker:
        kept += len(spans)
        windows.add(_requests(spans, width), bound)
        if progress is not None:
            progress(f"{kept:,} spans linked")
    notes = linker.notes() + windows.notes(linker.horizon_ns)
    table = windows.table(linker.names, notes)
    services = tuple(sorted(linker.names))
    if metric is not None:
        if metric == "error_rate" and "error_rate" not in {c.split(".")[-1] for c in table}:
            raise InputError("metric error_rate: the spans carry no status", parameter="metric")
        table = table[["time", *(f"{s}.{metric}" for s in services)]]
        table.columns = ["time", *services]
    return TraceMetrics(table, str(window), services, kept, tuple(notes))


def _requests(spans: Spans, width: int) -> pd.DataFrame:
    """One row per request (entry span): its window, service, latency, self time, error."""
    own = spans.self_times()
    rows = np.flatnonzero(spans.entry)
    return pd.DataFrame(
        {
            "window": spans.start[rows] // width,
            "service": spans.service[rows],
            "latency": (spans.end[rows] - spans.start[rows]) / 1e6,
            "self": own[rows] / 1e6,
            "error": spans.error[rows],
        }
    )


class _Windows:
    """Requests gathered by window; a window is summarised once no later span can start
    in it (the linker's bound), and its requests let go."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.held: list[pd.DataFrame] = []
        self.done: list[pd.DataFrame] = []
        self.closed: int | None = None  # windows below this are summarised
        self.first = self.last = None
        self.known = True
        self.late = 0

    def add(self, requests: pd.DataFrame, bound: int | None) -> None:
        if self.closed is not None:
            late = requests["window"].to_numpy() < self.closed
            self.late += int(late.sum())
            requests = requests[~late]
        if len(requests):
            low, high = int(requests["window"].min()), int(requests["window"].max())
            self.first = low if self.first is None else min(self.first, low)
            self.last = high if self.last is None else max(self.last, high)
            self.known = self.known and bool((requests["error"] >= 0).all())
        self.held.append(requests)
        held = pd.concat(self.held, ignore_index=True)
        limit = None if bound is None else bound // self.width
        ready = np.ones(len(held), dtype=bool) if limit is None else held["window"] < limit
        if ready.any():
            self.done.append(_summary(held[ready]))
        self.held = [held[~ready]]
        if limit is None:
            return
        self.closed = limit if self.closed is None else max(self.closed, limit)

    def notes(self, horizon_ns: int) -> list[str]:
        if not self.late:
            return []
        wait = f"{horizon_ns / 60e9:g} min" if horizon_ns >= 60e9 else f"{horizon_ns / 1e9:g} s"
        return [f"{self.late:,} request(s) (their whole traces) came more than {wait} after "
                "spans that started later, when their window was done: left out"]  # fmt: skip

    def table(self, names: list[str], notes: list[str]) -> pd.DataFrame:
        """The wide table: one row per window, ``service.metric`` columns."""
        if self.first is None:
            raise InputError("no requests in the spans")
        first, last = self.first, self.last
        if last - first + 1 > MAX_WINDOWS:
            raise InputError(
                f"window is too short for spans over this long: {last - first + 1:,} "
                f"windows (at most {MAX_WINDOWS:,})",
                parameter="window",
            )
        if not self.known:
            notes.append("the spans carry no status (or not all of them): no error_rate columns")
        long = pd.concat(self.done)
        index = pd.RangeIndex(first, last + 1, name="window")
        out = {"time": _stamps(index.to_numpy() * self.width, self.width)}
        for code in sorted(range(len(names)), key=lambda c: names[c]):
            try:
                mine = long.xs(code, level="service").reindex(index)
            except KeyError:
                mine = pd.DataFrame(index=index, columns=list(long.columns), dtype=float)
            for metric in METRICS:
                if metric == "error_rate" and not self.known:
                    continue
                values = mine[metric]
                if metric == "requests":
                    values = values.fillna(0).astype(np.int64)
                else:  # nanoseconds are the spans' resolution: 6 decimals of a millisecond
                    values = values.astype(float).round(6)
                out[f"{names[code]}.{metric}"] = values.to_numpy()
        return pd.DataFrame(out)


def _summary(requests: pd.DataFrame) -> pd.DataFrame:
    """Per (window, service): the :data:`METRICS` of its requests."""
    groups = requests.groupby(["window", "service"], sort=True)
    parts = {"requests": groups.size(), "error_rate": groups["error"].mean()}
    for column in ("latency", "self"):
        q = groups[column].quantile([0.5, 0.9, 0.99]).unstack()
        for level, label in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
            parts[f"{column}_{label}_ms"] = q[level] if level in q else pd.Series(dtype=float)
    return pd.DataFrame(parts)


def _stamps(ns: np.ndarray, width: int) -> list[str]:
    """ISO 8601 UTC times of window starts (fractions of a second only when needed)."""
    times = pd.to_datetime(ns, unit="ns", utc=True)
    fmt = "%Y-%m-%dT%H:%M:%SZ" if width % 10**9 == 0 else "%Y-%m-%dT%H:%M:%S.%fZ"
    return list(times.strftime(fmt))
