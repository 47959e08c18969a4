"""Rendering results as a terminal table, JSON or Markdown.

Renderers take the result object and return text; they never compute anything new, so the
JSON printed by the CLI is exactly ``result.to_dict()`` serialised.
"""

from __future__ import annotations

import json
from typing import Any

FORMATS = ("table", "json", "markdown")


def render(result: Any, fmt: str, color: bool = False) -> str:
    """Render an :class:`~causal_attrib.explain.ExplainResult` in ``fmt``."""
    if fmt == "json":
        return to_json(result.to_dict())
    if fmt == "markdown":
        return explain_markdown(result)
    return explain_table(result, color=color)


def to_json(payload: dict) -> str:
    """Stable, human-diffable JSON (key order as built, two-space indent, UTF-8 kept)."""
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _g(x: float | None, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}g}"


def _q(x: float) -> str:
    return "<1e-16" if x < 1e-16 else f"{x:.2g}"


def _share(x: float | None) -> str:
    return "" if x is None else f"{x * 100:.0f} %"


def _rows(result: Any) -> list[list[str]]:
    has_interval = any(n.interval is not None for n in result.nodes)
    rows = []
    for rank, n in enumerate(result.nodes, start=1):
        contribution = _g(n.contribution) if n.ancestor else "n/a"
        row = [str(rank), n.node, "yes" if n.changed else "no", _q(n.q_value), contribution]
        if has_interval:
            row.append(f"[{_g(n.interval[0])}, {_g(n.interval[1])}]" if n.interval else "")
        row.append(_share(n.share) if n.ancestor and n.contribution else "")
        rows.append(row)
    return rows


def _headers(result: Any) -> list[str]:
    headers = ["rank", "node", "changed", "q-value", "contribution"]
    if any(n.interval is not None for n in result.nodes):
        level = result.settings.get("confidence", 0.95)
        headers.append(f"{level * 100:g} % interval")
    return headers + ["share"]


def _figures(result: Any) -> list[tuple[str, str]]:
    return [
        (
            "observed",
            f"{_g(result.observed_before)} -> {_g(result.observed_after)} "
            f"(change {_g(result.observed_change)})",
        ),
        (
            "fitted models",
            f"{_g(result.fitted_before)} -> {_g(result.fitted_after)} "
            f"(change {_g(result.fitted_change)} = sum of contributions)",
        ),
        ("unexplained gap", _g(result.gap)),
    ]


def explain_table(result: Any, color: bool = False) -> str:
    """A plain-text table for terminals; ``color`` highlights changed mechanisms."""
    headers, rows = _headers(result), _rows(result)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    numeric = {0, 3, 4, 5, 6}
    lines = [result.summary, ""]
    for label, text in _figures(result):
        lines.append(f"  {label + ':':17s}{text}")
    lines.append("")

    def fmt(cells: list[str]) -> str:
        out = []
        for i, (cell, w) in enumerate(zip(cells, widths, strict=True)):
            out.append(cell.rjust(w) if i in numeric and i != 1 else cell.ljust(w))
        return "  ".join(out).rstrip()

    lines.append(fmt(headers))
    lines.append("  ".join("-" * w for w in widths))
    for row, node in zip(rows, result.nodes, strict=True):
        line = fmt(row)
        if color and node.changed:
            line = f"\x1b[1;31m{line}\x1b[0m"
        lines.append(line)
    lines.append("")
    lines.append(
        f"changed = mechanism flagged at FDR alpha={result.settings['alpha']}; "
        "contribution = Shapley value of swapping in the node's new mechanism; "
        "n/a = not upstream of the target."
    )
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def explain_markdown(result: Any, max_rows: int = 10) -> str:
    """Short Markdown for CI job summaries and pull-request comments, headline first."""
    headers, rows = _headers(result), _rows(result)
    lines = [f"**{_md_escape(result.summary)}**", ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append(
        "|" + "|".join("---:" if i in (0, 3, 4) else "---" for i in range(len(headers))) + "|"
    )
    shown = [r for r, n in zip(rows, result.nodes, strict=True) if n.ancestor or n.changed]
    for row in shown[:max_rows]:
        row = row.copy()
        row[1] = f"`{_md_escape(row[1])}`"
        lines.append("| " + " | ".join(row) + " |")
    if len(shown) > max_rows:
        lines.append(f"\n_{len(shown) - max_rows} more node(s) in the JSON report._")
    lines.append("")
    for label, text in _figures(result):
        lines.append(f"- {label}: {text}")
    for note in result.notes:
        lines.append(f"- note: {_md_escape(note)}")
    return "\n".join(lines) + "\n"
