"""The result of ``explain --by``: every segment's explanation, and the (segment, node)
pairs that account for most of the overall change."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from .base import Displayable, envelope, without_envelope
from .base import stable_float as _num
from .explain import ExplainResult, change_phrase


@dataclass(frozen=True)
class Segment:
    """One segment's rows, weight and result (or why it was skipped).

    Attributes
    ----------
    key
        The segment's value of each ``by`` column (as text; empty cells are ``(missing)``).
    rows
        Rows in the before and after periods.
    weight_before, weight_after
        The segment's share of its period's rows.
    result
        Its :class:`~causal_attrib.ExplainResult`, or ``None`` when skipped.
    skipped
        Why the segment was not explained, or ``None``.
    """

    key: Mapping[str, str]
    rows: Mapping[str, int]
    weight_before: float
    weight_after: float
    result: ExplainResult | None = None
    skipped: str | None = None

    @property
    def label(self) -> str:
        """``col=value, col=value``."""
        return ", ".join(f"{k}={v}" for k, v in self.key.items())

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        result = None if self.result is None else without_envelope(self.result.to_dict())
        return {
            "segment": dict(self.key),
            "label": self.label,
            "rows": dict(self.rows),
            "weight_before": _num(self.weight_before),
            "weight_after": _num(self.weight_after),
            "skipped": self.skipped,
            "result": result,
        }


@dataclass(frozen=True)
class SegmentPair:
    """How much one node's changed mechanism in one segment moved the overall statistic."""

    segment: str
    node: str
    contribution: float
    share: float | None

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "segment": self.segment,
            "node": self.node,
            "contribution": _num(self.contribution),
            "share": _num(self.share),
        }


@dataclass(frozen=True)
class SegmentedResult(Displayable):
    """The answer of :func:`explain_segments`.

    ``pairs`` ranks (segment, node) pairs by the part of the overall change they account
    for; ``exact`` says whether those parts add up (mean and level shares) or are weighted
    approximations (other statistics).
    """

    command: ClassVar[str] = "segments"

    target: str
    statistic: str
    target_level: str | None
    by: tuple[str, ...]
    segments: tuple[Segment, ...]
    pairs: tuple[SegmentPair, ...]
    overall_before: float
    overall_after: float
    exact: bool
    mix: float | None
    gaps: float
    skipped_change: float | None
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = field(default=())

    @property
    def overall_change(self) -> float:
        """Observed overall after minus before (all rows, every segment)."""
        return self.overall_after - self.overall_before

    @property
    def explained(self) -> tuple[Segment, ...]:
        """Segments that were explained."""
        return tuple(s for s in self.segments if s.result is not None)

    @property
    def skipped(self) -> tuple[Segment, ...]:
        """Segments that were not, with why."""
        return tuple(s for s in self.segments if s.result is None)

    @property
    def changed_ancestors(self) -> list[str]:
        """``segment: node`` for every changed ancestor of the target in any segment."""
        return [f"{s.label}: {n}" for s in self.explained for n in s.result.changed_ancestors]

    def fails_change_gate(self) -> bool:
        """What ``--fail-on-change`` checks: a changed ancestor in any segment, or no
        segment explained at all (a gate must not pass because it could not look)."""
        return bool(self.changed_ancestors) or not self.explained

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        change = self.overall_change
        head = change_phrase(self.statistic, self.target, self.target_level, change)
        if change:
            head += f" by {change if change > 0 else -change:.4g} overall"
        n = len(self.segments)
        head += f" over {n} segment{'s' if n != 1 else ''}"
        if self.skipped:
            head += f" ({len(self.skipped)} skipped)"
        lead = next((p for p in self.pairs if p.contribution), None)
        if not self.explained:
            return head + "; no segment could be explained, so nothing was tested."
        if lead is None:
            return head + "; no changed mechanism upstream of it in any segment."
        part = f" ({abs(lead.share) * 100:.0f} % of it)" if lead.share is not None else ""
        approx = "" if self.exact else ", weighted by rows"
        return (
            f"{head}; the largest part, {lead.contribution:.4g}{part}{approx}, comes from "
            f"a changed mechanism at {lead.node} in {lead.segment}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints with ``--by``)."""
        return {
            **envelope(self.command),
            "target": self.target,
            "statistic": self.statistic,
            "target_level": self.target_level,
            "by": list(self.by),
            "summary": self.summary,
            "exact": self.exact,
            "figures": {
                "overall_before": _num(self.overall_before),
                "overall_after": _num(self.overall_after),
                "overall_change": _num(self.overall_change),
                "pairs_total": _num(sum(p.contribution for p in self.pairs)),
                "gaps": _num(self.gaps),
                "mix": _num(self.mix),
                "skipped_change": _num(self.skipped_change),
            },
            "changed_ancestors": self.changed_ancestors,
            "pairs": [p.to_dict() for p in self.pairs],
            "segments": [s.to_dict() for s in self.segments],
            "settings": dict(self.settings),
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """The (segment, node) pairs as a DataFrame, largest first."""
        columns = ["segment", "node", "contribution", "share"]
        return pd.DataFrame([p.to_dict() for p in self.pairs], columns=columns)
