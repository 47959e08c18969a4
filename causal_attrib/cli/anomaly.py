"""``causal-attrib anomaly``: the root causes of anomalous values of the target."""

from __future__ import annotations

import click

from ..choices import AttributeRows, Direction, FitOn
from ..errors import InputError
from ..exit_codes import exit_code_for
from .app import CONTEXT, run_command
from .console import Console
from .options import (
    choice,
    compare_option,
    graph_options,
    lags_option,
    max_rows_option,
    model_options,
    not_in_time_mode,
    one_stdin,
    output_options,
    second_opinion,
    time_column_option,
    top_option,
)


@click.command(context_settings=CONTEXT)
@graph_options
@click.option("--reference", "-r", help="Rows from normal operation.")
@click.option("--anomalies", "-a", help="Anomalous row(s): one outlier or an incident window.")
@click.option("--data", "-d", help="Time-series mode: one series holding reference and incident.")
@time_column_option
@click.option(
    "--incident",
    help="Time-series mode: START[/END] of the incident (the reference is before START), or "
    "'auto' to find the most recent onset in the target's or its ancestors' innovations.",
)
@click.option(
    "--since",
    help="Time-series mode with --incident auto: search for the onset at or after this time.",
)
@lags_option
@click.option("--target", "-t", required=True, help="Node whose anomaly to explain.")
@click.option(
    "--threshold",
    type=float,
    default=3.0,
    show_default=True,
    help="Family-wise anomaly threshold: a row is anomalous from THRESHOLD + ln(rows).",
)
@click.option(
    "--direction",
    type=choice(Direction),
    default=Direction.BOTH.value,
    show_default=True,
    help="Which deviations of the target count (e.g. high latency, low availability).",
)
@click.option(
    "--fit-on",
    type=choice(FitOn),
    default=FitOn.BOTH.value,
    show_default=True,
    help="Fit mechanisms on reference and anomalous rows, or on the reference only.",
)
@click.option(
    "--attribute",
    type=choice(AttributeRows),
    default=AttributeRows.ANOMALOUS.value,
    show_default=True,
    help="Attribute only rows whose target is anomalous, or every row.",
)
@click.option("--id-column", help="Column of --anomalies that labels its rows (e.g. a time).")
@click.option(
    "--samples", type=int, default=2000, show_default=True, help="Monte Carlo draws per coalition."
)
@click.option(
    "--permutations",
    type=int,
    default=120,
    show_default=True,
    help="Orderings averaged for the Shapley values (exact when fewer exist).",
)
@max_rows_option(250_000, "Fit on a seeded sample of this many reference rows")
@top_option("Causes shown in tables.")
@click.option(
    "--fail-on-anomaly",
    is_flag=True,
    help="Exit 1 if the target is anomalous in any row.",
)
@compare_option
@model_options
@output_options
@run_command
def anomaly(console: Console, **opts) -> int:
    """Find the root causes of anomalous values of TARGET, row by row and over the window.

    \b
    Example:
      causal-attrib anomaly --graph services.dot --reference normal.csv \\
          --anomalies incident.csv --target PetSite
    """
    from ..analyses.anomaly import attribute_anomalies
    from ..inputs.graphs import read_graph
    from ..inputs.tables import read_table

    one_stdin(opts, ("graph", "reference", "anomalies", "data"))
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    if opts["time_column"] is not None:
        return _incident(console, graph, opts)
    for option in ("data", "incident", "lags", "since"):
        if opts[option] is not None:
            raise InputError(f"--{option} needs --time-column (time-series mode)")
    if opts["reference"] is None or opts["anomalies"] is None:
        raise InputError("give --reference and --anomalies (or --data with --time-column)")
    reference = read_table(opts["reference"], "--reference")
    anomalies = read_table(opts["anomalies"], "--anomalies")
    result = attribute_anomalies(
        graph,
        reference,
        anomalies,
        opts["target"],
        categorical=opts["categorical"],
        threshold=opts["threshold"],
        direction=opts["direction"],
        fit_on=opts["fit_on"],
        attribute=opts["attribute"],
        id_column=opts["id_column"],
        n_samples=opts["samples"],
        n_permutations=opts["permutations"],
        max_rows=opts["max_rows"],
        seed=opts["seed"],
        progress=console.progress(),
    )
    if opts["compare_dowhy"]:
        inputs = dict(categorical=opts["categorical"], id_column=opts["id_column"])
        result = second_opinion(console, result, graph, reference, anomalies, **inputs)
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_anomaly"] and bool(result.anomalous_rows))


def _incident(console: Console, graph, opts: dict) -> int:
    """Time-series mode: one series (``--data``), or the reference and the incident as two
    tables whose rows join in time order (the incident starts at its first row)."""
    from ..analyses.incident import attribute_incident
    from ..inputs.tables import read_table

    not_in_time_mode(opts, ("compare_dowhy", "id_column", "categorical"))
    if opts["data"] is not None:
        if opts["reference"] or opts["anomalies"]:
            raise InputError("give --data, or --reference and --anomalies, not both")
        table, incident = read_table(opts["data"], "--data"), opts["incident"] or "auto"
    elif opts["reference"] is None or opts["anomalies"] is None:
        raise InputError("time-series mode needs --data, or --reference and --anomalies")
    else:
        if opts["incident"] is not None:
            raise InputError("--incident cuts --data; with --anomalies the incident is that table")
        reference = read_table(opts["reference"], "--reference")
        anomalies = read_table(opts["anomalies"], "--anomalies")
        table, incident = _joined(reference, anomalies, opts["time_column"])
    result = attribute_incident(
        graph,
        table,
        opts["target"],
        time_column=opts["time_column"],
        incident=incident,
        since=opts["since"],
        lags=opts["lags"],
        threshold=opts["threshold"],
        direction=opts["direction"],
        fit_on=opts["fit_on"],
        n_samples=opts["samples"],
        n_permutations=opts["permutations"],
        seed=opts["seed"],
        progress=console.progress(),
    )
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_anomaly"] and bool(result.anomalous_rows))


def _joined(reference, anomalies, column: str):
    """The two tables as one series and the incident's start (the anomalies' first time)."""
    import pandas as pd

    from ..inputs.series import read_series

    first = read_series(anomalies, column, "the anomalies data")
    return pd.concat([reference, anomalies], ignore_index=True), first.axis.format(first.times[0])
