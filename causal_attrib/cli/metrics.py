"""``causal-attrib metrics``: per-service metrics per time window from distributed traces."""

from __future__ import annotations

from pathlib import Path

import click

from ..exit_codes import exit_code_for
from ..results.traces import METRICS
from .app import CONTEXT, run_command
from .console import Console, write_output
from .spans import notes, quiet_debug, span_columns, span_files, span_options


@click.command(context_settings=CONTEXT)
@span_options
@click.option(
    "--window",
    "-w",
    default="1m",
    show_default=True,
    help="Window length: 500ms, 30s, 1m, 5m, 1h (windows start at multiples of it, UTC).",
)
@click.option(
    "--metric",
    type=click.Choice(METRICS),
    help="Only this metric, one column per service named by the service (the graph's "
    "node names) [default: every metric, as service.metric columns].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=False, path_type=Path),
    help="Write the table (CSV) to FILE (atomically) instead of stdout.",
)
@quiet_debug
@run_command
def metrics(console: Console, **opts) -> int:
    """Write per-service metrics per time window from distributed traces (CSV).

    One row per window, first column 'time'; per service: requests, error_rate, and the
    p50/p90/p99 of request latency and of self time (latency less the time spent waiting
    on other services), in milliseconds. Ready for 'anomaly --data --time-column time'.

    \b
    Example:
      causal-attrib metrics --from-traces spans.json --window 1m -o metrics.csv
    """
    from ..analyses.traces import trace_metrics
    from ..rendering.traces import metrics_csv

    result = trace_metrics(
        span_files(opts),
        window=opts["window"],
        metric=opts["metric"],
        trace_format=opts["trace_format"],
        columns=span_columns(opts["span_column"]),
        service_from=opts["service_from"],
        progress=console.progress(),
    )
    console.clear()
    notes(console, result.notes)
    write_output(metrics_csv(result), opts["output"])
    return exit_code_for()
