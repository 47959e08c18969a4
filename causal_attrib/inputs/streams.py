"""Standard input, read once, with a clear error when there is none."""

from __future__ import annotations

import sys

from ..errors import InputError


def read_stdin(label: str, limit: int | None = None) -> bytes:
    """The bytes on standard input (at most ``limit + 1``, so callers can tell "too large"),
    or an :class:`InputError` naming ``label`` when standard input is closed."""
    stream = sys.stdin
    if stream is None or getattr(stream, "buffer", None) is None:
        raise InputError(f"{label} is '-' (standard input), but standard input is closed")
    try:
        return stream.buffer.read() if limit is None else stream.buffer.read(limit + 1)
    except OSError as exc:
        reason = exc.strerror or exc
        raise InputError(f"cannot read {label} from standard input: {reason}") from None
