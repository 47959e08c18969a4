"""``causal-attrib explain``: why a statistic of the target changed between two periods
(and, with ``--by``, in every segment)."""

from __future__ import annotations

import click

from ..choices import AttributeTo, EngineKind
from ..engine import Engine
from ..errors import InputError
from ..exit_codes import exit_code_for
from .app import CONTEXT, run_command
from .console import Console
from .options import (
    INPUT,
    choice,
    compare_option,
    graph_options,
    max_rows_option,
    model_options,
    not_in_time_mode,
    one_stdin,
    output_options,
    second_opinion,
    statistic_completion,
    time_options,
)


@click.command(context_settings=CONTEXT)
@graph_options
@click.option(
    "--before", "-b", type=INPUT, help="Data of the earlier period (CSV, TSV, Parquet, JSONL)."
)
@click.option("--after", "-a", type=INPUT, help="Data of the later period.")
@click.option(
    "--data",
    "-d",
    type=INPUT,
    help="One table holding both periods (with --period-column, or --time-column and "
    "--split-at or the windows).",
)
@click.option("--period-column", help="Column of --data telling the periods apart.")
@click.option("--before-value", help="Value of --period-column that marks the before period.")
@click.option("--after-value", help="Value of --period-column that marks the after period.")
@click.option("--target", "-t", required=True, help="Node whose statistic changed.")
@click.option(
    "--statistic",
    "-s",
    default="mean",
    show_default=True,
    shell_complete=statistic_completion("mean", "median", "std", "var", "p50", "p90", "p95", "p99"),
    help="mean, median, std, var, or a quantile pNN (p95, p99.9).",
)
@click.option("--target-level", help="Categorical target: the level whose share to explain.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="FDR for change flags.")
@click.option(
    "--min-effect",
    type=float,
    default=0.0,
    show_default=True,
    help="Also require this effect size to flag (noise SDs; 0.1 drops immaterial changes).",
)
@click.option("--dropna", is_flag=True, help="Drop rows with missing values (and say how many).")
@click.option(
    "--attribute-to",
    type=choice(AttributeTo),
    default=AttributeTo.CHANGED.value,
    show_default=True,
    help="Shapley players: flagged mechanisms only, or every ancestor.",
)
@click.option(
    "--bootstrap", type=int, default=0, show_default=True, help="Resamples for intervals."
)
@click.option(
    "--confidence", type=float, default=0.95, show_default=True, help="Interval coverage."
)
@click.option(
    "--samples",
    type=int,
    default=20_000,
    show_default=True,
    help="Monte Carlo draws per intervention.",
)
@max_rows_option(250_000, "Fit and test on a seeded sample of this many rows per period")
@click.option(
    "--by",
    multiple=True,
    help="Explain every segment of this column separately, and across them (repeatable).",
)
@click.option(
    "--min-segment-rows",
    type=int,
    default=30,
    show_default=True,
    help="With --by: fewest rows per period a segment needs (smaller ones are skipped).",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    help="Local workers [default: one per core]: threads, or processes with --by. The output "
    "is the same for any value.",
)
@click.option(
    "--scheduler",
    envvar="CAUSAL_ATTRIB_SCHEDULER",
    help="Run the work on this Dask scheduler (tcp://host:8786; env CAUSAL_ATTRIB_SCHEDULER). "
    "Needs the dask extra.",
)
@click.option(
    "--fail-on-change",
    is_flag=True,
    help="Exit 1 if any mechanism upstream of the target changed.",
)
@click.option(
    "--check",
    "check_graph",
    is_flag=True,
    help="Also check the graph against the before data (see `causal-attrib check`).",
)
@time_options
@compare_option
@model_options
@output_options
@run_command
def explain(console: Console, **opts) -> int:
    """Attribute the change of TARGET's statistic to changed causal mechanisms.

    \b
    Example:
      causal-attrib explain --graph shop.dot --before last_week.csv \\
          --after this_week.csv --target checkout_latency --statistic p95
    """
    from ..analyses.explain import explain as run_explain
    from ..analyses.segments import explain_segments
    from ..inputs.graphs import read_graph

    one_stdin(opts, ("graph", "before", "after", "data"))
    engine = engine_for(opts["jobs"], opts["scheduler"], segments=bool(opts["by"]))
    graph = read_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    common = _analysis_options(console, opts, engine)
    if opts["time_column"] is not None:
        return _explain_series(console, graph, opts, common)
    _no_time_options(opts)
    # without --by or --compare-dowhy the library reads the files itself, so it holds the
    # only copy of the tables and frees them once prepared (1.6 GB at 1,000 x 100,000)
    before, after = _periods(opts, read=bool(opts["by"] or opts["compare_dowhy"]))
    if opts["by"] and opts["compare_dowhy"]:
        raise InputError("--compare-dowhy compares one analysis: leave out --by")

    if opts["by"]:
        result = explain_segments(
            graph,
            before,
            after,
            opts["target"],
            opts["by"],
            min_rows=opts["min_segment_rows"],
            **common,
        )
    else:
        na_values = opts["na_values"]  # the files may be read by the library
        result = run_explain(graph, before, after, opts["target"], na_values=na_values, **common)
        if opts["compare_dowhy"]:
            result = second_opinion(console, result, graph, before, after)
    console.report(result, opts["fmt"], opts["output"])
    return exit_code_for(check_failed=opts["fail_on_change"] and result.fails_change_gate())


def _no_time_options(opts: dict) -> None:
    given = [
        o for o in ("split_at", "before_window", "after_window", "lags") if opts[o] is not None
    ]
    if given:
        raise InputError(f"--{given[0].replace('_', '-')} needs --time-column (time-series mode)")


def _analysis_options(console: Console, opts: dict, engine: Engine) -> dict:
    """The options every form of ``explain`` passes to the library."""
    return dict(
        statistic=opts["statistic"],
        alpha=opts["alpha"],
        min_effect=opts["min_effect"],
        categorical=opts["categorical"],
        target_level=opts["target_level"],
        dropna=opts["dropna"],
        attribute_to=opts["attribute_to"],
        bootstrap=opts["bootstrap"],
        confidence=opts["confidence"],
        n_samples=opts["samples"],
        max_rows=opts["max_rows"],
        check=opts["check_graph"],
        engine=engine,
        seed=opts["seed"],
        progress=console.progress(),
    )


def _explain_series(console: Console, graph, opts: dict, common: dict) -> int:
    """Time-series mode: one table cut by time, or two tables each a series."""
    from ..analyses.explain import explain as run_explain
    from ..inputs.periods import TimeSpec
    from ..inputs.tables import read_table

    not_in_time_mode(opts, ("by", "compare_dowhy", "period_column", "before_value", "after_value"))
    spec = TimeSpec(
        opts["time_column"], opts["split_at"], opts["before_window"], opts["after_window"],
        opts["lags"],
    )  # fmt: skip
    tables = {k: opts[k] for k in ("data", "before", "after") if opts[k] is not None}
    tables = {k: read_table(v, f"--{k}", opts["na_values"]) for k, v in tables.items()}
    result = run_explain(graph, target=opts["target"], time=spec, **common, **tables)
    console.report(result, opts["fmt"], opts["output"])
    return exit_code_for(check_failed=opts["fail_on_change"] and result.fails_change_gate())


def engine_for(jobs: int | None, scheduler: str | None, segments: bool) -> Engine:
    """Where the work runs: a Dask cluster when a scheduler is given (``--scheduler`` or
    ``CAUSAL_ATTRIB_SCHEDULER``: the environment is read here, never by the library),
    else local processes for segments and threads for one analysis."""
    if scheduler:
        return Engine(EngineKind.DASK, jobs, scheduler)
    return Engine(EngineKind.PROCESSES if segments else EngineKind.THREADS, jobs)


def _periods(opts: dict, read: bool = True):
    """Read the before/after tables from either layout, rejecting mixed or partial use
    (with ``read=False``, two files are left for the analysis to read)."""
    from ..inputs.tables import read_table, split_periods

    pair = opts["before"] is not None or opts["after"] is not None
    single = opts["data"] is not None
    period = [opts["period_column"], opts["before_value"], opts["after_value"]]
    if pair and single:
        raise InputError("give either --before and --after, or --data with --period-column")
    if single:
        if any(p is None for p in period):
            raise InputError("--data needs --period-column, --before-value and --after-value")
        table = read_table(opts["data"], "--data", opts["na_values"])
        return split_periods(table, *period)
    if any(p is not None for p in period):
        raise InputError("--period-column and its values go with --data, not --before/--after")
    if opts["before"] is None or opts["after"] is None:
        raise InputError("give both --before and --after (or --data with --period-column)")
    if not read:
        return opts["before"], opts["after"]
    tokens = opts["na_values"]
    return read_table(opts["before"], "--before", tokens), read_table(
        opts["after"], "--after", tokens
    )
