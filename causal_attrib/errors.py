"""The errors a user can act on. Which exit code each ends with is decided in one place,
:func:`causal_attrib.exit_codes.exit_code_for`.

Library errors are Python errors: :class:`InputError` is a :class:`ValueError` (and
:class:`InputTypeError` a :class:`TypeError`), so ``except ValueError`` in a notebook catches
them. Each may name the Python ``parameter`` it is about; the CLI maps that name to its flag.
"""

from __future__ import annotations


class CausalAttribError(Exception):
    """Base class of errors the user can act on (exit code 2)."""


class InputError(CausalAttribError, ValueError):
    """The graph, the data or an option is unusable; the message says why and what to do.

    ``parameter`` is the Python parameter at fault (``"n_samples"``), when there is one.
    """

    def __init__(self, message: str = "", *, parameter: str | None = None) -> None:
        super().__init__(message)
        self.parameter = parameter


class InputTypeError(InputError, TypeError):
    """A Python argument of the wrong type (a string where a number goes, say)."""


class ModelFileError(InputError):
    """A saved model file that cannot be used: foreign, truncated, tampered with, or written
    by an incompatible version."""
