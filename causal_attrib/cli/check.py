"""``causal-attrib check``: are the data consistent with the causal graph?"""

from __future__ import annotations

import click

from ..errors import InputError
from ..exit_codes import exit_code_for
from .app import CONTEXT, run_command
from .console import Console
from .options import (
    INPUT,
    graph_options,
    lags_option,
    max_rows_option,
    model_options,
    one_stdin,
    output_options,
    time_column_option,
    top_option,
)


@click.command(context_settings=CONTEXT)
@graph_options
@click.option("--data", "-d", type=INPUT, required=True, help="Observations of the graph's nodes.")
@click.option("--target", "-t", help="Node of interest: report nodes that cannot influence it.")
@click.option(
    "--alpha",
    type=float,
    default=0.05,
    show_default=True,
    help="FDR for violated implications; level of the other tests.",
)
@click.option(
    "--permutations",
    type=int,
    default=100,
    show_default=True,
    help="Random relabellings of the graph to compare with (0: skip).",
)
@click.option(
    "--suggestions",
    type=int,
    default=3,
    show_default=True,
    help="Added edges to suggest at most (0: none).",
)
@max_rows_option(20_000, "Test on a seeded sample of this many rows")
@click.option("--dropna", is_flag=True, help="Drop rows with missing values (and say how many).")
@top_option("Violations shown in tables.")
@click.option(
    "--fail-on-violation",
    is_flag=True,
    help="Exit 1 unless the verdict is consistent (or untestable).",
)
@time_column_option
@lags_option
@model_options
@output_options
@run_command
def check(console: Console, **opts) -> int:
    """Test whether the data are consistent with the causal graph.

    Tests every independence the graph implies (each node independent of its
    non-descendants given its parents), compares the share the data reject with random
    relabellings of the graph, and suggests edges that would remove violations.

    \b
    Example:
      causal-attrib check --graph services.dot --data last_week.csv
    """
    from ..analyses.check import check_graph
    from ..inputs.graphs import read_graph

    one_stdin(opts, ("graph", "data"))
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"], validate=False)
    time = None
    if opts["time_column"] is not None:
        from ..inputs.periods import TimeSpec

        time = TimeSpec(opts["time_column"], lags=opts["lags"])
    elif opts["lags"] is not None:
        raise InputError("--lags needs --time-column (time-series mode)")
    result = check_graph(
        graph,
        opts["data"],
        time=time,
        target=opts["target"],
        categorical=opts["categorical"],
        na_values=opts["na_values"],
        alpha=opts["alpha"],
        n_permutations=opts["permutations"],
        max_suggestions=opts["suggestions"],
        dropna=opts["dropna"],
        max_rows=opts["max_rows"],
        seed=opts["seed"],
        progress=console.progress(),
    )
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_violation"] and result.failed)
