"""``causal-attrib schema``: the JSON Schema of a command's JSON output."""

from __future__ import annotations

import click

from ..choices import Command
from .app import CONTEXT, run_command
from .console import Console, emit
from .options import choice


@click.command(context_settings=CONTEXT)
@click.argument("name", default=Command.EXPLAIN.value, type=choice(Command))
@run_command
def schema(console: Console, name: str) -> int:
    """Print the JSON Schema of a command's JSON output (for validating it in CI)."""
    from ..schemas import schema_text

    emit(schema_text(name))
    return 0
