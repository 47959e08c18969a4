"""A second opinion: DoWhy's reference method on the same inputs, beside ours."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .base import stable_float as _num


@dataclass(frozen=True)
class Comparison:
    """Both rankings and how far they agree.

    Attributes
    ----------
    method
        The DoWhy call that ran (e.g. ``dowhy.gcm.distribution_change``).
    ours, theirs
        Each node's figure, ours and DoWhy's (the same quantity: contribution to the change
        of the statistic, or to the anomaly score summed over the attributed rows).
    same_top
        Whether both put the same node first (by absolute figure for a change, by figure
        for an anomaly).
    rank_correlation
        Spearman correlation of the two figures over the nodes both rank (``None`` with
        fewer than three nodes or a constant figure).
    seconds
        DoWhy's wall time (not in :meth:`to_dict`: reports stay byte-identical per seed).
    error
        Why DoWhy could not run (then ``theirs`` is empty).
    """

    method: str
    ours: Mapping[str, float]
    theirs: Mapping[str, float] = field(default_factory=dict)
    same_top: bool | None = None
    rank_correlation: float | None = None
    seconds: float = 0.0
    error: str | None = None
    by_size: bool = True

    def ranking(self, figures: Mapping[str, float]) -> list[str]:
        """Nodes largest first (by absolute value for a change), ties by name."""
        key = (lambda n: -abs(figures[n])) if self.by_size else (lambda n: -figures[n])
        return sorted(figures, key=lambda n: (key(n), n))

    @property
    def summary(self) -> str:
        """One sentence on the agreement."""
        if self.error:
            return f"DoWhy could not run: {self.error}"
        ours, theirs = self.ranking(self.ours), self.ranking(self.theirs)
        top = "the same top node" if self.same_top else "different top nodes"
        rho = (
            f", rank correlation {self.rank_correlation:.2f}"
            if self.rank_correlation is not None
            else ""
        )
        return (
            f"{self.method} and causal-attrib name {top} "
            f"({ours[0] if ours else '-'} / {theirs[0] if theirs else '-'}){rho}."
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``dowhy_comparison`` block of the JSON report."""
        ours, theirs = self.ranking(self.ours), self.ranking(self.theirs)
        return {
            "method": self.method,
            "summary": self.summary,
            "same_top": self.same_top,
            "rank_correlation": _num(self.rank_correlation),
            "error": self.error,
            "nodes": [
                {
                    "node": n,
                    "ours": _num(self.ours.get(n)),
                    "dowhy": _num(self.theirs.get(n)),
                    "rank_ours": ours.index(n) + 1 if n in ours else None,
                    "rank_dowhy": theirs.index(n) + 1 if n in theirs else None,
                }
                for n in sorted(set(ours) | set(theirs), key=lambda n: _order(n, ours, theirs))
            ],
        }


def _order(node: str, ours: list[str], theirs: list[str]) -> tuple:
    """Our ranking first, then nodes only DoWhy ranks (in DoWhy's order)."""
    if node in ours:
        return (0, ours.index(node), node)
    return (1, theirs.index(node), node)
