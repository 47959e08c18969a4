"""Names in messages: near-miss suggestions and short lists of node names."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for a near miss among ``candidates``, else ``""``.

    Near misses are names equal up to case and surrounding whitespace, then close
    spellings; exported spreadsheets and hand-written graphs differ in exactly these ways.
    """
    import difflib

    candidates = [str(c) for c in candidates if str(c) != name]
    folded = name.strip().casefold()
    same = sorted(c for c in candidates if c.strip().casefold() == folded)
    near = same or difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f" (did you mean {near[0]!r}?)" if near else ""


def by_similarity(name: str, candidates: Iterable[str]) -> list[str]:
    """``candidates`` ordered from the most to the least similar to ``name`` (ties in
    their order)."""
    import difflib

    def score(candidate: str) -> float:
        return difflib.SequenceMatcher(None, name, candidate).ratio()

    return sorted(candidates, key=score, reverse=True)


def describe_nodes(nodes: Iterable[str], limit: int = 10) -> str:
    """Render a node list for an error message, shortened when long."""
    nodes = list(nodes)
    shown = ", ".join(repr(n) for n in nodes[:limit])
    return shown + (f" and {len(nodes) - limit} more" if len(nodes) > limit else "")
