"""Bounds on every count an option sets, in one place.

A count beyond these would not fit in memory or time on any machine the tool is meant for
(an array of ten billion draws, a billion bootstrap resamples), so it is refused with a
one-line error that says the limit, instead of failing deep inside NumPy.
"""

from __future__ import annotations

from .errors import InputError

MAX_SEED = 2**63 - 1
MAX_SAMPLES = 2_000_000
"""Monte Carlo draws per intervention or coalition (arrays of this length per node)."""
MAX_BOOTSTRAP = 100_000
MAX_PERMUTATIONS = 100_000
"""Orderings or relabellings averaged over."""
MAX_COUNT = 1_000_000
"""Any other count a user may set (``check --suggestions``)."""


def require_count(value: int, option: str, low: int, high: int, low_text: str = "") -> int:
    """``value`` if ``low <= value <= high``; otherwise an :class:`InputError` that names
    ``option`` and the bound it broke (``low_text`` words the lower one, e.g. "0 (off)")."""
    if value < low:
        floor = low_text or (f"at least {low}" if low else "0 or more")
        raise InputError(f"{option} must be {floor}, not {value}")
    if value > high:
        raise InputError(f"{option} must be at most {high:,}, not {value:,}")
    return value


def require_seed(seed: int) -> int:
    """A seed NumPy takes and JSON carries exactly: 0 to 2**63 - 1."""
    if not 0 <= seed <= MAX_SEED:
        raise InputError(f"--seed must be between 0 and 2**63 - 1, not {seed}")
    return seed
