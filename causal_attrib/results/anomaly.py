"""The result of ``anomaly``: each row's target score and root causes, and the causes
ranked over the window."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .base import Displayable, ReportData, envelope
from .base import stable_float as _num
from .comparison import Comparison


@dataclass(frozen=True)
class RootCause:
    """One node's part in an anomaly.

    Attributes
    ----------
    node
        Node name.
    contribution
        Shapley share of the target's anomaly score owed to this node's own noise.
    score
        The node's own anomaly score: how unusual its value was *given its parents*.
    standard_error
        Of ``contribution``, when a row's orderings were sampled (``None``: every ordering
        was walked, or a mean over rows).
    """

    node: str
    contribution: float
    score: float | None
    standard_error: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = {
            "node": self.node,
            "contribution": _num(self.contribution),
            "score": _num(self.score),
        }
        if self.standard_error is not None:
            out["standard_error"] = _num(self.standard_error)
        return out


@dataclass(frozen=True)
class RowResult:
    """The analysis of one anomalous row.

    Attributes
    ----------
    row
        Label of the row (``--id-column`` value, else its 1-based number).
    target_value
        The target's value in the row (``None`` if not measured).
    target_score
        IT anomaly score of the target against the reference.
    anomalous
        Whether ``target_score`` reaches the row threshold.
    root_causes
        Players ranked by contribution (empty when the row was not attributed).
    unattributed
        Part of the score no player got: what nodes the row does not measure leave (their
        noise stays random), and, in rows with more than 15 measured ancestors, the nodes
        whose own noise was typical or not among the 20 most unusual (not players: their
        noise stays random too).
    unmeasured
        Ancestors of the target (or the target) that the row does not measure.
    """

    row: str
    target_value: Any
    target_score: float | None
    anomalous: bool
    root_causes: tuple[RootCause, ...]
    unattributed: float | None
    unmeasured: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        value = self.target_value
        return {
            "row": self.row,
            "target_value": value if isinstance(value, str) or value is None else _num(value),
            "target_score": _num(self.target_score),
            "anomalous": self.anomalous,
            "root_causes": [c.to_dict() for c in self.root_causes],
            "unattributed": _num(self.unattributed),
            "unmeasured": list(self.unmeasured),
        }


@dataclass(frozen=True)
class Unusualness:
    """How unusual one candidate's own noise (innovation) was over the window.

    Attributes
    ----------
    node
        Node name.
    deviation
        Largest ``|noise - centre| / spread`` over the window, in robust SDs of its clean
        reference noise (spread at least the metric's resolution).
    score
        The same in nats, capped at ``ln(n + 1)`` for ``n`` clean reference rows.
    excluded
        Reference rows left out of the node's calibration as earlier excursions.
    """

    node: str
    deviation: float
    score: float
    excluded: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "node": self.node,
            "deviation": _num(self.deviation),
            "score": _num(self.score),
            "excluded": self.excluded,
        }


@dataclass(frozen=True)
class Ranking:
    """Which path ranked the causes, and why (see docs/anomaly.md, "How causes are ranked").

    Attributes
    ----------
    by
        ``"attribution"`` (the Shapley split of the target's score, when the target is
        anomalous), ``"lead"`` (the split over the most unusual rows, when it is not: rows,
        and incidents whose target passed the single-row level) or ``"unusualness"`` (the
        candidates' own noise, for incidents whose target did not).
    reason
        One sentence saying why this path ranked.
    nodes
        Every candidate's :class:`Unusualness`, most unusual first.
    """

    by: str
    reason: str
    nodes: tuple[Unusualness, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"by": self.by, "reason": self.reason, "nodes": [u.to_dict() for u in self.nodes]}


def _incident_words(incident: Mapping[str, Any]) -> str:
    """How a time-mode summary names the incident window."""
    how = "found automatically" if incident["auto"] else "as given"
    return f" of the incident {incident['start']} to {incident['end']} ({how})"


@dataclass(frozen=True)
class AnomalyResult(Displayable):
    """Everything :func:`attribute_anomalies` found; ``to_dict()`` is the CLI's JSON.

    Attributes
    ----------
    target
        The node whose anomaly is explained.
    rows
        One :class:`RowResult` per anomalous-table row.
    causes
        Mean contribution per node over the attributed rows, ranked.
    threshold, row_threshold
        The family-wise threshold and the per-row score it implies
        (``threshold + ln(rows)``, Bonferroni over the rows).
    settings, notes
        What was run, and what the user should know.
    report_data
        The graph and the reference and anomalous values of the target and the top
        causes, for the HTML report; not part of ``to_dict()``.
    """

    command: ClassVar[str] = "anomaly"

    target: str
    rows: tuple[RowResult, ...]
    causes: tuple[RootCause, ...]
    threshold: float
    row_threshold: float
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    report_data: ReportData | None = field(default=None, repr=False, compare=False)
    comparison: Comparison | None = None
    below_threshold: bool = False
    time_mode: Mapping[str, Any] | None = None
    """Time-series mode: time column, lag order, and the incident window with how it was
    chosen (and, for ``auto``, the evidence)."""
    ranking: Ranking | None = None
    """Which path ranked :attr:`causes` (attribution or the candidates' own unusualness)."""

    @property
    def anomalous_rows(self) -> list[str]:
        """Labels of the rows whose target score reached the row threshold."""
        return [r.row for r in self.rows if r.anomalous]

    @property
    def max_score(self) -> float:
        """The largest target score over the rows."""
        return max((r.target_score for r in self.rows if r.target_score is not None), default=0.0)

    @property
    def blame_total(self) -> float:
        """Sum of the positive contributions of the causes (what shares are relative to)."""
        return float(sum(c.contribution for c in self.causes if c.contribution > 0))

    @property
    def top_cause(self) -> str | None:
        """The node ranked first over the window, if any row was attributed."""
        return self.causes[0].node if self.causes else None

    @property
    def summary(self) -> str:
        """One sentence for humans: is the target anomalous, and whose noise made it so
        (node names as Markdown `code`)."""
        n = len(self.rows)
        k = len(self.anomalous_rows)
        rows = "row" if n == 1 else "rows"
        if self.time_mode is not None:
            rows += _incident_words(self.time_mode["incident"])
        # a time-mode incident says how it was chosen ("as given"): no second "given"
        where = f"the {n} {rows}" + ("" if self.time_mode is not None else " given")
        if k == 0:
            head = (
                f"`{self.target}` is not significantly anomalous in {where} "
                f"(highest score {self.max_score:.3g}, threshold {self.row_threshold:.3g})"
            )
            if not (self.below_threshold and self.causes):
                return head + "; no root cause to name."
            lead = self.causes[0]
            if self.ranking is not None and self.ranking.by == "unusualness":
                return (
                    f"{head}; the candidate whose own behaviour was most unusual is "
                    f"`{lead.node}`, a lead rather than a finding."
                )
            return (
                f"{head}; in its most unusual rows the leading cause is `{lead.node}`, "
                "below the threshold, so treat it as a lead rather than a finding."
            )
        lead = self.causes[0] if self.causes else None
        blame = self.blame_total
        share = f" ({lead.contribution / blame * 100:.0f} % of the blame)" if lead and blame else ""
        cause = f"; root cause: `{lead.node}`{share}" if lead else ""
        return (
            f"`{self.target}` is anomalous in {k} of {n} {rows} (highest score "
            f"{self.max_score:.3g}, threshold {self.row_threshold:.3g}){cause}."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the CLI's ``--format json`` is exactly this, serialised)."""
        return (
            {
                **envelope(self.command),
                "target": self.target,
                "summary": self.summary,
                "threshold": _num(self.threshold),
                "row_threshold": _num(self.row_threshold),
                "anomalous_rows": self.anomalous_rows,
                "anomalies": [r.to_dict() for r in self.rows],
                "causes": [c.to_dict() for c in self.causes],
                "causes_below_threshold": self.below_threshold,
                "settings": dict(self.settings),
                "notes": list(self.notes),
            }
            | ({"dowhy_comparison": self.comparison.to_dict()} if self.comparison else {})
            | ({"time_mode": dict(self.time_mode)} if self.time_mode is not None else {})
            | ({"ranking": self.ranking.to_dict()} if self.ranking is not None else {})
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per (anomalous row, node) with contribution and node score."""
        records = [
            {
                "row": r.row,
                "target_score": r.target_score,
                "rank": rank,
                "node": c.node,
                "contribution": c.contribution,
                "score": c.score,
            }
            for r in self.rows
            for rank, c in enumerate(r.root_causes, start=1)
        ]
        columns = ["row", "target_score", "rank", "node", "contribution", "score"]
        return pd.DataFrame.from_records(records, columns=columns)


def ranked(causes: Iterable[RootCause]) -> tuple[RootCause, ...]:
    """Largest contribution first; ties (to 12 digits) by name, so output is stable."""
    return tuple(sorted(causes, key=lambda c: (-round(c.contribution, 12), c.node)))


def rank_causes(rows: Iterable[RowResult]) -> tuple[RootCause, ...]:
    """Mean contribution per node over the attributed rows; node score is its maximum.

    :attr:`AnomalyResult.causes` is this over all rows; pass a subset (e.g. only the
    anomalous rows of an ``attribute="all"`` run) to rank over those instead.
    """
    attributed = [r for r in rows if r.root_causes]
    if not attributed:
        return ()
    total: dict[str, float] = {}
    score: dict[str, float] = {}
    for r in attributed:
        for c in r.root_causes:
            total[c.node] = total.get(c.node, 0.0) + c.contribution
            if c.score is not None:
                score[c.node] = max(score.get(c.node, 0.0), c.score)
    return ranked(RootCause(n, v / len(attributed), score.get(n)) for n, v in total.items())
