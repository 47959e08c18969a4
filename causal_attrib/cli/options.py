"""Option stacks the commands share. Choices come from :mod:`causal_attrib.choices`, the
same enums the library validates with."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import click

from ..choices import Format, GraphFormat, values
from ..errors import InputError


def choice(enum: type[StrEnum]) -> click.Choice:
    """A ``click.Choice`` of an enum's values."""
    return click.Choice(values(enum))


INPUT = click.Path(path_type=str)
"""A file option's type: shown as PATH and completed with file names by the shell. It checks
nothing itself ('-' is stdin; the readers give the one-line errors for missing files)."""


def statistic_completion(*names: str) -> Callable:
    """A ``shell_complete`` callback offering ``names`` (free-form options like
    ``--statistic``, which also take ``pNN``)."""

    def complete(_ctx, _param, incomplete: str) -> list[str]:
        return [n for n in names if n.startswith(incomplete)]

    return complete


def _stack(options: list[Callable]) -> Callable[[Callable], Callable]:
    def apply(func: Callable) -> Callable:
        for option in reversed(options):
            func = option(func)
        return func

    return apply


output_options = _stack(
    [
        click.option(
            "--format",
            "-f",
            "fmt",
            type=choice(Format),
            default=Format.TABLE.value,
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
)
"""The output options every analysis command shares."""

model_options = _stack(
    [
        click.option(
            "--categorical",
            "-c",
            multiple=True,
            help="Treat this numeric column as categorical (repeatable).",
        ),
        click.option(
            "--na-values",
            multiple=True,
            callback=lambda _ctx, _param, value: split_tokens(value),
            help="Also read these cell values as missing (repeatable or comma-separated; "
            "by default only empty cells are: None, NA or null in a text column are levels).",
        ),
        click.option("--seed", type=int, default=0, show_default=True, help="Random seed."),
    ]
)
"""Options about the data's types and the randomness, shared by the analyses."""

def graph_stack(required: bool = True) -> Callable[[Callable], Callable]:
    """The graph options; ``required=False`` where a saved model can bring the graph."""
    return _stack(
        [
            click.option(
                "--graph", "-g", type=INPUT, required=required,
                help="Causal DAG file ('-' for stdin).",
            ),
            click.option(
                "--graph-format",
                type=choice(GraphFormat),
                help="Graph format (default: from the extension, else sniffed).",
            ),
            click.option(
                "--reverse",
                is_flag=True,
                help="Flip every edge (a call graph caller->callee is the causal graph "
                "reversed).",
            ),
        ]
    )


graph_options = graph_stack()
"""The graph options every analysis command shares."""


def split_tokens(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--na-values`` as given: each value split at commas, empty pieces dropped."""
    return tuple(t for v in values for t in v.split(",") if t)


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


def one_stdin(opts: dict, inputs: tuple[str, ...]) -> None:
    """stdin can feed one input only; say which options competed for it."""
    users = [o for o in inputs if opts[o] == "-"]
    if len(users) > 1:
        names = " and ".join(f"--{o}" for o in users)
        raise InputError(f"only one input can read stdin ('-'), but {names} both ask to")


compare_option = click.option(
    "--compare-dowhy",
    is_flag=True,
    help="Also run DoWhy's reference method on the same inputs and report both rankings "
    "(needs the dowhy extra; minutes at 40 nodes).",
)


def second_opinion(console, result, graph, first, second, **inputs):
    """The result with DoWhy's ranking beside it, after a warning when DoWhy will be slow."""
    from ..bridges.compare import SLOW_NODES, compare_with_dowhy
    from ..bridges.dowhy import require_dowhy
    from ..inputs.graphs import LoadedGraph

    require_dowhy()  # the missing extra is a one-line error before any waiting
    nodes = len(graph.graph if isinstance(graph, LoadedGraph) else graph)
    if nodes >= SLOW_NODES:
        console.say(
            f"warning: --compare-dowhy: DoWhy's method takes minutes on {nodes} nodes "
            "(causal-attrib's answer is ready; waiting for DoWhy's)"
        )
    result = compare_with_dowhy(result, graph, first, second, progress=console.progress(), **inputs)
    if not console.quiet:
        console.say(f"DoWhy's {result.comparison.method} took {result.comparison.seconds:.1f} s")
    return result


time_column_option = click.option(
    "--time-column",
    help="Time-series mode: rows are ordered by this column (numbers or ISO 8601 "
    "timestamps); mechanisms get memory and edges may carry lags.",
)
lags_option = click.option(
    "--lags",
    type=int,
    default=None,
    help="Time-series mode: own and parents' past values each mechanism reads "
    "[default: chosen by BIC, 0-6].",
)


def time_options(func: Callable) -> Callable:
    """Options of a time-series ``explain``: the time column, how one table splits into
    periods, and the lag order."""
    return _stack(
        [
            time_column_option,
            click.option("--split-at", help="With --data in time mode: after starts at this time."),
            click.option("--before-window", help="With --data in time mode: START/END of before."),
            click.option("--after-window", help="With --data in time mode: START/END of after."),
            lags_option,
        ]
    )(func)


def not_in_time_mode(opts: dict, names: tuple[str, ...]) -> None:
    """Refuse options time-series mode does not take, naming the first one given."""
    for option in names:
        if opts[option]:
            name = option.replace("_", "-")
            raise InputError(f"--{name} is not available in time-series mode (--time-column)")


model_option = click.option(
    "--model",
    "-m",
    "model_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A model saved by 'causal-attrib fit': answer without fitting (brings the graph).",
)
"""``--model``: a saved model instead of a graph and reference data."""
