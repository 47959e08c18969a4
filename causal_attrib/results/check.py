"""The result of ``check``: a verdict, findings, tested implications, edge support, the
comparison with relabelled graphs, and suggested edges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from .base import Displayable, ReportData, envelope
from .base import stable_float as _num


class Verdict(StrEnum):
    """What ``check`` concludes about the graph (see :class:`CheckResult`)."""

    CONSISTENT = "consistent"
    VIOLATED = "violated"
    REJECTED = "rejected"
    INVALID = "invalid"
    UNTESTABLE = "untestable"


FAILING = frozenset({Verdict.VIOLATED, Verdict.REJECTED, Verdict.INVALID})


@dataclass(frozen=True)
class Finding:
    """Something about the graph's structure or its match with the data.

    ``severity`` is ``error`` (no test is possible), ``warning`` (weakens the check) or
    ``info``.
    """

    kind: str
    severity: str
    message: str
    nodes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "nodes": list(self.nodes),
        }


@dataclass(frozen=True)
class Implication:
    """One tested implication ``node ⟂ other | given`` and what the data said."""

    node: str
    other: str
    given: tuple[str, ...]
    p_value: float
    q_value: float
    violated: bool

    @property
    def text(self) -> str:
        """The statement in the usual notation."""
        given = f" | {', '.join(self.given)}" if self.given else ""
        return f"{self.node} ⟂ {self.other}{given}"

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "node": self.node,
            "other": self.other,
            "given": list(self.given),
            "statement": self.text,
            "p_value": _num(self.p_value),
            "q_value": _num(self.q_value),
            "violated": self.violated,
        }


@dataclass(frozen=True)
class EdgeSupport:
    """Whether the data shows the dependence an edge claims (given the child's other parents).

    Not being supported is weak evidence: the dependence may be real but too small for the
    rows at hand, or cancel out on average.
    """

    cause: str
    effect: str
    p_value: float
    supported: bool

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "cause": self.cause,
            "effect": self.effect,
            "p_value": _num(self.p_value),
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Baseline:
    """How the graph compares with random relabellings of its nodes.

    Attributes
    ----------
    permutations
        Relabellings compared (every one of them when ``exhaustive``).
    statements
        Implications scored per graph: all of them, or a seeded subset of
        :data:`BASELINE_STATEMENTS` positions shared by every graph on large graphs.
    given_share
        Share of the graph's testable implications rejected at level ``alpha`` (raw p).
    shares
        The same share for each relabelling.
    better_than
        Fraction of relabellings whose share is strictly larger (that fit worse).
    p_value
        Permutation p-value of "the graph fits no better than a random relabelling".
    equivalent
        Fraction of relabellings Markov-equivalent to the graph (they imply the same
        independences, so they cannot be told apart); at ``alpha`` or above the comparison
        is uninformative.
    """

    permutations: int
    exhaustive: bool
    statements: int
    given_share: float
    shares: tuple[float, ...]
    better_than: float
    p_value: float
    equivalent: float
    informative: bool

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        shares = np.asarray(self.shares) if self.shares else np.zeros(1)
        return {
            "permutations": self.permutations,
            "exhaustive": self.exhaustive,
            "statements": self.statements,
            "given_share": _num(self.given_share),
            "median_share": _num(float(np.median(shares))),
            "share_quantiles": {
                k: _num(float(np.quantile(shares, q)))
                for k, q in (("p05", 0.05), ("p25", 0.25), ("p75", 0.75), ("p95", 0.95))
            },
            "better_than": _num(self.better_than),
            "p_value": _num(self.p_value),
            "equivalent": _num(self.equivalent),
            "informative": self.informative,
        }


@dataclass(frozen=True)
class Suggestion:
    """An added edge that would remove violations (a suggestion; nothing is applied).

    ``either_direction``: the reversed edge fits as well. Observational data cannot orient
    an edge unless it forms a collider, so the direction is then the user's call.
    """

    cause: str
    effect: str
    violations_before: int
    violations_after: int
    either_direction: bool = False

    def to_dict(self) -> dict[str, Any]:  # noqa: D102
        return {
            "cause": self.cause,
            "effect": self.effect,
            "violations_before": self.violations_before,
            "violations_after": self.violations_after,
            "either_direction": self.either_direction,
        }


@dataclass(frozen=True)
class CheckResult(Displayable):
    """The answer of :func:`check_graph`.

    ``verdict`` is a :class:`Verdict`: ``consistent`` (no implication violated),
    ``violated`` (some are, but the graph fits clearly better than random relabellings),
    ``rejected`` (it does not), ``invalid`` (not a DAG) or ``untestable`` (no implication
    can be tested with these columns).
    """

    command: ClassVar[str] = "check"

    verdict: Verdict
    n_nodes: int
    n_edges: int
    findings: tuple[Finding, ...]
    implications: tuple[Implication, ...]
    untestable: int
    edges: tuple[EdgeSupport, ...]
    baseline: Baseline | None
    suggestions: tuple[Suggestion, ...]
    settings: Mapping[str, Any]
    rows: Mapping[str, int]
    notes: tuple[str, ...] = field(default=())
    report_data: ReportData | None = field(default=None, repr=False, compare=False)

    @property
    def violations(self) -> list[Implication]:
        """Violated implications, strongest (smallest p) first."""
        return [i for i in self.implications if i.violated]

    @property
    def unsupported_edges(self) -> list[EdgeSupport]:
        """Edges without detectable dependence, weakest first."""
        return [e for e in self.edges if not e.supported]

    @property
    def failed(self) -> bool:
        """What ``--fail-on-violation`` checks: invalid, violated or rejected."""
        return self.verdict in FAILING

    @property
    def summary(self) -> str:
        """One plain-language sentence for the top of a report."""
        n = len(self.implications)
        k = len(self.violations)
        alpha = self.settings["alpha"]
        fdr = f"FDR {alpha * 100:g} %"
        if self.verdict is Verdict.INVALID:
            return f"The graph is not a DAG ({self.findings[0].message}); fix it first."
        if self.verdict is Verdict.UNTESTABLE:
            return (
                "The graph implies no independence these columns can test, so the data can "
                "neither support nor contradict it."
            )
        compare = ""
        if self.baseline is not None:
            b = self.baseline
            compare = (
                f"it fits better than {b.better_than * 100:.0f} % of "
                f"{b.permutations} random relabellings of its nodes"
            )
            if not b.informative:
                compare += " (but many relabellings are equivalent, so that says little)"
        if self.verdict is Verdict.CONSISTENT:
            head = f"No implication of the graph is violated ({n} tested, {fdr})"
            return f"{head}; {compare}." if compare else f"{head}."
        top = self.violations[0]
        head = f"The data contradict {k} of {n} implications of the graph ({fdr}), first {top.text}"
        if self.verdict is Verdict.REJECTED:
            return f"{head}; the graph fits no better than random relabellings ({compare})."
        return f"{head}; still, {compare}."

    def to_dict(self) -> dict[str, Any]:
        """The JSON report as a dict (what ``--format json`` prints)."""
        return {
            **envelope(self.command),
            "verdict": self.verdict,
            "summary": self.summary,
            "graph": {"nodes": self.n_nodes, "edges": self.n_edges},
            "rows": dict(self.rows),
            "settings": dict(self.settings),
            "findings": [f.to_dict() for f in self.findings],
            "implications": {
                "tested": len(self.implications),
                "violated": len(self.violations),
                "untestable": self.untestable,
            },
            "violations": [i.to_dict() for i in self.violations],
            "unsupported_edges": [e.to_dict() for e in self.unsupported_edges],
            "baseline": None if self.baseline is None else self.baseline.to_dict(),
            "suggestions": [s.to_dict() for s in self.suggestions],
            "notes": list(self.notes),
        }

    def to_frame(self) -> pd.DataFrame:
        """Every tested implication as a row, violations first."""
        rows = [
            {
                "node": i.node,
                "other": i.other,
                "given": ", ".join(i.given),
                "p_value": i.p_value,
                "q_value": i.q_value,
                "violated": i.violated,
            }
            for i in self.implications
        ]
        columns = ["node", "other", "given", "p_value", "q_value", "violated"]
        return pd.DataFrame(rows, columns=columns)
