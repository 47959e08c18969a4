"""``causal-attrib fit``: fit the causal model once and save it, to answer later questions
(``anomaly --model``) without fitting again."""

from __future__ import annotations

from pathlib import Path

import click

from .app import CONTEXT, run_command
from .console import Console
from .options import graph_options, max_rows_option, model_options, one_stdin


@click.command(context_settings=CONTEXT)
@graph_options
@click.option("--data", "-d", required=True, help="Rows from normal operation ('-' for stdin).")
@max_rows_option(250_000, "Fit on a seeded sample of this many rows")
@model_options
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The model file to write (replaced atomically).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress messages or notes.")
@click.option("--debug", is_flag=True, help="Show a traceback on errors.")
@run_command
def fit(console: Console, **opts) -> int:
    """Fit one mechanism per node on normal data and save the model to a file.

    The file holds no code (JSON and NumPy arrays; see docs/saved-models.md); the same
    model answers the same after a restart.

    \b
    Example:
      causal-attrib fit --graph services.dot --data last_week.csv -o shop.model
      causal-attrib anomaly --model shop.model --anomalies incident.csv --target frontend
    """
    from ..analyses.model import fit as fit_model
    from ..inputs.graphs import read_graph

    one_stdin(opts, ("graph", "data"))
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    model = fit_model(
        graph,
        opts["data"],
        categorical=opts["categorical"],
        max_rows=opts["max_rows"],
        seed=opts["seed"],
        na_values=opts["na_values"],
        progress=console.progress(),
    )
    console.save_model(model, opts["output"])
    return 0
