"""``causal-attrib schema``: the JSON Schema of a command's JSON output."""

from __future__ import annotations

import click

from ..choices import Command
from .app import CONTEXT
from .options import choice


@click.command(context_settings=CONTEXT)
@click.argument("name", default=Command.EXPLAIN.value, type=choice(Command))
def schema(name: str) -> None:
    """Print the JSON Schema of a command's JSON output (for validating it in CI)."""
    from ..schemas import schema_text

    click.echo(schema_text(name), nl=False)
