"""The result of ``influence``: how much of the target's spread each node's own noise
contributes (intrinsic causal contributions, Janzing et al.)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .base import Displayable, ReportData, envelope
from .base import stable_float as _num


@dataclass(frozen=True)
class NodeInfluence:
    """One node's intrinsic contribution: the Shapley share of the target's statistic owed
    to the node's own noise (what was new at the node, not what it passed on)."""

    node: str
    contribution: float
    share: float | None

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "node": self.node,
            "contribution": _num(self.contribution),
            "share": _num(self.share),
        }


@dataclass(frozen=True)
class EdgeStrength:
    """How much of ``target``'s variance flows through the edge ``source -> target``: its
    growth when the edge is cut (``source`` fed an independent draw of itself)."""

    source: str
    target: str
    strength: float
    share: float | None

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "source": self.source,
            "target": self.target,
            "strength": _num(self.strength),
            "share": _num(self.share),
        }


@dataclass(frozen=True)
class InfluenceResult(Displayable):
    """The answer of :func:`causal_attrib.intrinsic_influence`.

    ``total`` is the target's statistic in the fitted model; the contributions add up to it
    (efficiency).
    """

    command: ClassVar[str] = "influence"

    target: str
    statistic: str
    target_level: str | None
    total: float
    observed: float
    nodes: tuple[NodeInfluence, ...]
    settings: Mapping[str, Any]
    rows: Mapping[str, int]
    notes: tuple[str, ...] = ()
    report_data: ReportData | None = field(default=None, repr=False, compare=False)
    edges: tuple[EdgeStrength, ...] | None = None

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        spread = {
            "var": "variance",
            "std": "standard deviation",
            "mean-abs-deviation": "mean absolute deviation",
        }.get(self.statistic, f"{self.statistic} absolute deviation from the median")
        what = (
            f"{spread} of {self.target}"
            if self.target_level is None
            else f"{spread} of {self.target} = {self.target_level!r}"
        )
        head = f"The {what} is {self.total:.4g} in the fitted model"
        lead = self.nodes[0] if self.nodes else None
        if lead is None or lead.share is None:
            return head + "."
        return f"{head}; {lead.share * 100:.0f} % of it comes from {lead.node}'s own noise."

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints)."""
        return {
            **envelope(self.command),
            "target": self.target,
            "statistic": self.statistic,
            "target_level": self.target_level,
            "summary": self.summary,
            "figures": {"total": _num(self.total), "observed": _num(self.observed)},
            "rows": dict(self.rows),
            "settings": dict(self.settings),
            "nodes": [n.to_dict() for n in self.nodes],
            "notes": list(self.notes),
        } | ({} if self.edges is None else {"edges": [e.to_dict() for e in self.edges]})

    def to_frame(self) -> pd.DataFrame:
        """Nodes as a DataFrame indexed by node, largest contribution first."""
        columns = ["node", "contribution", "share"]
        return pd.DataFrame([n.to_dict() for n in self.nodes], columns=columns).set_index("node")
