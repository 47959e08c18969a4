"""Which renderer draws which result in which format: a registry keyed by result type.

Each format's module registers its renderers with :func:`register` when it is imported;
:func:`render` imports the module of the asked format only (so a table never loads the
HTML code) and picks the renderer of the result's type, or of its nearest base class.
"""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable

from ..choices import Format, parse_choice
from ..errors import InputTypeError
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
    if not isinstance(result, Result):
        raise InputTypeError(
            f"render takes a result of causal_attrib (explain, anomaly, check, influence), "
            f"not {type(result).__name__}",
            parameter="result",
        )
    importlib.import_module(f"{__package__}.{_MODULES[fmt]}")
    for cls in type(result).__mro__:
        renderer = _RENDERERS.get((cls, fmt))
        if renderer is not None:
            return renderer(result, top=top, color=color)
    raise InputTypeError(f"no {fmt} renderer for {type(result).__name__}", parameter="result")


def to_json(payload: dict) -> str:
    """Stable, human-diffable JSON (key order as built, two-space indent, UTF-8 kept).
    A number JSON cannot hold (NaN, an infinity) is written ``null``, never a crash."""
    return json.dumps(_finite(payload), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _finite(value: object) -> object:
    """``value`` with every non-finite float replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@register(object, Format.JSON)
def json_report(result: Result, *, top: int = 10, color: bool = False) -> str:
    """Every result's JSON is its ``to_dict()``, serialised."""
    return to_json(result.to_dict())
