"""Short Markdown for CI job summaries, pull-request comments and incident tickets:
headline first, then the top of the ranking."""

from __future__ import annotations

from ..choices import Format
from ..results.anomaly import AnomalyResult
from ..results.check import CheckResult
from ..results.explain import ExplainResult
from ..results.influence import InfluenceResult
from ..results.segments import SegmentedResult
from .cells import md_escape, printable, q_value
from .registry import register
from .rows import (
    COMPARISON_HEADERS,
    EDGE_HEADERS,
    EDGE_LEGEND,
    EITHER,
    cause_rows,
    check_facts,
    comparison_rows,
    edge_rows,
    explain_figures,
    explain_headers,
    explain_legend,
    explain_rows,
    influence_rows,
    pair_rows,
    segment_figures,
)


@register(ExplainResult, Format.MARKDOWN)
def explain_markdown(result: ExplainResult, *, top: int = 10, color: bool = False) -> str:
    """Short Markdown for CI job summaries and pull-request comments, headline first."""
    headers, rows = explain_headers(result), explain_rows(result)
    lines = [f"**{md_escape(result.headline(markdown=True))}**", ""]
    shown = [r for r, n in zip(rows, result.nodes, strict=True) if n.ancestor or n.changed]
    # ranks of the rows shown, consecutively (nodes that are neither upstream nor changed
    # are left out here, and a gap in the numbers read as missing rows)
    shown = [[str(k), *r[1:]] for k, r in enumerate(shown, start=1)]
    lines += _table(headers, {0, 3, 4, 5}, shown[:top], code={1})
    if len(shown) > top:
        lines += ["", f"_{len(shown) - top} more node(s) in the JSON report._"]
    lines += ["", f"_{md_escape(explain_legend(result))}_", ""]
    for label, text in explain_figures(result):
        lines.append(f"- {label}: {text}")
    if result.check is not None:
        lines.append(f"- graph check ({result.check.verdict}): {md_escape(result.check.summary)}")
    lines += _comparison(result.comparison, top)
    lines += _notes(result.notes)
    return "\n".join(map(printable, lines)) + "\n"


def _comparison(comparison, top: int) -> list[str]:
    """The second opinion as a short section (none without one)."""
    if comparison is None:
        return []
    lines = ["", f"**Second opinion:** {md_escape(comparison.summary)}"]
    if comparison.theirs:
        rows = comparison_rows(comparison, top)
        lines += ["", *_table(COMPARISON_HEADERS, {1, 2, 3, 4}, rows, code={0})]
    return lines


@register(AnomalyResult, Format.MARKDOWN)
def anomaly_markdown(result: AnomalyResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries and incident tickets, headline first."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    if result.causes:
        headers = ["rank", "node", "contribution", "share", "node score"]
        rows = cause_rows(result.causes, result.blame_total, top)
        lines += [*_table(headers, {0, 2, 3, 4}, rows, code={1}), ""]
    flagged = ", ".join(f"`{md_escape(r)}`" for r in result.anomalous_rows[:20]) or "none"
    lines.append(f"- anomalous rows: {flagged}")
    lines += _comparison(result.comparison, top)
    lines += _notes(result.notes)
    return "\n".join(map(printable, lines)) + "\n"


@register(CheckResult, Format.MARKDOWN)
def check_markdown(result: CheckResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries: headline, facts, then the strongest violations."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    lines += [f"- {label}: {md_escape(text)}" for label, text in check_facts(result)]
    lines += [f"- {f.severity}: {md_escape(f.message)}" for f in result.findings]
    if result.violations:
        rows = [
            [str(k), i.text, q_value(i.p_value), q_value(i.q_value)]
            for k, i in enumerate(result.violations[:top], start=1)
        ]
        lines += ["", *_table(["rank", "implication", "p-value", "q-value"], {0, 2, 3}, rows, {1})]
        if len(result.violations) > top:
            lines += ["", f"_{len(result.violations) - top} more in the JSON report._"]
    if result.suggestions:
        lines.append("")
        lines += [
            f"- suggestion (not applied): add `{md_escape(s.cause)}` -> "
            f"`{md_escape(s.effect)}` (violations {s.violations_before} -> "
            f"{s.violations_after}){EITHER if s.either_direction else ''}"
            for s in result.suggestions
        ]
    lines += _notes(result.notes)
    return "\n".join(map(printable, lines)) + "\n"


@register(SegmentedResult, Format.MARKDOWN)
def segments_markdown(result: SegmentedResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown for CI summaries: headline, top pairs, segments, skipped."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    headers = ["rank", "segment", "node", "part", "share"]
    lines += [*_table(headers, {0, 3, 4}, pair_rows(result, top), code={1, 2}), ""]
    lines += [f"- {label}: {text}" for label, text in segment_figures(result)]
    lines += [f"- skipped `{md_escape(s.label)}`: {md_escape(s.skipped)}" for s in result.skipped]
    lines += _notes(result.notes)
    return "\n".join(map(printable, lines)) + "\n"


@register(InfluenceResult, Format.MARKDOWN)
def influence_markdown(result: InfluenceResult, *, top: int = 5, color: bool = False) -> str:
    """Short Markdown: headline, then the nodes by contribution."""
    lines = [f"**{md_escape(result.summary)}**", ""]
    headers = ["rank", "node", "contribution", "share"]
    lines += [*_table(headers, {0, 2, 3}, influence_rows(result, top), code={1}), ""]
    lines.append(
        f"- fitted model: {result.total:.4g} ({result.statistic}); observed {result.observed:.4g}"
    )
    if result.edges is not None:
        rows = edge_rows(result, top)
        lines += ["", "**Arrow strengths**", "", *_table(EDGE_HEADERS, {1, 2}, rows, code={0})]
        lines += ["", f"_{md_escape(EDGE_LEGEND)}_"]
    lines += _notes(result.notes)
    return "\n".join(map(printable, lines)) + "\n"


def _table(
    headers: list[str], numeric: set[int], rows: list[list[str]], code: set[int]
) -> list[str]:
    """A Markdown table: ``numeric`` columns right-aligned, ``code`` columns set as code."""
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in numeric else "---" for i in range(len(headers))) + "|"
    )
    for row in rows:
        cells = [f"`{md_escape(c)}`" if i in code else c for i, c in enumerate(row)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _notes(notes) -> list[str]:
    return [f"- note: {md_escape(n)}" for n in notes]
