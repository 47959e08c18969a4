"""Self-contained HTML reports: one file with inline CSS and SVG, no script, no network.

A report is for people who would rather look than read a table: the causal graph with the
changed (or anomalous, or contradicted) nodes highlighted, a bar chart of the
contributions with their intervals, and the before/after distributions of the target and
the nodes that matter. The pictures come from :mod:`causal_attrib.rendering.svg`, so the
file opens offline in any browser and is byte-identical for the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np

from .. import __version__
from ..choices import Format
from ..results.anomaly import AnomalyResult
from ..results.base import Result
from ..results.check import CheckResult, Verdict
from ..results.explain import ExplainResult
from ..results.influence import InfluenceResult
from ..results.segments import SegmentedResult
from .cells import number, q_value, share, signed, value
from .registry import register
from .rows import (
    COMPARISON_HEADERS,
    EDGE_HEADERS,
    EDGE_LEGEND,
    check_facts,
    comparison_rows,
    edge_rows,
    explain_figures,
    explain_headers,
    explain_legend,
    explain_rows,
    hidden_causes,
    segment_figures,
    segment_rows,
    shown_causes,
    shown_rows,
)
from .svg import (
    AFTER,
    BEFORE,
    CHANGED,
    MUTED,
    Bar,
    EdgeStyle,
    NodeStyle,
    bar_chart,
    bar_colour,
    distribution,
    diverging,
    graph_figure,
    histogram,
    score_bar,
    series_chart,
)

_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  margin: 0 auto; max-width: 1180px; padding: 24px; color: #1d1d1f; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.headline { font-size: 17px; font-weight: 600; margin: 10px 0 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0; }
.card { border: 1px solid #ddd; border-radius: 8px; padding: 8px 12px; min-width: 170px; }
.card .label { color: #666; font-size: 12px; }
.card .value { font-size: 16px; font-weight: 600; }
table { border-collapse: collapse; margin: 6px 0; font-size: 13px; }
th, td { border-bottom: 1px solid #eee; padding: 3px 10px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flag td { color: #b30000; font-weight: 600; }
.figure { overflow-x: auto; margin: 4px 0; }
.grid { display: flex; flex-wrap: wrap; gap: 14px; }
.legend { font-size: 12px; color: #555; margin: 4px 0; }
.swatch { display: inline-block; width: 12px; height: 12px; vertical-align: -2px;
  border-radius: 2px; margin: 0 4px 0 12px; }
.note { color: #555; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; }
footer { margin-top: 32px; color: #888; font-size: 12px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
"""


def page(result: Result, title: str, body: str) -> str:
    """The whole HTML document around one page's body."""
    settings = dict(result.settings)
    footer = (
        f"causal-attrib {escape(__version__)} · {escape(result.command)} · "
        f"seed {escape(str(settings.get('seed', 0)))}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<footer>{footer}</footer>\n</body>\n</html>\n"
    )


_PAGES: dict[type, Callable[[Any, int], tuple[str, str]]] = {}


def notebook_html(result: Result, top: int = 10) -> str:
    """A result's HTML report body with its styles, for a notebook cell (``_repr_html_``)."""
    for cls in type(result).__mro__:
        draw = _PAGES.get(cls)
        if draw is not None:
            _title, body = draw(result, top)
            return f'<div class="causal-attrib"><style>{_CSS}</style>{body}</div>'
    raise TypeError(f"no HTML page for {type(result).__name__}")


def _registered(result_type: type, draw: Callable[[Any, int], tuple[str, str]]) -> None:
    """Register ``draw`` (result, top -> title, body) as the HTML page of ``result_type``."""

    def html_report(result, *, top: int = 10, color: bool = False) -> str:
        return page(result, *draw(result, top))

    html_report.__doc__ = f"The HTML report of {result_type.__name__}: {draw.__doc__}"
    _PAGES[result_type] = draw
    register(result_type, Format.HTML)(html_report)


def _explain(result: ExplainResult, top: int) -> tuple[str, str]:
    """graph, contributions, distributions, all nodes, settings."""
    data = result.report_data
    title = f"causal-attrib explain: {_measured(result)}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{escape(result.summary)}</p>']
    cards = [(label, text) for label, text in explain_figures(result)]
    if result.fitted_change_interval is not None:
        lo, hi = result.fitted_change_interval
        level = result.settings.get("confidence", 0.95) * 100
        cards.append((f"fitted change, {level:g} % interval", f"[{number(lo)}, {number(hi)}]"))
    parts.append(_cards(cards))

    if data is not None:
        parts += _explain_graph(result, data.graph)

    parts.append("<h2>Contributions</h2>")
    bars = [
        Bar(n.node, n.contribution, n.interval, bar_colour(n.contribution))
        for n in result.nodes
        if n.ancestor and (n.contribution or n.changed)
    ][:top]
    if bars:
        bars.append(Bar("unexplained gap", result.gap, None, MUTED))
        level = result.settings.get("confidence", 0.95) * 100
        whisker = (
            f" Whiskers are {level:g} % bootstrap intervals."
            if any(b.interval for b in bars)
            else " Run with --bootstrap N for intervals."
        )
        parts.append(bar_chart(bars))
        parts.append(
            f'<p class="legend">Shapley value of swapping in each node\'s new mechanism, in '
            f"units of the statistic; they add up to the fitted change.{whisker}</p>"
        )
    else:
        parts.append('<p class="note">No mechanism upstream of the target changed.</p>')

    parts += _series(data, (BEFORE, AFTER))
    if data is not None and data.samples:
        parts.append("<h2>Distributions before and after</h2>")
        figures = []
        for node, (before, after) in data.samples.items():
            marks = []
            if node == result.target and result.target_level is None:
                marks = [
                    (result.observed_before, BEFORE, f"{result.statistic} before"),
                    (result.observed_after, AFTER, f"{result.statistic} after"),
                ]
            figures.append(distribution(node, before, after, data.periods, marks))
        parts.append(f'<div class="grid">{"".join(figures)}</div>')

    parts.append("<h2>All nodes</h2>")
    parts.append(_explain_table(result))
    if result.check is not None:
        parts.append("<h2>Graph check</h2>")
        parts.append(
            f"<p>{_verdict_badge(result.check.verdict)} {escape(result.check.summary)}</p>"
        )
    parts += _comparison(result.comparison, top)
    parts.append(_settings_section(result.settings, result.rows, result.notes))
    return title, "\n".join(parts)


def _series(data, colours: tuple[str, str]) -> list[str]:
    """Time-series mode: the shown nodes' series with the periods (or the incident) shaded."""
    if data is None or not data.series:
        return []
    windows = [
        (start, end, colours[min(k, 1)], label)
        for k, (start, end, label) in enumerate(data.windows)
    ]
    charts = [
        series_chart(node, values, windows, data.span) for node, values in data.series.items()
    ]
    return ["<h2>Series</h2>", *charts]


def _delay_words(graph) -> str:
    """The legend's words for dashed edges, when the graph has delayed ones."""
    delayed = any(0 not in d.get("lags", (0,)) for *_, d in graph.edges(data=True))
    return " Dashed edges act with a delay (hover for the lag)." if delayed else ""


def _comparison(comparison, top: int) -> list[str]:
    """The second opinion: DoWhy's ranking beside ours (nothing without one)."""
    if comparison is None:
        return []
    parts = ["<h2>Second opinion: DoWhy</h2>", f"<p>{escape(comparison.summary)}</p>"]
    if comparison.theirs:
        rows = [
            ([(c, i > 0) for i, c in enumerate(row)], False)
            for row in comparison_rows(comparison, top)
        ]
        parts.append(_table(COMPARISON_HEADERS, rows))
    return parts


def _explain_graph(result: ExplainResult, graph) -> list[str]:
    """The graph coloured by contribution, changed mechanisms with a thick red border."""
    out: list[str] = []
    by_node = {n.node: n for n in result.nodes}
    scale = max((abs(n.contribution) for n in result.nodes if n.ancestor), default=0.0)
    styles = {}
    for node in graph.nodes:
        n = by_node.get(node)
        if n is None:
            continue
        sub = ""
        if n.ancestor and n.contribution:
            sub = f"{signed(n.contribution)}" + (
                f" ({share(n.share)})" if n.share is not None else ""
            )
        elif n.changed:
            sub = "changed"
        styles[node] = NodeStyle(
            fill=diverging(n.contribution / scale if scale and n.ancestor else 0.0),
            stroke=CHANGED if n.changed else ("#333" if n.ancestor else MUTED),
            width=3.0 if n.changed else 1.2,
            dashed=not n.ancestor,
            text="#1d1d1f" if n.ancestor else MUTED,
            sublabel=sub,
            bold=node == result.target,
            tooltip=(
                f"{node}: contribution {number(n.contribution)}, q-value {q_value(n.q_value)}, "
                f"{'changed' if n.changed else 'unchanged'}, {n.mechanism}"
            ),
        )
    out.append("<h2>Causal graph</h2>")
    out.append(graph_figure(graph, styles, target=result.target))
    out.append(
        _legend(
            [
                (diverging(1.0), "pushed the statistic up"),
                (diverging(-1.0), "pushed it down"),
            ],
            f"Colour depth is the size of the contribution; a thick "
            f'<span style="color:{CHANGED}">red border</span> marks a changed mechanism; '
            "dashed nodes cannot influence the target; the target has a bold label."
            + _delay_words(graph),
        )
    )
    return out


def _explain_table(result: ExplainResult) -> str:
    """The terminal table's columns (shared with reports) plus each node's mechanism."""
    rows = [
        (
            [(c, i not in (1, 2)) for i, c in enumerate(row)] + [(n.mechanism, False)],
            n.changed,
        )
        for row, n in zip(explain_rows(result), result.nodes, strict=True)
    ]
    legend = f'<p class="legend">{escape(explain_legend(result))}</p>'
    return _table([*explain_headers(result), "mechanism"], rows) + legend


def _measured(result: ExplainResult | SegmentedResult) -> str:
    """What was measured, as the headline says it (a categorical target's level share)."""
    if result.target_level is not None:
        return f"share of {result.target} = {result.target_level!r}"
    return f"{result.statistic} of {result.target}"


def _anomaly(result: AnomalyResult, top: int) -> tuple[str, str]:
    """graph by blame, root causes, rows, reference distributions."""
    data = result.report_data
    title = f"causal-attrib anomaly: {result.target}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{_code(result.summary)}</p>']
    parts.append(
        _cards(
            [
                ("rows", f"{len(result.anomalous_rows)} anomalous of {len(result.rows)}"),
                ("highest target score", number(result.max_score, 3)),
                ("row threshold", f"{result.row_threshold:.3g}"),
                ("top cause", result.top_cause or "none"),
            ]
        )
    )
    if data is not None:
        parts += _anomaly_graph(result, data.graph)
    parts.append("<h2>Root causes over the attributed rows</h2>")
    if result.below_threshold:
        parts.append(
            '<p class="note">No row passed the threshold: these are the causes of the most '
            "unusual rows, a lead rather than a finding.</p>"
        )
    shown, hidden = shown_causes(result.causes, top)
    bars = [Bar(c.node, c.contribution, None, bar_colour(c.contribution)) for _, c in shown]
    if bars:
        parts.append(bar_chart(bars))
        more = f" {hidden_causes(hidden)}." if hidden else ""
        parts.append(
            '<p class="legend">Mean Shapley share of the target\'s anomaly score owed to each '
            f"node's own noise.{more}</p>"
        )
    else:
        parts.append('<p class="note">No row was attributed.</p>')

    parts.append("<h2>Rows</h2>")
    max_score = max(result.max_score, result.row_threshold, 1e-12)
    rows = []
    listed, left_out = shown_rows(result.rows, top)
    for r in listed:
        cells = [
            (r.row, False),
            (value(r.target_value), True),
            (number(r.target_score, 3), True),
            (score_bar(r.target_score or 0.0, result.row_threshold, max_score), False),
            ("yes" if r.anomalous else "no", False),
            (r.root_causes[0].node if r.root_causes else "", False),
        ]
        rows.append((cells, r.anomalous))
    parts.append(
        _table(["row", "target value", "score", "", "anomalous", "top cause"], rows, raw={3})
    )
    if left_out:
        parts.append(f'<p class="note">{escape(left_out[0].upper() + left_out[1:])}.</p>')

    parts += _series(data, (BEFORE, CHANGED))
    if data is not None and data.samples:
        parts.append("<h2>Reference distributions and the anomalous values</h2>")
        figures = [
            distribution(node, ref, anomalous, data.periods, [], rug=True)
            for node, (ref, anomalous) in data.samples.items()
        ]
        parts.append(f'<div class="grid">{"".join(figures)}</div>')
    parts += _comparison(result.comparison, top)
    settings = {k: v for k, v in result.settings.items() if k != "mechanisms"}
    parts.append(_settings_section(settings, None, result.notes))
    mechanisms = result.settings.get("mechanisms", {})
    if mechanisms:
        parts.append("<details><summary>Mechanisms</summary>")
        parts.append(
            _table(
                ["node", "mechanism"],
                [([(k, False), (v, False)], False) for k, v in mechanisms.items()],
            )
        )
        parts.append("</details>")
    return title, "\n".join(parts)


def _anomaly_graph(result: AnomalyResult, graph) -> list[str]:
    """The graph coloured by each node's share of the blame."""
    out: list[str] = []
    blame = result.blame_total
    causes = {c.node: c for c in result.causes}
    styles = {}
    for node in graph.nodes:
        c = causes.get(node)
        share = c.contribution / blame if c is not None and blame else 0.0
        lead = c is not None and share >= 0.05
        styles[node] = NodeStyle(
            fill=diverging(share),
            stroke=CHANGED if lead else "#333",
            width=3.0 if lead else 1.2,
            sublabel=f"{share * 100:.0f} % of blame" if abs(share) >= 0.005 else "",
            bold=node == result.target,
            tooltip=(
                f"{node}: contribution {number(c.contribution)}, node score {number(c.score, 3)}"
                if c is not None
                else f"{node}: not attributed"
            ),
        )
    out.append("<h2>Causal graph</h2>")
    out.append(graph_figure(graph, styles, target=result.target))
    out.append(
        _legend(
            [(diverging(1.0), "share of the blame"), (diverging(-1.0), "negative share")],
            f'A thick <span style="color:{CHANGED}">red border</span> marks a node with '
            "at least 5 % of the blame; the target has a bold label." + _delay_words(graph),
        )
    )
    return out


def _segments(result: SegmentedResult, top: int) -> tuple[str, str]:
    """the largest segment/node parts, segments, each segment's nodes."""
    by = ", ".join(result.by)
    title = f"causal-attrib explain by {by}: {_measured(result)}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{escape(result.summary)}</p>']
    parts.append(_cards(segment_figures(result)))
    parts.append("<h2>Largest parts of the overall change</h2>")
    bars = [
        Bar(f"{p.node} @ {p.segment}", p.contribution, None, bar_colour(p.contribution))
        for p in result.pairs[:top]
    ]
    if result.exact:
        bars += [
            Bar("segments' gaps", result.gaps, None, MUTED),
            Bar("mix of segments", result.mix, None, MUTED),
            Bar("skipped segments", result.skipped_change, None, MUTED),
        ]
    if result.pairs:
        parts.append(bar_chart(bars))
        parts.append(
            '<p class="legend">Each part is a changed node\'s contribution in its segment, '
            "weighted by the segment's share of the after rows"
            + (
                "; with the grey rows they add up to the overall change.</p>"
                if result.exact
                else " (approximate: this statistic does not add up over segments).</p>"
            )
        )
    else:
        parts.append('<p class="note">No changed mechanism upstream of the target.</p>')
    parts.append("<h2>Segments</h2>")
    rows = [
        (
            [(c, i in (1, 3)) for i, c in enumerate(row)],
            bool(s.result and s.result.changed_ancestors),
        )
        for row, s in zip(segment_rows(result), result.segments, strict=True)
    ]
    parts.append(
        _table(["segment", "rows before/after", "statistic", "gap", "changed upstream"], rows)
    )
    for s in result.segments:
        parts.append(f"<details><summary>{escape(s.label)}</summary>")
        if s.result is None:
            parts.append(f'<p class="note">Skipped: {escape(s.skipped or "")}</p>')
        else:
            parts.append(f"<p>{escape(s.result.summary)}</p>{_explain_table(s.result)}")
        parts.append("</details>")
    parts.append(_settings_section(result.settings, None, result.notes))
    return title, "\n".join(parts)


def _check(result: CheckResult, top: int) -> tuple[str, str]:
    """graph with violations, relabellings, findings, violations, suggestions."""
    data = result.report_data
    title = "causal-attrib check"
    parts = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="headline">{_verdict_badge(result.verdict)} {escape(result.summary)}</p>',
    ]
    parts.append(_cards([(label, text) for label, text in check_facts(result)]))
    if data is not None:
        parts += _check_graph(result, data.graph, top)
    b = result.baseline
    if b is not None and b.shares:
        parts.append("<h2>Compared with random relabellings</h2>")
        shares = np.asarray(b.shares, dtype=float) * 100
        parts.append(
            histogram(
                "share of implications rejected (%)",
                [(shares, MUTED, "relabellings")],
                [(b.given_share * 100, CHANGED, f"this graph ({b.given_share * 100:.1f} %)")],
            )
        )
    parts += _check_tables(result, top)
    parts.append(_settings_section(result.settings, result.rows, result.notes))
    return title, "\n".join(parts)


def _check_graph(result: CheckResult, graph, top: int) -> list[str]:
    """The graph with the nodes of violated implications coloured, unsupported edges
    dashed grey, suggested edges green, and the strongest violations as red links."""
    out: list[str] = []
    involved: dict[str, int] = {}
    for imp in result.violations:
        for node in (imp.node, imp.other):
            involved[node] = involved.get(node, 0) + 1
    cycle = set()
    if result.verdict is Verdict.INVALID:
        cycle = {n for f in result.findings if f.kind == "not_a_dag" for n in f.nodes}
    most = max(involved.values(), default=0)
    styles = {
        node: NodeStyle(
            fill=diverging(involved.get(node, 0) / most if most else 0.0),
            stroke=CHANGED if node in cycle or involved.get(node) else "#333",
            width=3.0 if node in cycle or involved.get(node) else 1.2,
            sublabel=f"{involved[node]} violation(s)" if node in involved else "",
            bold=node == result.settings.get("target"),
            tooltip=f"{node}: in {involved.get(node, 0)} violated implication(s)",
        )
        for node in graph.nodes
    }
    edges = {
        (e.cause, e.effect): EdgeStyle(MUTED, dashed=True, tooltip=f"p = {e.p_value:.2g}")
        for e in result.unsupported_edges
    }
    suggested = {(s.cause, s.effect) for s in result.suggestions}
    extra = [
        (i.node, i.other, EdgeStyle(CHANGED, dashed=True, arrow=False, tooltip=i.text))
        for i in result.violations[:top]
        # a violation a suggested edge resolves is shown by that edge (drawn over it, the
        # green edge hid under the red link)
        if (i.node, i.other) not in suggested and (i.other, i.node) not in suggested
    ]
    extra += [  # last, so on top
        (s.cause, s.effect, EdgeStyle("#1a9850", tooltip=_suggestion_tip(s)))
        for s in result.suggestions
    ]
    out.append("<h2>Causal graph</h2>")
    out.append(graph_figure(graph, styles, edges=edges, extra=extra))
    out.append(
        _legend(
            [
                (diverging(1.0), "in violated implications"),
                (CHANGED, "violation", "dashed"),
                ("#1a9850", "suggested edge", "line"),
                (MUTED, "no detectable dependence", "dashed"),
            ],
            _violation_words(len(result.violations), top)
            + "grey dashed edges show no detectable dependence."
            + _delay_words(graph),
        )
    )
    return out


def _violation_words(violations: int, top: int) -> str:
    """The legend's words for the red links (there are none without violations)."""
    if not violations:
        return "No implication is violated, so no red link is drawn; "
    drawn = min(top, violations)
    which = (
        "the violation"
        if violations == 1
        else (
            f"all {violations} violations"
            if drawn == violations
            else f"the {drawn} strongest of {violations} violations"
        )
    )
    return (
        f"Red dashed links join the two sides of {which} (a violation a suggested edge "
        "resolves is shown by that edge); "
    )


def _suggestion_tip(s) -> str:
    return (
        f"suggested edge {s.cause} -> {s.effect}: violations "
        f"{s.violations_before} -> {s.violations_after}"
    )


def _check_tables(result: CheckResult, top: int) -> list[str]:
    """Findings, the strongest violations and the suggested edges, as tables."""
    out: list[str] = []
    if result.findings:
        out.append("<h2>Findings</h2>")
        out.append(
            _table(
                ["severity", "finding"],
                [
                    ([(f.severity, False), (f.message, False)], f.severity == "error")
                    for f in result.findings
                ],
            )
        )
    if result.violations:
        out.append("<h2>Violated implications</h2>")
        out.append(
            _table(
                ["rank", "implication", "p-value", "q-value"],
                [
                    (
                        [
                            (str(k), True),
                            (i.text, False),
                            (q_value(i.p_value), True),
                            (q_value(i.q_value), True),
                        ],
                        False,
                    )
                    for k, i in enumerate(result.violations[:top], start=1)
                ],
            )
        )
        if len(result.violations) > top:
            more = len(result.violations) - top
            out.append(f'<p class="note">{more} more in the JSON report.</p>')
    if result.suggestions:
        out.append("<h2>Suggested edges (not applied)</h2>")
        out.append(
            _table(
                ["edge", "violations before", "after"],
                [
                    (
                        [
                            (f"{s.cause} -> {s.effect}", False),
                            (str(s.violations_before), True),
                            (str(s.violations_after), True),
                        ],
                        False,
                    )
                    for s in result.suggestions
                ],
            )
        )
    return out


def _influence(result: InfluenceResult, top: int) -> tuple[str, str]:
    """graph by share, contributions, settings."""
    title = f"causal-attrib influence: {result.statistic} of {result.target}"
    parts = [f"<h1>{escape(title)}</h1>", f'<p class="headline">{escape(result.summary)}</p>']
    parts.append(
        _cards(
            [
                ("fitted model", f"{number(result.total)} ({result.statistic})"),
                ("observed", number(result.observed)),
                ("largest contribution", result.nodes[0].node if result.nodes else "none"),
            ]
        )
    )
    if result.report_data is not None:
        by_node = {n.node: n for n in result.nodes}
        styles = {}
        for node in result.report_data.graph.nodes:
            n = by_node.get(node)
            part = n.share if n is not None and n.share is not None else 0.0
            styles[node] = NodeStyle(
                fill=diverging(part),
                stroke=CHANGED if part >= 0.25 else ("#333" if n is not None else MUTED),
                width=3.0 if part >= 0.25 else 1.2,
                dashed=n is None,
                sublabel=share(part) if n is not None else "",
                bold=node == result.target,
                tooltip=f"{node}: {share(part) or 'no causal path'} of the {result.statistic}",
            )
        parts.append("<h2>Causal graph</h2>")
        parts.append(graph_figure(result.report_data.graph, styles, target=result.target))
        parts.append(
            _legend(
                [(diverging(1.0), "share of the spread")],
                f'A thick <span style="color:{CHANGED}">red border</span> marks a node whose '
                "own noise gives at least 25 %; dashed nodes cannot influence the target.",
            )
        )
    parts.append("<h2>Intrinsic contributions</h2>")
    bars = [Bar(n.node, n.contribution, None, bar_colour(n.contribution)) for n in result.nodes]
    parts.append(bar_chart(bars[:top]))
    parts.append(
        "<p class=\"legend\">Shapley share of the target's spread owed to each node's own "
        "noise; they add up to the fitted model's figure.</p>"
    )
    if result.edges is not None:
        parts.append("<h2>Arrow strengths</h2>")
        rows = [([(c, i > 0) for i, c in enumerate(r)], False) for r in edge_rows(result, top)]
        parts.append(_table(EDGE_HEADERS, rows))
        parts.append(f'<p class="legend">{escape(EDGE_LEGEND)}</p>')
    parts.append(_settings_section(result.settings, result.rows, result.notes))
    return title, "\n".join(parts)


def _verdict_badge(verdict: str) -> str:
    colour = {Verdict.CONSISTENT: "#1a9850", Verdict.VIOLATED: "#d98c00"}.get(verdict, CHANGED)
    if verdict is Verdict.UNTESTABLE:
        colour = MUTED
    return f'<span class="verdict" style="background:{colour}">{escape(verdict)}</span>'


def _code(text: str) -> str:
    """Escape, and show Markdown-style `names` as code."""
    pieces = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _cards(items: Iterable[tuple[str, str]]) -> str:
    cards = "".join(
        f'<div class="card"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(text)}</div></div>'
        for label, text in items
    )
    return f'<div class="cards">{cards}</div>'


def _legend(swatches: Sequence[tuple[str, ...]], text: str) -> str:
    """Keys (colour, label[, "line" or "dashed"]: boxes for nodes, strokes for edges)."""
    keys = "".join(_swatch(c, *kind) + escape(label) for c, label, *kind in swatches)
    return f'<p class="legend">{keys}<br>{text}</p>'


def _swatch(colour: str, kind: str = "box") -> str:
    if kind == "box":
        return f'<span class="swatch" style="background:{colour}"></span>'
    dash = ' stroke-dasharray="4 3"' if kind == "dashed" else ""
    return (
        '<svg width="22" height="10" style="vertical-align:0;margin:0 4px 0 12px">'
        f'<line x1="0" y1="5" x2="22" y2="5" stroke="{colour}" stroke-width="2"{dash}/></svg>'
    )


def _table(
    head: Sequence[str], rows: Iterable[tuple[list[tuple[str, bool]], bool]], raw: set = frozenset()
) -> str:
    """An HTML table; each row is ([(text, numeric)], flagged). Columns in ``raw`` hold
    markup made here, everything else is escaped."""
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for cells, flagged in rows:
        out.append('<tr class="flag">' if flagged else "<tr>")
        for i, (text, numeric) in enumerate(cells):
            content = text if i in raw else escape(text)
            out.append(f'<td class="num">{content}</td>' if numeric else f"<td>{content}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


ROW_LABELS = {
    "before": "before:",
    "after": "after:",
    "before_total": "before, as given:",
    "after_total": "after, as given:",
    "used": "used:",
    "total": "as given:",
}
"""Readable names of the row counts a result keeps under short keys."""


def _settings_section(settings: Mapping, rows: Mapping | None, notes: Sequence[str]) -> str:
    parts = ["<h2>Settings</h2>"]
    items = [(k, _setting(v)) for k, v in settings.items()]
    if rows:
        items.append(("rows", ", ".join(f"{ROW_LABELS.get(k, k)} {v}" for k, v in rows.items())))
    parts.append(
        _table(["setting", "value"], [([(k, False), (v, False)], False) for k, v in items])
    )
    if notes:
        parts.append("<h2>Notes</h2><ul>")
        parts += [f'<li class="note">{escape(n)}</li>' for n in notes]
        parts.append("</ul>")
    return "\n".join(parts)


def _setting(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


_registered(ExplainResult, _explain)
_registered(AnomalyResult, _anomaly)
_registered(SegmentedResult, _segments)
_registered(CheckResult, _check)
_registered(InfluenceResult, _influence)
