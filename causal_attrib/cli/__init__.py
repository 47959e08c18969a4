"""Command-line interface: parse options, call the library, render, map outcomes to exit codes.

A package with one file per command. Nothing here computes anything; heavy modules are
imported inside the commands so that ``causal-attrib --help`` stays instant.
"""

from __future__ import annotations

import click

from .. import __version__
from .anomaly import anomaly
from .app import CONTEXT, OneLineErrors
from .check import check
from .explain import explain
from .schema import schema


@click.group(cls=OneLineErrors, context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="causal-attrib")
def main() -> None:
    """Explain why a metric changed, with a causal graph instead of a hunch."""


for _command in (explain, anomaly, check, schema):
    main.add_command(_command)

__all__ = ["main"]
