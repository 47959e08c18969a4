"""``python -m causal_attrib`` runs the CLI."""

from .cli import main

main(prog_name="causal-attrib")
