"""``causal-attrib anomaly``: the root causes of anomalous values of the target."""

from __future__ import annotations

import click

from ..choices import AttributeRows, Direction, FitOn
from ..errors import InputError
from ..exit_codes import exit_code_for
from .app import CONTEXT, run_command
from .console import Console
from .options import (
    INPUT,
    choice,
    compare_option,
    graph_stack,
    lags_option,
    max_rows_option,
    model_option,
    model_options,
    not_in_time_mode,
    one_stdin,
    output_options,
    second_opinion,
    time_column_option,
    top_option,
)


@click.command(context_settings=CONTEXT)
@graph_stack(required=False)
@model_option
@click.option("--reference", "-r", type=INPUT, help="Rows from normal operation.")
@click.option(
    "--anomalies", "-a", type=INPUT, help="Anomalous row(s): one outlier or an incident window."
)
@click.option(
    "--data", "-d", type=INPUT, help="Time-series mode: one series holding reference and incident."
)
@time_column_option
@click.option(
    "--incident",
    help="Time-series mode: START[/END] of the incident, END excluded (the reference is "
    "before START; without END the incident runs to the last row), or 'auto' to find the "
    "most recent onset in the target's or its ancestors' innovations.",
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
@top_option("Causes shown in tables; the rows table lists the highest-scoring max(TOP, 20) rows.")
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
    if opts["model_file"] is not None:
        return _with_model(console, opts)
    if opts["graph"] is None:
        raise InputError("give --graph (or --model, a model saved by 'causal-attrib fit')")
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    if opts["time_column"] is not None:
        return _incident(console, graph, opts)
    for option in ("data", "incident", "lags", "since"):
        if opts[option] is not None:
            raise InputError(f"--{option} needs --time-column (time-series mode)")
    if opts["reference"] is None or opts["anomalies"] is None:
        raise InputError("give --reference and --anomalies (or --data with --time-column)")
    reference = read_table(opts["reference"], "--reference", opts["na_values"])
    anomalies = read_table(opts["anomalies"], "--anomalies", opts["na_values"])
    result = attribute_anomalies(
        graph, reference, anomalies, opts["target"], categorical=opts["categorical"],
        fit_on=opts["fit_on"], max_rows=opts["max_rows"], **_row_options(console, opts),
    )  # fmt: skip
    if opts["compare_dowhy"]:
        inputs = dict(categorical=opts["categorical"], id_column=opts["id_column"])
        result = second_opinion(console, result, graph, reference, anomalies, **inputs)
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_anomaly"] and bool(result.anomalous_rows))


def _row_options(console: Console, opts: dict) -> dict:
    """The options of scoring and attributing rows, with or without a saved model."""
    return dict(
        threshold=opts["threshold"], direction=opts["direction"], attribute=opts["attribute"],
        id_column=opts["id_column"], n_samples=opts["samples"],
        n_permutations=opts["permutations"], seed=opts["seed"], progress=console.progress(),
    )  # fmt: skip


def _with_model(console: Console, opts: dict) -> int:
    """Rows scored by a saved model: no fitting, the model's graph and reference."""
    from ..analyses.model import load_model

    for option in ("graph", "reference", "data", "time_column", "incident", "lags", "since"):
        if opts[option] is not None:
            raise InputError(f"--{option.replace('_', '-')} does not go with --model (the model "
                             "brings its graph and reference data)")  # fmt: skip
    not_with = ("compare_dowhy", "categorical", "reverse", "graph_format")
    for option in not_with:
        if opts[option]:
            raise InputError(f"--{option.replace('_', '-')} does not go with --model")
    refuse_given({"fit_on": "a saved model was fitted on its reference alone",
                  "max_rows": "the model was fitted when it was saved: give it to 'fit'"},
                 "--model")  # fmt: skip
    if opts["anomalies"] is None:
        raise InputError("--model needs --anomalies: the rows to explain")
    model = load_model(opts["model_file"])
    result = model.anomalies(
        opts["anomalies"], opts["target"], na_values=opts["na_values"],
        **_row_options(console, opts),
    )  # fmt: skip
    console.report(result, opts["fmt"], opts["output"], top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_anomaly"] and bool(result.anomalous_rows))


def refuse_given(options: dict[str, str], mode: str) -> None:
    """Refuse each of ``options`` (name: why) the user gave: they have defaults, so only
    Click's parameter source tells a given value from one left alone."""
    source = click.get_current_context().get_parameter_source
    for option, why in options.items():
        if source(option) is not click.core.ParameterSource.DEFAULT:
            raise InputError(f"--{option.replace('_', '-')} does not go with {mode} ({why})")


def _incident(console: Console, graph, opts: dict) -> int:
    """Time-series mode: one series (``--data``), or the reference and the incident as two
    tables whose rows join in time order (the incident starts at its first row)."""
    from ..analyses.incident import attribute_incident
    from ..inputs.tables import read_table

    not_in_time_mode(opts, ("compare_dowhy", "id_column", "categorical"))
    refuse_given({"max_rows": "every reference row is read, in time order",
                  "attribute": "an incident attributes its anomalous rows, or its most "
                  "unusual ones when none is"}, "--time-column")  # fmt: skip
    if opts["data"] is not None:
        if opts["reference"] or opts["anomalies"]:
            raise InputError("give --data, or --reference and --anomalies, not both")
        table = read_table(opts["data"], "--data", opts["na_values"])
        incident = opts["incident"] or "auto"
    elif opts["reference"] is None or opts["anomalies"] is None:
        raise InputError("time-series mode needs --data, or --reference and --anomalies")
    else:
        if opts["incident"] is not None:
            raise InputError("--incident cuts --data; with --anomalies the incident is that table")
        reference = read_table(opts["reference"], "--reference", opts["na_values"])
        anomalies = read_table(opts["anomalies"], "--anomalies", opts["na_values"])
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
    """The two tables as one series and the incident's start (the anomalies' first time);
    the anomalies must come after the reference in time, and errors say so in terms of the
    two tables the user gave (never an --incident they did not give)."""
    import pandas as pd

    from ..inputs.series import read_series

    before = read_series(reference, column, "the reference data")
    first = read_series(anomalies, column, "the anomalies data")
    start = first.axis.format(first.times[0])
    if before.axis.kind != first.axis.kind or before.axis.zoned != first.axis.zoned:
        raise InputError(
            f"--time-column {column!r} reads differently in --reference ({before.axis.kind}s"
            f"{' with a zone' if before.axis.zoned else ''}) and --anomalies "
            f"({first.axis.kind}s{' with a zone' if first.axis.zoned else ''})"
        )
    last = before.axis.format(before.times[-1])
    if _exact(before, -1) >= _exact(first, 0):
        raise InputError(
            f"the anomalies must come after the reference in time: the first time of "
            f"--anomalies ({start}) is not after the last of --reference ({last})"
        )
    return pd.concat([reference, anomalies], ignore_index=True), start


def _exact(series, row: int) -> int | float:
    """A row's time as an exact number (offsets are floats from the series' origin)."""
    value = series.times[row]
    return series.axis.origin + (round(value * 1e9) if series.axis.kind == "timestamp" else value)
