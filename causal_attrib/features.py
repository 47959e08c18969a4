"""The names of lagged features, one convention for the data's lag columns
(:mod:`causal_attrib.inputs.lags`) and the mechanisms that read them
(:mod:`causal_attrib.models.interventions`): it sits below both so neither restates it."""

from __future__ import annotations

Feature = tuple[str, int]
"""A node and how many steps back it is read."""


def lag_name(node: str, lag: int) -> str:
    """The column holding ``node`` ``lag`` steps back (``node`` itself at lag 0)."""
    return node if lag == 0 else f"{node}[t-{lag}]"
