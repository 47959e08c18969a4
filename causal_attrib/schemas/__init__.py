"""The JSON Schemas shipped with the package, for validating what the CLI prints."""

from __future__ import annotations

import json
from importlib import resources

from ..choices import Command, values

SCHEMAS = values(Command)
"""The commands whose JSON has a schema."""


def schema_text(name: str = "explain") -> str:
    """The schema of command ``name`` as JSON text."""
    if name not in SCHEMAS:
        raise KeyError(name)
    return resources.files(__package__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")


def load_schema(name: str = "explain") -> dict:
    """The schema of command ``name`` as a dict (for ``jsonschema.validate``)."""
    return json.loads(schema_text(name))
