"""Exit codes, in one place.

The CLI never decides an exit code by itself: it hands the outcome to
:func:`exit_code_for`, a pure function that tests pin down.
"""

from __future__ import annotations

from .errors import CausalAttribError

OK = 0
"""The analysis ran and every check the user asked for passed."""
CHECK_FAILED = 1
"""A check the user asked for failed (for example ``--fail-on-change``)."""
BAD_INPUT = 2
"""Bad usage or bad input: the message names the problem."""
INTERNAL_ERROR = 3
"""An unexpected internal error (a bug: please report it with ``--debug`` output)."""


def exit_code_for(*, error: BaseException | None = None, check_failed: bool = False) -> int:
    """Map the outcome of a command to its exit code.

    Parameters
    ----------
    error
        The exception that ended the command, if any.
    check_failed
        Whether a check the user asked for (``--fail-on-change``) failed.

    Returns
    -------
    int
        0, 1, 2 or 3 as documented in the README.
    """
    if error is not None:
        if isinstance(error, CausalAttribError):
            return BAD_INPUT
        return INTERNAL_ERROR
    return CHECK_FAILED if check_failed else OK
