"""Rendering: results as terminal tables, JSON, Markdown or HTML.

Renderers take a result and return text; they never compute anything new, so the JSON the
CLI prints is exactly ``result.to_dict()`` serialised. :func:`render` picks the renderer
by the result's type and the format (:mod:`causal_attrib.rendering.registry`).
"""

from __future__ import annotations

from .registry import render

__all__ = ["render"]
