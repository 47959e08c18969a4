"""The errors a user can act on. Which exit code each ends with is decided in one place,
:func:`causal_attrib.exit_codes.exit_code_for`."""

from __future__ import annotations


class CausalAttribError(Exception):
    """Base class of errors the user can act on (exit code 2)."""


class InputError(CausalAttribError):
    """The graph, the data or an option is unusable; the message says why and what to do."""
