"""Cell formatters every renderer shares, so a number reads the same in every format."""

from __future__ import annotations

from typing import Any


def number(x: float | None, digits: int = 4) -> str:
    """A number to 4 significant digits (``—`` for none); a value that rounds to zero
    reads ``0``, never ``-0``."""
    if x is None:
        return "—"
    text = f"{x:.{digits}g}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def q_value(x: float) -> str:
    """A p- or q-value to 2 digits, floored at the double-precision limit."""
    return "<1e-16" if x < 1e-16 else f"{x:.2g}"


def share(x: float | None) -> str:
    """A fraction as a whole percentage (empty for none)."""
    return "" if x is None else f"{x * 100:.0f} %"


def value(x: Any) -> str:
    """A cell value: text as is, numbers as :func:`number`, ``—`` for none."""
    return "—" if x is None else (x if isinstance(x, str) else number(x))


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|")


def grid(headers: list[str], rows: list[list[str]], numeric: set[int]) -> list[str]:
    """Aligned plain-text table lines (``numeric`` columns right-aligned); cells are made
    :func:`printable` first, so that columns line up with what the terminal shows."""
    rows = [[printable(c) for c in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [fmt(headers), "  ".join("-" * w for w in widths), *(fmt(r) for r in rows)]


def signed(x: float) -> str:
    """A number with its sign, ``+`` included."""
    return f"+{number(x)}" if x > 0 else number(x)


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}


def printable(text: str) -> str:
    r"""``text`` with control characters written out (``\x1b``, ``\x07``): a node name
    must not move the cursor, clear the screen or retitle the terminal it is printed on.
    Idempotent; JSON keeps names exact."""
    return text.translate(_CONTROL)


def paint(text: str, code: str) -> str:
    """``text`` in an ANSI colour (``code`` as in ``1;31``, bold red)."""
    return f"\x1b[{code}m{text}\x1b[0m"
