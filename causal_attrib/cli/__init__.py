"""Command-line interface: parse options, call the library, render, map outcomes to exit codes.

A package with one file per command. Nothing here computes anything; heavy modules are
imported inside the commands so that ``causal-attrib --help`` stays instant.
"""

from __future__ import annotations

import click

from .. import __version__
from ..errors import InputError
from .anomaly import anomaly
from .app import CONTEXT, OneLineErrors
from .check import check
from .console import emit
from .explain import explain
from .fit import fit
from .graph import graph
from .influence import influence
from .metrics import metrics
from .schema import schema


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: written like a report, so a closed or full stdout is an error."""
    if not value or ctx.resilient_parsing:
        return
    try:
        emit(f"causal-attrib, version {__version__}\n")
    except InputError as exc:
        raise click.ClickException(str(exc)) from None
    ctx.exit()


@click.group(cls=OneLineErrors, context_settings=CONTEXT)
@click.option(
    "--version",
    "-V",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_version,
    help="Show the version and exit.",
)
def main() -> None:
    """Explain why a metric changed, with a causal graph instead of a hunch."""


for _command in (explain, anomaly, check, influence, fit, schema, graph, metrics):
    main.add_command(_command)

__all__ = ["main"]
