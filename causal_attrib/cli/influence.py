"""``causal-attrib influence``: how much of the target's spread each node's own noise
contributes (intrinsic causal contributions)."""

from __future__ import annotations

import click

from .app import CONTEXT, run_command
from .console import Console
from .options import (
    INPUT,
    graph_options,
    max_rows_option,
    model_options,
    one_stdin,
    output_options,
    statistic_completion,
    top_option,
)


@click.command(context_settings=CONTEXT)
@graph_options
@click.option(
    "--data", "-d", type=INPUT, required=True, help="Observations of the target and its causes."
)
@click.option("--target", "-t", required=True, help="Node whose spread to attribute.")
@click.option(
    "--statistic",
    "-s",
    default="var",
    show_default=True,
    shell_complete=statistic_completion("var", "std", "mean-abs-deviation", "p90", "p95", "p99"),
    help="var (contributions add up to the variance), std, mean-abs-deviation, or pNN "
    "(a percentile of the absolute deviation from the median, e.g. p95).",
)
@click.option("--target-level", help="Categorical target: the level whose indicator to use.")
@click.option("--samples", type=int, default=20_000, show_default=True, help="Monte Carlo draws.")
@click.option(
    "--permutations",
    type=int,
    default=256,
    show_default=True,
    help="Orderings for the Shapley values beyond 10 nodes (exact up to 10).",
)
@max_rows_option(250_000, "Fit on a seeded sample of this many rows")
@click.option("--dropna", is_flag=True, help="Drop rows with missing values (and say how many).")
@click.option(
    "--edges",
    is_flag=True,
    help="Also measure the arrow strength of every edge into the target and its causes.",
)
@top_option("Nodes shown in tables.")
@model_options
@output_options
@run_command
def influence(console: Console, **opts) -> int:
    """How much of TARGET's spread each node's own noise contributes.

    Intrinsic causal contributions (Janzing et al.; DoWhy's intrinsic_causal_influence):
    each node gets its Shapley share of the target's variance owed to what was new at the
    node, not to what its parents passed on.

    \b
    Example:
      causal-attrib influence --graph services.dot --data last_week.csv --target checkout
    """
    from ..analyses.influence import intrinsic_influence
    from ..inputs.graphs import read_graph

    one_stdin(opts, ("graph", "data"))
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    result = intrinsic_influence(
        graph,
        opts["data"],
        opts["target"],
        statistic=opts["statistic"],
        target_level=opts["target_level"],
        categorical=opts["categorical"],
        na_values=opts["na_values"],
        n_samples=opts["samples"],
        n_permutations=opts["permutations"],
        dropna=opts["dropna"],
        max_rows=opts["max_rows"],
        seed=opts["seed"],
        edges=opts["edges"],
        progress=console.progress(),
    )
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return 0
