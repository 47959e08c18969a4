"""Tables of RESULTS.md from the rows `explain_vs_dowhy.py` measured (JSON lines)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

SINGLE = ("shift", "scale", "coef")
TOOLS = ("ours", "dowhy-defaults", "dowhy-configured")
NAMES = {
    "ours": "causal-attrib (defaults)",
    "dowhy-defaults": "DoWhy defaults",
    "dowhy-configured": "DoWhy configured like us",
}


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _pct(hits: int, n: int) -> str:
    return f"{hits}/{n} ({100 * hits / n:.0f} %)" if n else "-"


def _num(x, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def accuracy(rows: list[dict], tool: str, where=lambda r: True) -> list[str]:
    """One table line per row count: ranks, false flags, controls, time and memory."""
    out = []
    by_rows = defaultdict(list)
    for r in rows:
        if r["tool"] == tool and r.get("s") is not None and "change" in r and where(r):
            by_rows[r["rows"]].append(r)
    for n_rows, rs in sorted(by_rows.items()):
        single = [r for r in rs if r["change"] in SINGLE]
        material = [r for r in single if r["material"]]
        two = [r for r in rs if r["change"] == "two"]
        control = [r for r in rs if r["change"] == "none"]
        out.append(
            f"| {NAMES[tool]} | {n_rows:,} | "
            f"{_pct(sum(r['rank'] == 1 for r in single), len(single))} | "
            f"{_pct(sum(r['rank'] == 1 for r in material), len(material))} | "
            f"{_pct(sum(bool(r['false_flags']) for r in single), len(single))} | "
            f"{_pct(sum(r['top'] for r in two), len(two))} | "
            f"{_pct(sum(bool(r['false_flags']) for r in control), len(control))} | "
            f"{_num(_median(r['s'] for r in rs))} s | "
            f"{_num(_median(r['mb'] for r in rs), '{:.0f}')} MB |"
        )
    return out


def breakdown(rows: list[dict]) -> list[str]:
    """Ours: rank-1 share per mechanism and change, at each row count."""
    cells = defaultdict(list)
    for r in rows:
        if r["tool"] == "ours" and r.get("change") in SINGLE:
            cells[(r["rows"], r["mechanism"], r["change"])].append(r["rank"] == 1)
    lines = [
        "| rows | mechanisms | shift | scale | coef |",
        "|---|---|---|---|---|",
    ]
    for n_rows in sorted({k[0] for k in cells}):
        for mech in ("linear", "nonlinear"):
            parts = [cells.get((n_rows, mech, c), []) for c in SINGLE]
            if not any(parts):
                continue
            lines.append(
                f"| {n_rows:,} | {mech} | " + " | ".join(_pct(sum(p), len(p)) for p in parts) + " |"
            )
    return lines


def versus(rows: list[dict]) -> tuple[list[str], dict]:
    """Per case measured with DoWhy: each tool's time, memory, rank and false flags."""
    by_case = defaultdict(dict)
    for r in rows:
        by_case[r["case"]][r["tool"]] = r
    lines = [
        "| case | ours | DoWhy defaults | DoWhy configured | speed-up vs defaults "
        "| vs configured |",
        "|---|---|---|---|---|---|",
    ]
    ratios = defaultdict(list)
    for case, tools in sorted(by_case.items(), key=lambda kv: (kv[1]["ours"]["nodes"], kv[0])):
        if "ours" not in tools or len(tools) == 1:
            continue
        cells, ours = [], tools["ours"]
        for tool in TOOLS:
            r = tools.get(tool)
            if r is None:
                cells.append("-")
            elif r.get("s") is None:
                cells.append(f"timeout ({r['timeout']:.0f} s)")
            else:
                flags = len(r.get("false_flags", []))
                cells.append(
                    f"{r['s']:.1f} s, {r['mb']:.0f} MB, rank {r.get('rank')}, {flags} false"
                )
        speedups = []
        for tool in TOOLS[1:]:
            r = tools.get(tool)
            if r and r.get("s"):
                ratio = r["s"] / ours["s"]
                size = f"{ours['nodes']} nodes" if "change" in ours else case
                ratios[(tool, size)].append(ratio)
                speedups.append(f"{ratio:.0f}x")
            else:
                speedups.append("-")
        lines.append(f"| {case} | " + " | ".join(cells + speedups) + " |")
    return lines, ratios


def scaling(rows: list[dict]) -> list[str]:
    """Ours: median wall time and peak memory by nodes and rows."""
    cells = defaultdict(list)
    for r in rows:
        if r["tool"] == "ours" and "change" in r:
            cells[(r["nodes"], r["rows"])].append(r)
    row_counts = sorted({k[1] for k in cells})
    lines = [
        "| nodes | " + " | ".join(f"{n:,} rows" for n in row_counts) + " |",
        "|---|" + "---|" * len(row_counts),
    ]
    for nodes in sorted({k[0] for k in cells}):
        parts = []
        for n in row_counts:
            rs = cells.get((nodes, n), [])
            parts.append(
                f"{_num(_median(r['s'] for r in rs))} s, "
                f"{_num(_median(r['mb'] for r in rs), '{:.0f}')} MB (n={len(rs)})"
                if rs
                else "-"
            )
        lines.append(f"| {nodes} | " + " | ".join(parts) + " |")
    return lines


def write_report(rows: list[dict], path: Path, command: str) -> None:
    """Write the tables to ``path``; text between the BEGIN/END markers is replaced, the
    rest of an existing file (the prose around the tables) is kept.

    A case measured twice for one tool (say ours in the grid and again beside DoWhy) counts
    once, with its last measurement, the one taken in the same run as DoWhy's.
    """
    from explain_vs_dowhy import machine

    rows = list({(r["case"], r["tool"]): r for r in rows}.values())
    head = [
        "| method | rows | true node first (one change) | same, material changes only | "
        "runs with a false flag (one change) | both true nodes on top (two changes) | "
        "no-change runs with any flag | median wall | median peak |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    table = head + [line for tool in TOOLS for line in accuracy(rows, tool)]
    vs_lines, ratios = versus(rows)
    medians = [
        f"- speed-up vs {NAMES[tool]}, {size}: median {statistics.median(values):.0f}x over "
        f"{len(values)} case(s), range {min(values):.0f}-{max(values):.0f}x"
        for (tool, size), values in sorted(ratios.items())
    ]
    # the same cases as DoWhy ran, for a like-for-like accuracy line
    dowhy_cases = {r["case"] for r in rows if r["tool"] != "ours"}
    like = head + [
        line for tool in TOOLS for line in accuracy(rows, tool, lambda r: r["case"] in dowhy_cases)
    ]
    generated = "\n".join(
        [
            "<!-- BEGIN generated by benchmarks/explain_vs_dowhy.py --report -->",
            f"Machine: {machine()}.",
            "",
            f"Tables made by `python benchmarks/explain_vs_dowhy.py {command}` from "
            f"{len(rows)} measured rows.",
            "",
            "### Accuracy, all synthetic cases",
            "",
            *table,
            "",
            "### Ours by mechanism and kind of change (true node first)",
            "",
            *breakdown(rows),
            "",
            "### Side by side with DoWhy (same cases, same run)",
            "",
            *like,
            "",
            *vs_lines,
            "",
            *medians,
            "",
            "### How time and memory grow (ours, whole process, medians)",
            "",
            *scaling(rows),
            "<!-- END generated -->",
        ]
    )
    text = path.read_text() if path.exists() else ""
    begin, end = "<!-- BEGIN generated", "<!-- END generated -->"
    if begin in text and end in text:
        text = text[: text.index(begin)] + generated + text[text.index(end) + len(end) :]
    else:
        text = text + ("\n" if text else "") + generated + "\n"
    path.write_text(text)
