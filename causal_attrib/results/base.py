"""What every result shares: the schema version and envelope, stable numbers, the
:class:`Result` protocol, and the raw values a picture of a result needs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    import networkx as nx
    import numpy as np
    import pandas as pd


SCHEMA_VERSION = "2.0"
"""Version of every JSON report's layout (``schema_version``); the schemas in
``causal_attrib/schemas/`` describe it."""

ENVELOPE = ("schema_version", "command")
"""The keys every JSON report opens with."""


def envelope(command: str) -> dict[str, str]:
    """The opening keys of a JSON report."""
    return {"schema_version": SCHEMA_VERSION, "command": command}


def without_envelope(report: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON report nested in another (a segment's, a graph check's): no envelope."""
    return {k: v for k, v in report.items() if k not in ENVELOPE}


@runtime_checkable
class Result(Protocol):
    """What every analysis returns: a sentence, a JSON-ready dict and a table.

    Renderers are chosen by the result's type (:mod:`causal_attrib.rendering`), and the
    CLI's JSON is exactly ``to_dict()`` serialised.
    """

    command: ClassVar[str]
    settings: Mapping[str, Any]
    notes: tuple[str, ...]

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict."""
        ...

    def to_frame(self) -> pd.DataFrame:
        """The main ranking as a DataFrame."""
        ...


class Displayable:
    """Gives a result ``_repr_html_``: a notebook shows its HTML report's body inline.

    Results sit below rendering in the pipeline, so the HTML renderer is found by name when
    a notebook asks to display one (the one place a result reaches for rendering; nothing
    else here imports it)."""

    def _repr_html_(self) -> str:
        import importlib

        return importlib.import_module("causal_attrib.rendering.html").notebook_html(self)


def stable_float(x: float | None) -> float | None:
    """Round to 12 significant digits so output is stable across BLAS builds and platforms;
    NaN and infinities become ``None`` (JSON has no such numbers)."""
    if x is None:
        return None
    x = float(x)
    return float(f"{x:.12g}") if math.isfinite(x) else None


@dataclass(frozen=True)
class ReportData:
    """What a picture of a result needs beyond its JSON: the graph and some raw values.

    Results carry it in a ``report_data`` field that is left out of ``to_dict()``,
    equality and ``repr``, so the JSON report stays small and stable.

    Attributes
    ----------
    graph
        The causal graph the analysis used.
    samples
        Per node, the values of the two tables compared (before/after, or
        reference/anomalous rows): the target and the nodes that matter most.
    periods
        Names of the two tables, for legends.
    series
        Time-series mode: per shown node, its whole series in time order.
    windows
        Time-series mode: ``(first row, end row, label)`` of each period or incident,
        half-open row ranges of ``series``.
    span
        Time-series mode: the first and last time of ``series``, as written.
    """

    graph: nx.DiGraph
    samples: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    periods: tuple[str, str] = ("before", "after")
    series: Mapping[str, np.ndarray] = field(default_factory=dict)
    windows: tuple[tuple[int, int, str], ...] = ()
    span: tuple[str, str] = ("", "")
