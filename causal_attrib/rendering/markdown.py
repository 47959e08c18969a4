"""Short Markdown for CI job summaries, pull-request comments and incident tickets:
headline first, then the top of the ranking."""

from __future__ import annotations

from ..choices import Format
from ..results.anomaly import AnomalyResult
from ..results.check import CheckResult
from ..results.explain import ExplainResult
from ..results.segments import SegmentedResult
from .cells import md_escape, q_value
from .registry import register
from .rows import (
    EITHER,
    cause_rows,
    check_facts,
    explain_figures,
    explain_headers,
    explain_rows,
    pair_rows,
    segment_figures,
)


@register(ExplainResult, Format.MARKDOWN)
def explain_markdown(result: ExplainResult, *, top: int = 10, color: bool = False) -> str:
    """Short Markdown for CI job summaries and pull-request comments, headline first."""
    headers, rows = explain_headers(result), explain_rows(result)
    lines = [f"**{md_escape(result.headline(markdown=True))}**", ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append(
        "|" + "|".join("---:" if i in (0, 3, 4) else "---" for i in range(len(headers))) + "|"
    )
    shown = [r for r, n in zip(rows, result.nodes, strict=True) if n.ancestor or n.changed]
    for row in shown[:top]:
        row = row.copy()
        row[1] = f"`{md_escape(row[1])}`"
        lines.append("| " + " | ".join(row) + " |")
    if len(shown) > top:
        lines.append(f"\n_{len(shown) - top} more node(s) in the JSON report._")
    lines.append("")
    for label, text in explain_figures(result):
        lines.append(f"- {label}: {text}")
    if result.check is not None:
        lines.append(f"- graph check ({result.check.verdict}): {md_escape(result.check.summary)}")
    for note in result.notes:
        lines.append(f"- note: {md_escape(note)}")
    return "\n".join(lines) + "\n"


@register(AnomalyResult, Format.MARKDOWN)
def anomaly_markdown(result: AnomalyResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries and incident tickets, headline first."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    if result.causes:
        lines += [
            "| rank | node | contribution | share | node score |",
            "|---:|---|---:|---:|---:|",
        ]
        for row in cause_rows(result.causes, result.blame_total, top):
            row[1] = f"`{md_escape(row[1])}`"
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    flagged = ", ".join(f"`{md_escape(r)}`" for r in result.anomalous_rows[:20]) or "none"
    lines.append(f"- anomalous rows: {flagged}")
    for note in result.notes:
        lines.append(f"- note: {md_escape(note)}")
    return "\n".join(lines) + "\n"


@register(CheckResult, Format.MARKDOWN)
def check_markdown(result: CheckResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries: headline, facts, then the strongest violations."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    lines += [f"- {label}: {md_escape(text)}" for label, text in check_facts(result)]
    lines += [f"- {f.severity}: {md_escape(f.message)}" for f in result.findings]
    if result.violations:
        lines += ["", "| rank | implication | p-value | q-value |", "|---:|---|---:|---:|"]
        for k, i in enumerate(result.violations[:top], start=1):
            lines.append(
                f"| {k} | `{md_escape(i.text)}` | {q_value(i.p_value)} | {q_value(i.q_value)} |"
            )
        if len(result.violations) > top:
            lines.append(f"\n_{len(result.violations) - top} more in the JSON report._")
    if result.suggestions:
        lines.append("")
        lines += [
            f"- suggestion (not applied): add `{md_escape(s.cause)}` -> "
            f"`{md_escape(s.effect)}` (violations {s.violations_before} -> "
            f"{s.violations_after}){EITHER if s.either_direction else ''}"
            for s in result.suggestions
        ]
    for note in result.notes:
        lines.append(f"- note: {md_escape(note)}")
    return "\n".join(lines) + "\n"


@register(SegmentedResult, Format.MARKDOWN)
def segments_markdown(result: SegmentedResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries: headline, top pairs, segments, skipped."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    lines += ["| rank | segment | node | part | share |", "|---:|---|---|---:|---:|"]
    for row in pair_rows(result, top):
        row[1], row[2] = f"`{md_escape(row[1])}`", f"`{md_escape(row[2])}`"
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += [f"- {label}: {text}" for label, text in segment_figures(result)]
    lines += [f"- skipped `{md_escape(s.label)}`: {md_escape(s.skipped)}" for s in result.skipped]
    lines += [f"- note: {md_escape(n)}" for n in result.notes]
    return "\n".join(lines) + "\n"
