"""Which renderer draws which result in which format: a registry keyed by result type.

Each format's module registers its renderers with :func:`register` when it is imported;
:func:`render` imports the module of the asked format only (so a table never loads the
HTML code) and picks the renderer of the result's type, or of its nearest base class.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable

from ..choices import Format, parse_choice
from ..results.base import Result

Renderer = Callable[..., str]
"""``renderer(result, *, top, color) -> text``."""

_RENDERERS: dict[tuple[type, Format], Renderer] = {}
_MODULES = {
    Format.TABLE: "text",
    Format.MARKDOWN: "markdown",
    Format.HTML: "html",
    Format.JSON: "registry",
}


def register(result_type: type, fmt: Format) -> Callable[[Renderer], Renderer]:
    """Register the decorated function as the ``fmt`` renderer of ``result_type``."""

    def decorate(func: Renderer) -> Renderer:
        _RENDERERS[(result_type, fmt)] = func
        return func

    return decorate


def render(result: Result, fmt: Format | str, color: bool = False, top: int = 10) -> str:
    """Render a result in ``fmt`` (``top``: rows per ranking; ``color``: ANSI colours in
    terminal tables).

    Raises
    ------
    InputError
        For a format that does not exist.
    """
    fmt = parse_choice(Format, fmt, "format")
    importlib.import_module(f"{__package__}.{_MODULES[fmt]}")
    for cls in type(result).__mro__:
        renderer = _RENDERERS.get((cls, fmt))
        if renderer is not None:
            return renderer(result, top=top, color=color)
    raise TypeError(f"no {fmt} renderer for {type(result).__name__}")


def to_json(payload: dict) -> str:
    """Stable, human-diffable JSON (key order as built, two-space indent, UTF-8 kept)."""
    return json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


@register(object, Format.JSON)
def json_report(result: Result, *, top: int = 10, color: bool = False) -> str:
    """Every result's JSON is its ``to_dict()``, serialised."""
    return to_json(result.to_dict())
