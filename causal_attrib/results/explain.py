"""The result of ``explain``: figures before and after, and the ranked nodes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .base import Displayable, ReportData, envelope, without_envelope
from .base import stable_float as _num
from .check import CheckResult
from .comparison import Comparison


@dataclass(frozen=True)
class NodeResult:
    """One node's part in the change.

    Attributes
    ----------
    node
        Node name.
    contribution
        Shapley value: how much swapping this node's old mechanism for its new one moved the
        target statistic, averaged fairly over all orders of swapping.
    changed
        Whether the change test flagged the mechanism (``q_value <= alpha``).
    p_value, q_value
        Change test p-value and its Benjamini-Hochberg adjustment over all nodes.
    mechanism
        The model family used for the node.
    ancestor
        Whether the node can influence the target (an ancestor, or the target itself).
    share
        ``contribution`` as a fraction of the fitted change (None when that is zero).
    interval
        Bootstrap percentile interval of ``contribution``, when requested.
    tests
        Component p-values of the change test.
    effect
        Size of the change whatever its significance (``None`` when the test measures
        none, as for categorical nodes): the larger of the shift of the node's conditional
        mean in noise standard deviations and the log ratio of its noise spreads.
    effects
        The effect by part (``mean``, ``scale``).
    overlap
        Share of rows whose parents lie in the range the other period saw (the smaller of
        both directions; ``None`` for a root).
    extrapolated
        Whether this contribution rests on a fit evaluated outside its data: a node on
        the way from this one to the target has overlap below 0.9.
    standard_error
        Monte Carlo standard error of ``contribution`` when orderings were sampled (more
        than ``max_exact_players`` players); ``None`` for exact values.
    """

    node: str
    contribution: float
    changed: bool
    p_value: float
    q_value: float
    mechanism: str
    ancestor: bool
    share: float | None = None
    interval: tuple[float, float] | None = None
    tests: Mapping[str, float] = field(default_factory=dict)
    effect: float | None = None
    effects: Mapping[str, float] = field(default_factory=dict)
    overlap: float | None = None
    extrapolated: bool = False
    standard_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``nodes`` items of the JSON report)."""
        out: dict[str, Any] = {
            "node": self.node,
            "contribution": _num(self.contribution),
            "share": _num(self.share),
            "changed": self.changed,
            "p_value": _num(self.p_value),
            "q_value": _num(self.q_value),
            "mechanism": self.mechanism,
            "ancestor": self.ancestor,
            "tests": {k: _num(v) for k, v in sorted(self.tests.items())},
            "effect": _num(self.effect),
            "effects": {k: _num(v) for k, v in sorted(self.effects.items())},
            "overlap": _num(self.overlap),
            "extrapolated": self.extrapolated,
        }
        if self.interval is not None:
            out["interval_low"] = _num(self.interval[0])
            out["interval_high"] = _num(self.interval[1])
        if self.standard_error is not None:
            out["standard_error"] = _num(self.standard_error)
        return out


@dataclass(frozen=True)
class ExplainResult(Displayable):
    """The answer of :func:`explain`: figures before/after and the ranked nodes.

    ``fitted_after - fitted_before`` equals the sum of the contributions (efficiency);
    ``gap`` is how far that fitted change is from the observed one. ``check`` holds the
    graph check of the before data when :func:`explain` ran with ``check=True``.
    ``report_data`` (the graph and the values of the target and the top nodes) feeds the
    HTML report and is not part of ``to_dict()``.
    """

    command: ClassVar[str] = "explain"

    target: str
    statistic: str
    target_level: str | None
    observed_before: float
    observed_after: float
    fitted_before: float
    fitted_after: float
    nodes: tuple[NodeResult, ...]
    settings: Mapping[str, Any]
    rows: Mapping[str, int]
    notes: tuple[str, ...] = ()
    fitted_change_interval: tuple[float, float] | None = None
    check: CheckResult | None = None
    comparison: Comparison | None = None
    untested: tuple[str, ...] = ()
    """Nodes whose mechanism change could not be tested (their parents share too little
    range between the periods): the headline names them instead of blaming chance."""
    report_data: ReportData | None = field(default=None, repr=False, compare=False)
    time_mode: Mapping[str, Any] | None = None
    """Time-series mode: the time column, lag order (and how it was chosen), the periods'
    windows and the simulations' burn-in; ``None`` for rows without a time order."""
    level_changes: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=dict, repr=False
    )
    """Categorical nodes whose levels appeared or vanished in the after data (the summary
    says so for the node it names; the notes list them all)."""

    @property
    def observed_change(self) -> float:
        """Observed after minus observed before."""
        return self.observed_after - self.observed_before

    @property
    def fitted_change(self) -> float:
        """Change reproduced by the fitted models (= sum of contributions)."""
        return self.fitted_after - self.fitted_before

    @property
    def gap(self) -> float:
        """Observed change the fitted mechanism changes do not account for."""
        return self.observed_change - self.fitted_change

    @property
    def changed_nodes(self) -> list[str]:
        """Nodes whose mechanism was flagged as changed, in ranking order."""
        return [n.node for n in self.nodes if n.changed]

    @property
    def changed_ancestors(self) -> list[str]:
        """Flagged nodes that can influence the target (what ``--fail-on-change`` checks)."""
        return [n.node for n in self.nodes if n.changed and n.ancestor]

    def fails_change_gate(self) -> bool:
        """What ``--fail-on-change`` checks: a flagged mechanism can move the target."""
        return bool(self.changed_ancestors)

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        return self.headline()

    def headline(self, markdown: bool = False) -> str:
        """The summary sentence; with ``markdown``, node names are set as `code`."""

        def name(node: str) -> str:
            return f"`{node}`" if markdown else node

        change = self.observed_change
        head = change_phrase(self.statistic, name(self.target), self.target_level, change)
        if change:
            head += f" by {_fmt(abs(change))} (from {_fmt(self.observed_before)} to "
            head += f"{_fmt(self.observed_after)})"
        drivers = [n for n in self.nodes if n.ancestor and n.changed]
        if not drivers and self.untested:
            names = ", ".join(f"`{n}`" for n in self.untested[:5])
            more = f" and {len(self.untested) - 5} more" if len(self.untested) > 5 else ""
            return (
                f"{head}; no mechanism that could be tested changed detectably, and {names}"
                f"{more} could not be tested (their parents share too little range between "
                "the periods), so the change may lie there."
            )
        if not drivers:
            return head + "; no mechanism upstream of it changed detectably."
        top = max(drivers, key=lambda n: abs(n.contribution))
        if top.share is not None and self.fitted_change:
            return (
                f"{head}; {abs(top.share) * 100:.0f} % of the modelled change comes from a "
                f"changed mechanism at {name(top.node)}{self.support_phrase(top.node)}."
            )
        if top.contribution and top.share is None:
            parts = ", ".join(f"{name(n.node)} ({_fmt(n.contribution)})" for n in drivers[:4])
            return f"{head}; changed mechanisms upstream cancel out: {parts}."
        return f"{head}; changed mechanisms upstream: {', '.join(name(n.node) for n in drivers)}."

    def support_phrase(self, node: str) -> str:
        """`` (a level appeared: 'x')`` when ``node``'s levels changed, else empty."""
        appeared, vanished = self.level_changes.get(node, ((), ()))
        parts = [
            f"{len(levels)} level(s) {what}: {', '.join(map(repr, levels[:3]))}"
            for levels, what in ((appeared, "appeared"), (vanished, "vanished"))
            if levels
        ]
        return f" ({'; '.join(parts)})" if parts else ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints)."""
        figures = {
            "observed_before": _num(self.observed_before),
            "observed_after": _num(self.observed_after),
            "observed_change": _num(self.observed_change),
            "fitted_before": _num(self.fitted_before),
            "fitted_after": _num(self.fitted_after),
            "fitted_change": _num(self.fitted_change),
            "gap": _num(self.gap),
        }
        if self.fitted_change_interval is not None:
            figures["fitted_change_interval_low"] = _num(self.fitted_change_interval[0])
            figures["fitted_change_interval_high"] = _num(self.fitted_change_interval[1])
        out = {
            **envelope(self.command),
            "target": self.target,
            "statistic": self.statistic,
            "target_level": self.target_level,
            "summary": self.summary,
            "figures": figures,
            "rows": dict(self.rows),
            "settings": dict(self.settings),
            "changed_ancestors": self.changed_ancestors,
            "nodes": [n.to_dict() for n in self.nodes],
            "notes": list(self.notes),
        }
        if self.untested:
            out["untested"] = list(self.untested)
        if self.time_mode is not None:
            out["time_mode"] = dict(self.time_mode)
        if self.check is not None:
            out["graph_check"] = without_envelope(self.check.to_dict())
        if self.comparison is not None:
            out["dowhy_comparison"] = self.comparison.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """Nodes as a DataFrame indexed by node, in ranking order."""
        rows = []
        for n in self.nodes:
            row = n.to_dict()
            row.pop("tests")
            rows.append(row)
        return pd.DataFrame(rows).set_index("node")


def change_phrase(statistic: str, target: str, level: str | None, change: float) -> str:
    """``p95 of checkout rose`` (or ``share of x = 'yes' fell``): the start of a headline."""
    what = f"{statistic} of {target}" if level is None else f"share of {target} = {level!r}"
    verb = "rose" if change > 0 else "fell" if change < 0 else "did not change"
    return f"{what} {verb}"


def _fmt(x: float) -> str:
    return f"{x:.4g}"
