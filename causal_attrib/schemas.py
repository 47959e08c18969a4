"""The JSON Schemas shipped with the package, for validating what the CLI prints."""

from __future__ import annotations

import json
from importlib import resources

SCHEMAS = ("explain", "anomaly", "check", "segments")


def schema_text(name: str = "explain") -> str:
    """The schema of command ``name`` as JSON text."""
    if name not in SCHEMAS:
        raise KeyError(name)
    return (
        resources.files("causal_attrib")
        .joinpath(f"schemas/{name}.schema.json")
        .read_text(encoding="utf-8")
    )


def load_schema(name: str = "explain") -> dict:
    """The schema of command ``name`` as a dict (for ``jsonschema.validate``)."""
    return json.loads(schema_text(name))
