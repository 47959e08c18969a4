"""``causal-attrib graph``: the causal service graph from distributed traces."""

from __future__ import annotations

from pathlib import Path

import click

from ..choices import CycleRule, GraphOutput
from ..exit_codes import exit_code_for
from .app import CONTEXT, run_command
from .console import Console, write_output
from .options import choice
from .spans import notes, quiet_debug, span_columns, span_files, span_options


@click.command(context_settings=CONTEXT)
@span_options
@click.option(
    "--min-calls",
    type=int,
    default=1,
    show_default=True,
    help="Leave out edges with fewer calls than this (with a note).",
)
@click.option(
    "--cycles",
    type=choice(CycleRule),
    default=CycleRule.DROP.value,
    show_default=True,
    help="Mutual calls: drop the edge of each cycle with the fewest calls, or keep it as "
    "a lag-1 edge (for --time-column).",
)
@click.option(
    "--format",
    "-f",
    "fmt",
    type=choice(GraphOutput),
    default=GraphOutput.DOT.value,
    show_default=True,
    help="Graph format (each is read back by --graph).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=False, path_type=Path),
    help="Write the graph to FILE (atomically) instead of stdout.",
)
@quiet_debug
@run_command
def graph(console: Console, **opts) -> int:
    """Write the causal service graph of distributed traces: callee -> caller.

    A span whose parent runs in another service is a call from the parent's service to
    the span's; a callee's latency and errors feed its caller's, so each edge points from
    callee to caller and carries its number of calls.

    \b
    Example:
      causal-attrib graph --from-traces spans.json -o services.dot
    """
    from ..analyses.traces import service_graph
    from ..rendering.traces import graph_text

    result = service_graph(
        span_files(opts),
        trace_format=opts["trace_format"],
        columns=span_columns(opts["span_column"]),
        service_from=opts["service_from"],
        min_calls=opts["min_calls"],
        cycles=opts["cycles"],
        progress=console.progress(),
    )
    console.clear()
    notes(console, result.notes)
    write_output(graph_text(result, opts["fmt"]), opts["output"])
    return exit_code_for()
