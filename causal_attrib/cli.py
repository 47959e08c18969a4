"""Command-line interface: parse options, call the library, render, map outcomes to exit codes.

Nothing here computes anything; heavy modules are imported inside the commands so that
``causal-attrib --help`` stays instant.
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

import click

from . import __version__
from .exit_codes import BAD_INPUT, CausalAttribError, InputError, exit_code_for

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def output_options(func: Callable) -> Callable:
    """The output options every analysis command shares."""
    options = [
        click.option(
            "--format",
            "-f",
            "fmt",
            type=click.Choice(["table", "json", "markdown", "html"]),
            default="table",
            show_default=True,
            help="Output format.",
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, writable=False, path_type=Path),
            help="Write the report to FILE (atomically) instead of stdout.",
        ),
        click.option("--quiet", "-q", is_flag=True, help="No progress messages or notes."),
        click.option("--debug", is_flag=True, help="Show a traceback on errors."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def write_output(text: str, output: Path | None) -> None:
    """Write to stdout, or atomically to ``output`` (nothing half-written is left behind)."""
    if output is None:
        click.echo(text, nl=False)
        return
    directory = output.resolve().parent
    if not directory.is_dir():
        raise InputError(f"cannot write --output {output}: directory {directory} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{output.name}.", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"cannot write --output {output}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        # mkstemp makes the file private (0600); a report gets the mode any new file gets
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, output)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"cannot write --output {output}: {exc.strerror or exc}") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def report(result, opts: dict, **render_options) -> None:
    """Notes to stderr (unless quiet), then the rendered result to stdout or --output."""
    from .reports import render

    clear_status()
    if not opts["quiet"]:
        for note in result.notes:
            click.echo(f"note: {note}", err=True)
    color = use_color(opts["output"])
    write_output(render(result, opts["fmt"], color=color, **render_options), opts["output"])


def use_color(output: Path | None) -> bool:
    """Colour only on a terminal, never into files, and never when NO_COLOR is set."""
    return output is None and sys.stdout.isatty() and not os.environ.get("NO_COLOR")


class StatusLine:
    """Progress on a terminal: one stderr line, rewritten at each message, cleared when the
    command prints anything else (notes, errors) or ends. Dim unless ``NO_COLOR`` is set."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.shown = False
        self.dim = not os.environ.get("NO_COLOR")
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        text = f"… {message} [{time.monotonic() - self.start:.0f} s]"
        if self.dim:
            text = f"\x1b[2m{text}\x1b[0m"
        with self._lock:
            click.echo(f"\r\x1b[2K{text}", err=True, nl=False)
            self.shown = True

    def clear(self) -> None:
        """Remove the status line, so what follows starts on a clean line."""
        with self._lock:
            if self.shown:
                click.echo("\r\x1b[2K", err=True, nl=False)
                self.shown = False


_status: StatusLine | None = None


def stderr_printer(quiet: bool) -> Callable[[str], None] | None:
    """Progress goes to stderr, and only when it is a terminal (and not ``--quiet``)."""
    global _status
    if quiet or not sys.stderr.isatty():
        return None
    _status = StatusLine()
    return _status


def clear_status() -> None:
    """Clear the progress line, if one is showing."""
    if _status is not None:
        _status.clear()


def run_command(func: Callable) -> Callable:
    """Turn library errors into one-line messages and documented exit codes."""

    @functools.wraps(func)
    def wrapper(**kwargs):
        debug = kwargs.get("debug", False)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                code = func(**kwargs)
            clear_status()
            if not kwargs.get("quiet", False):
                for line in _warning_lines(caught):
                    click.echo(line, err=True)
        except (click.exceptions.Exit, click.ClickException):
            clear_status()
            raise
        except CausalAttribError as exc:
            clear_status()
            if debug:
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            code = exit_code_for(error=exc)
        except KeyboardInterrupt:
            clear_status()
            click.echo("interrupted", err=True)
            code = 130
        except Exception as exc:  # anything else is a bug: say so, keep it to one line
            clear_status()
            if debug:
                traceback.print_exc()
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            click.echo(
                f"internal error: {type(exc).__name__}: {first} (rerun with --debug and report it)",
                err=True,
            )
            code = exit_code_for(error=exc)
        sys.exit(code)

    return wrapper


class OneLineErrors(click.Group):
    """A command group whose usage errors are one line on stderr, with exit code 2.

    Click prints a usage block and the error over several lines; scripts and CI logs read
    better with one ``error:`` line that names the problem and where to get help.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run the CLI; in standalone mode, exit with the documented code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.Abort:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare command: help, as asked
            click.echo(exc.ctx.get_help(), err=True)
            sys.exit(BAD_INPUT)
        except click.ClickException as exc:
            message = " ".join(exc.format_message().split())
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} -h')" if ctx is not None else ""
            click.echo(f"error: {message}{where}", err=True)
            sys.exit(BAD_INPUT)
        sys.exit(result if isinstance(result, int) else 0)


def _warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    """Library warnings as one deduplicated ``warning:`` line each, in order of first sight."""
    lines: dict[str, None] = {}
    for w in caught:
        text = " ".join(str(w.message).split())
        lines[f"warning: {text} ({w.category.__name__})"] = None
    return list(lines)


@click.group(cls=OneLineErrors, context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="causal-attrib")
def main() -> None:
    """Explain why a metric changed, with a causal graph instead of a hunch."""


def model_options(func: Callable) -> Callable:
    """Options about the data's types and the randomness, shared by the analyses."""
    options = [
        click.option(
            "--categorical",
            "-c",
            multiple=True,
            help="Treat this numeric column as categorical (repeatable).",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def max_rows_option(default: int, what: str) -> Callable:
    """``--max-rows`` with a per-command default; 0 on the command line means all rows
    (``None`` for the library, which validates the value)."""
    return click.option(
        "--max-rows",
        type=int,
        default=default,
        show_default=True,
        callback=lambda _ctx, _param, value: value or None,
        help=f"{what} (0: all rows).",
    )


def top_option(what: str) -> Callable:
    """``--top``: how many rows a ranking table shows (at least 1)."""

    def at_least_one(_ctx, _param, value: int) -> int:
        if value < 1:
            raise click.BadParameter(f"--top must be at least 1, not {value}")
        return value

    return click.option(
        "--top", type=int, default=10, show_default=True, callback=at_least_one, help=what
    )


def graph_options(func: Callable) -> Callable:
    """The graph options every analysis command shares."""
    options = [
        click.option("--graph", "-g", required=True, help="Causal DAG file ('-' for stdin)."),
        click.option(
            "--graph-format",
            type=click.Choice(
                ["dot", "dagitty", "gml", "graphml", "json", "edgelist", "adjacency"]
            ),
            help="Graph format (default: from the extension, else sniffed).",
        ),
        click.option(
            "--reverse",
            is_flag=True,
            help="Flip every edge (a call graph caller->callee is the causal graph reversed).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command(context_settings=CONTEXT)
@graph_options
@click.option("--before", "-b", help="Data of the earlier period (CSV, TSV, Parquet, JSONL).")
@click.option("--after", "-a", help="Data of the later period.")
@click.option("--data", "-d", help="One table holding both periods (with --period-column).")
@click.option("--period-column", help="Column of --data telling the periods apart.")
@click.option("--before-value", help="Value of --period-column that marks the before period.")
@click.option("--after-value", help="Value of --period-column that marks the after period.")
@click.option("--target", "-t", required=True, help="Node whose statistic changed.")
@click.option(
    "--statistic",
    "-s",
    default="mean",
    show_default=True,
    help="mean, median, std, var, or a quantile pNN (p95, p99.9).",
)
@click.option("--target-level", help="Categorical target: the level whose share to explain.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="FDR for change flags.")
@click.option("--dropna", is_flag=True, help="Drop rows with missing values (and say how many).")
@click.option(
    "--attribute-to",
    type=click.Choice(["changed", "all"]),
    default="changed",
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
@model_options
@output_options
@run_command
def explain(**opts) -> int:
    """Attribute the change of TARGET's statistic to changed causal mechanisms.

    \b
    Example:
      causal-attrib explain --graph shop.dot --before last_week.csv \\
          --after this_week.csv --target checkout_latency --statistic p95
    """
    from .data_io import read_table, split_periods
    from .distribution_change import explain as run_explain
    from .graph_io import load_graph
    from .parallel import resolve_engine
    from .segments import explain_segments

    _one_stdin(opts, ("graph", "before", "after", "data"))
    engine = resolve_engine(
        n_jobs=opts["jobs"],
        scheduler=opts["scheduler"],
        default="processes" if opts["by"] else "threads",
    )
    graph = load_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    before, after = _periods(opts, read_table, split_periods)
    common = dict(
        statistic=opts["statistic"],
        alpha=opts["alpha"],
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
        progress=stderr_printer(opts["quiet"]),
    )
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
        result = run_explain(graph, before, after, opts["target"], **common)
    report(result, opts)
    return exit_code_for(check_failed=opts["fail_on_change"] and bool(result.changed_ancestors))


def _one_stdin(opts: dict, inputs: tuple[str, ...]) -> None:
    """stdin can feed one input only; say which options competed for it."""
    users = [o for o in inputs if opts[o] == "-"]
    if len(users) > 1:
        names = " and ".join(f"--{o}" for o in users)
        raise InputError(f"only one input can read stdin ('-'), but {names} both ask to")


def _periods(opts: dict, read_table, split_periods):
    """Read the before/after tables from either layout, rejecting mixed or partial use."""
    pair = opts["before"] is not None or opts["after"] is not None
    single = opts["data"] is not None
    period = [opts["period_column"], opts["before_value"], opts["after_value"]]
    if pair and single:
        raise InputError("give either --before and --after, or --data with --period-column")
    if single:
        if any(p is None for p in period):
            raise InputError("--data needs --period-column, --before-value and --after-value")
        table = read_table(opts["data"], "--data")
        return split_periods(table, *period)
    if any(p is not None for p in period):
        raise InputError("--period-column and its values go with --data, not --before/--after")
    if opts["before"] is None or opts["after"] is None:
        raise InputError("give both --before and --after (or --data with --period-column)")
    return read_table(opts["before"], "--before"), read_table(opts["after"], "--after")


@main.command(context_settings=CONTEXT)
@graph_options
@click.option("--reference", "-r", required=True, help="Rows from normal operation.")
@click.option(
    "--anomalies", "-a", required=True, help="Anomalous row(s): one outlier or an incident window."
)
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
    type=click.Choice(["both", "high", "low"]),
    default="both",
    show_default=True,
    help="Which deviations of the target count (e.g. high latency, low availability).",
)
@click.option(
    "--fit-on",
    type=click.Choice(["both", "reference"]),
    default="both",
    show_default=True,
    help="Fit mechanisms on reference and anomalous rows, or on the reference only.",
)
@click.option(
    "--attribute",
    type=click.Choice(["anomalous", "all"]),
    default="anomalous",
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
@model_options
@output_options
@run_command
def anomaly(**opts) -> int:
    """Find the root causes of anomalous values of TARGET, row by row and over the window.

    \b
    Example:
      causal-attrib anomaly --graph services.dot --reference normal.csv \\
          --anomalies incident.csv --target PetSite
    """
    from .anomalies import attribute_anomalies
    from .data_io import read_table
    from .graph_io import load_graph

    _one_stdin(opts, ("graph", "reference", "anomalies"))
    graph = load_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"])
    result = attribute_anomalies(
        graph,
        read_table(opts["reference"], "--reference"),
        read_table(opts["anomalies"], "--anomalies"),
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
        progress=stderr_printer(opts["quiet"]),
    )
    report(result, opts, top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_anomaly"] and bool(result.anomalous_rows))


@main.command(context_settings=CONTEXT)
@graph_options
@click.option("--data", "-d", required=True, help="Observations of the graph's nodes.")
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
@model_options
@output_options
@run_command
def check(**opts) -> int:
    """Test whether the data are consistent with the causal graph.

    Tests every independence the graph implies (each node independent of its
    non-descendants given its parents), compares the share the data reject with random
    relabellings of the graph, and suggests edges that would remove violations.

    \b
    Example:
      causal-attrib check --graph services.dot --data last_week.csv
    """
    from .graph_check import check_graph
    from .graph_io import load_graph

    _one_stdin(opts, ("graph", "data"))
    graph = load_graph(opts["graph"], opts["graph_format"], reverse=opts["reverse"], validate=False)
    result = check_graph(
        graph,
        opts["data"],
        target=opts["target"],
        categorical=opts["categorical"],
        alpha=opts["alpha"],
        n_permutations=opts["permutations"],
        max_suggestions=opts["suggestions"],
        dropna=opts["dropna"],
        max_rows=opts["max_rows"],
        seed=opts["seed"],
        progress=stderr_printer(opts["quiet"]),
    )
    report(result, opts, top=opts["top"])
    return exit_code_for(check_failed=opts["fail_on_violation"] and result.failed)


@main.command(context_settings=CONTEXT)
@click.argument(
    "name", default="explain", type=click.Choice(["explain", "anomaly", "check", "segments"])
)
def schema(name: str) -> None:
    """Print the JSON Schema of a command's JSON output (for validating it in CI)."""
    from .schemas import schema_text

    click.echo(schema_text(name), nl=False)
