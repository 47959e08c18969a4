"""Bounds on every count an option sets, in one place.

A count beyond these would not fit in memory or time on any machine the tool is meant for
(an array of ten billion draws, a billion bootstrap resamples), so it is refused with a
one-line error that says the limit, instead of failing deep inside NumPy.
"""

from __future__ import annotations

import math
import numbers

from .errors import InputError, InputTypeError

MAX_SEED = 2**63 - 1
MAX_SAMPLES = 2_000_000
"""Monte Carlo draws per intervention or coalition (arrays of this length per node)."""
MAX_BOOTSTRAP = 100_000
MAX_PERMUTATIONS = 100_000
"""Orderings or relabellings averaged over."""
MAX_COUNT = 1_000_000
"""Any other count a user may set (``check --suggestions``)."""
MAX_LAGS = 100
"""Largest lag order (``lags``) any time-series analysis accepts."""


def require_int(value: object, parameter: str) -> int:
    """``value`` as an ``int``, or an :class:`InputTypeError` naming ``parameter``: a
    whole number (NumPy's too), not a bool, a string, ``None`` or ``1.5``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputTypeError(
            f"{parameter} must be a whole number, not {_shown(value)}", parameter=parameter
        )
    return int(value)


def require_number(
    value: object,
    parameter: str,
    low: float,
    high: float,
    *,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """``value`` as a finite ``float`` within the bounds (each open or closed), or an
    error naming ``parameter``: :class:`InputTypeError` for a non-number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputTypeError(
            f"{parameter} must be a number, not {_shown(value)}", parameter=parameter
        )
    x = float(value)
    below = x <= low if open_low else x < low
    above = x >= high if open_high else x > high
    if not math.isfinite(x) or below or above:
        if math.isinf(low) and math.isinf(high):
            bounds = "a finite number"
        elif open_low and open_high:
            bounds = f"between {low:g} and {high:g} (exclusive)"
        elif high >= 1e300:
            bounds = f"a number {'>' if open_low else '>='} {low:g}"
        else:
            bounds = f"between {low:g} and {high:g}"
        raise InputError(f"{parameter} must be {bounds}, not {value!r}", parameter=parameter)
    return x


def _shown(value: object) -> str:
    if isinstance(value, str | int | float | type(None)):
        return repr(value)
    return f"a {type(value).__name__}"


def require_count(value: int, parameter: str, low: int, high: int, low_text: str = "") -> int:
    """``value`` if it is a whole number with ``low <= value <= high``; otherwise an error
    that names the Python ``parameter`` and the bound it broke (``low_text`` words the
    lower one, e.g. "0 (off)"); the CLI says its flag instead."""
    value = require_int(value, parameter)
    if value < low:
        floor = low_text or (f"at least {low}" if low else "0 or more")
        raise InputError(f"{parameter} must be {floor}, not {value}", parameter=parameter)
    if value > high:
        raise InputError(
            f"{parameter} must be at most {high:,}, not {value:,}", parameter=parameter
        )
    return value


def require_seed(seed: int) -> int:
    """A seed NumPy takes and JSON carries exactly: 0 to 2**63 - 1."""
    seed = require_int(seed, "seed")
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"seed must be between 0 and 2**63 - 1, not {seed}", parameter="seed")
    return seed
