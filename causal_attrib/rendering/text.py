"""Plain-text reports for terminals: a headline, figures, and aligned tables."""

from __future__ import annotations

from ..choices import Format
from ..results.anomaly import AnomalyResult
from ..results.check import CheckResult, Verdict
from ..results.explain import ExplainResult
from ..results.influence import InfluenceResult
from ..results.segments import SegmentedResult
from .cells import grid, number, paint, printable, q_value, value
from .registry import register
from .rows import (
    COMPARISON_HEADERS,
    EDGE_HEADERS,
    EDGE_LEGEND,
    EITHER,
    SEGMENT_HEADERS,
    cause_rows,
    check_facts,
    comparison_rows,
    edge_rows,
    explain_figures,
    explain_headers,
    explain_legend,
    explain_rows,
    hidden_causes,
    influence_rows,
    pair_rows,
    segment_figures,
    segment_rows,
    shown_causes,
    shown_rows,
)

VERDICT_COLOR = {
    Verdict.CONSISTENT: "32",
    Verdict.VIOLATED: "33",
    Verdict.REJECTED: "31",
    Verdict.INVALID: "31",
}


@register(ExplainResult, Format.TABLE)
def explain_table(result: ExplainResult, *, top: int = 10, color: bool = False) -> str:
    """A plain-text table for terminals (every node); ``color`` highlights changed
    mechanisms."""
    headers = explain_headers(result)
    rows = [[printable(c) for c in row] for row in explain_rows(result)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    numeric = {0, 3, 4, 5, 6, 7}
    lines = [result.summary, ""]
    for label, text in explain_figures(result):
        lines.append(f"  {label + ':':17s}{text}")
    lines.append("")

    def fmt(cells: list[str]) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.rjust(w) if i in numeric and i != 1 else cell.ljust(w))
        return "  ".join(out).rstrip()

    lines.append(fmt(headers))
    lines.append("  ".join("-" * w for w in widths))
    painted = {}
    for row, node in zip(rows, result.nodes, strict=True):
        if color and node.changed:
            painted[len(lines)] = RED
        lines.append(fmt(row))
    lines.append("")
    lines.append(explain_legend(result))
    if result.check is not None:
        lines += ["", f"Graph check ({result.check.verdict}): {result.check.summary}"]
    lines += _comparison(result.comparison, top)
    return _text(lines, painted)


def _comparison(comparison, top: int) -> list[str]:
    """The second opinion's lines (none without one)."""
    if comparison is None:
        return []
    lines = ["", f"Second opinion: {comparison.summary}"]
    if comparison.theirs:
        rows = [[printable(c) for c in row] for row in comparison_rows(comparison, top)]
        lines += grid(COMPARISON_HEADERS, rows, {1, 2, 3, 4})
    return lines


@register(AnomalyResult, Format.TABLE)
def anomaly_table(result: AnomalyResult, *, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, the rows with their target scores, then the ranked causes."""
    lines = [result.summary, ""]
    rows, left_out = shown_rows(result.rows, top)
    row_lines = grid(
        ["row", "target value", "score", "anomalous", "top cause"],
        [
            [
                r.row,
                value(r.target_value),
                number(r.target_score, 3),
                "yes" if r.anomalous else "no",
                r.root_causes[0].node if r.root_causes else "",
            ]
            for r in rows
        ],
        {1, 2},
    )
    painted = {len(lines) + 2 + i: RED for i, r in enumerate(rows) if color and r.anomalous}
    lines += row_lines
    if left_out:
        lines.append(f"({left_out})")
    if result.causes:
        attributed = [r for r in result.rows if r.root_causes]
        lead = (
            " (none passed the threshold: a lead, not a finding)" if result.below_threshold else ""
        )
        lines += ["", f"Root causes over {len(attributed)} attributed row(s){lead}:"]
        lines += grid(
            ["rank", "node", "contribution", "share", "node score"],
            cause_rows(result.causes, result.blame_total, top),
            {0, 2, 3, 4},
        )
        hidden = hidden_causes(shown_causes(result.causes, top)[1])
        if hidden:
            lines.append(f"({hidden})")
    lines += [
        "",
        "score = -log P(a value at least this unusual) against the reference; a row is "
        f"anomalous from {result.row_threshold:.3g} (threshold {result.threshold:g} + ln rows); "
        "contribution = Shapley share of the target's score owed to the node's own noise; "
        "share = contribution / sum of the positive contributions.",
    ]
    lines += _comparison(result.comparison, top)
    return _text(lines, painted)


@register(CheckResult, Format.TABLE)
def check_table(result: CheckResult, *, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, facts, findings, violations, unsupported edges, suggestions."""
    lines = [result.summary, ""]
    painted = {}
    for label, text in check_facts(result):
        if color and label == "verdict" and text in VERDICT_COLOR:
            painted[len(lines)] = f"1;{VERDICT_COLOR[text]}"
        lines.append(f"  {label + ':':15s}{text}")
    if result.findings:
        lines += ["", "Findings:"]
        lines += [f"  {f.severity:8s}{f.message}" for f in result.findings]
    violations = result.violations
    if violations:
        lines += ["", "Violated implications (strongest first):"]
        lines += grid(
            ["rank", "implication", "p-value", "q-value"],
            [
                [str(k), i.text, q_value(i.p_value), q_value(i.q_value)]
                for k, i in enumerate(violations[:top], start=1)
            ],
            {0, 2, 3},
        )
        if len(violations) > top:
            lines.append(f"({len(violations) - top} more in the JSON report)")
    weak = result.unsupported_edges
    if weak:
        lines += ["", f"Edges without detectable dependence (p > {result.settings['alpha']:g}):"]
        lines += [f"  {e.cause} -> {e.effect}  (p = {e.p_value:.2g})" for e in weak[:top]]
        if len(weak) > top:
            lines.append(f"  ({len(weak) - top} more in the JSON report)")
    if result.suggestions:
        lines += ["", "Suggested edges (not applied; check they make sense before adding):"]
        lines += [
            f"  add {s.cause} -> {s.effect}: violations {s.violations_before} -> "
            f"{s.violations_after}{EITHER if s.either_direction else ''}"
            for s in result.suggestions
        ]
    lines += [
        "",
        "implication = the graph's claim that a node is independent of a non-descendant given "
        "its parents; q-value = Benjamini-Hochberg; relabellings = the same graph with its "
        "node names shuffled.",
    ]
    return _text(lines, painted)


@register(SegmentedResult, Format.TABLE)
def segments_table(result: SegmentedResult, *, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, figures, the top segment/node pairs, then every segment."""
    lines = [result.summary, ""]
    lines += [f"  {label + ':':20s}{text}" for label, text in segment_figures(result)]
    lines += ["", "Largest parts of the overall change:"]
    lines += grid(["rank", "segment", "node", "part", "share"], pair_rows(result, top), {0, 3, 4})
    if len(result.pairs) > top:
        lines.append(f"({len(result.pairs) - top} more in the JSON report)")
    lines += ["", "Segments:"]
    lines += grid(SEGMENT_HEADERS, segment_rows(result), {3})
    for s in result.skipped:
        lines.append(f"  skipped {s.label}: {s.skipped}")
    lines += [
        "",
        "part = the node's contribution in the segment times the segment's share of the after "
        "rows"
        + (
            "; parts, gaps, mix and skipped segments add up to the overall change."
            if result.exact
            else " (approximate: this statistic does not add up over segments)."
        ),
    ]
    return _text(lines)


@register(InfluenceResult, Format.TABLE)
def influence_table(result: InfluenceResult, *, top: int = 10, color: bool = False) -> str:
    """Plain text: headline, the totals, then the nodes by contribution."""
    lines = [result.summary, ""]
    lines.append(f"  {'fitted model:':17s}{number(result.total)} ({result.statistic})")
    lines.append(f"  {'observed:':17s}{number(result.observed)}")
    lines += ["", *grid(["rank", "node", "contribution", "share"], influence_rows(result, top),
                        {0, 2, 3})]  # fmt: skip
    if len(result.nodes) > top:
        lines.append(f"({len(result.nodes) - top} more in the JSON report)")
    lines += [
        "",
        "contribution = Shapley share of the target's spread owed to the node's own noise "
        "(what was new at the node, not what its parents passed on); they add up to the "
        "fitted model's figure.",
    ]
    if result.edges is not None:
        lines += ["", "Arrow strengths:"]
        lines += grid(EDGE_HEADERS, [[printable(c) for c in r] for r in edge_rows(result, top)],
                      {1, 2})  # fmt: skip
        lines += ["", EDGE_LEGEND]
    return _text(lines)


RED = "1;31"


def _text(lines: list[str], painted: dict[int, str] | None = None) -> str:
    """The report: every line with its control characters written out (node names come
    from the user), then the highlighted lines coloured."""
    out = [printable(line) for line in lines]
    for index, code in (painted or {}).items():
        out[index] = paint(out[index], code)
    return "\n".join(out) + "\n"
