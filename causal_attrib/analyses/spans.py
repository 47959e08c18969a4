"""Spans gathered from files and checked: who called whom, and each request's own time.

The rules, in the order they apply:

- A span that ends before it starts (a negative duration) is left out, with a note.
- A span id seen twice in one trace keeps its first span, with a note.
- A span whose parent is not in the input (an orphan) starts its own tree, with a note.
- A span ending after its parent (an asynchronous call, or clock skew) is kept, with a note.
- A span whose parent runs in another service, or has no parent, is an **entry**: the start
  of a request to its service. Its parent's service called its service: one call.
- A request's **visit** is its entry span with the spans of the same service below it.
  Its **self time** is the entry span's duration less the time covered by the requests it
  made to other services (their entry spans, clipped to the visit, overlaps counted once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError
from ..inputs.traces import UNKNOWN_SERVICE, SpanSource


@dataclass
class Spans:
    """Every kept span as columns: ``service`` codes into ``names``, ``parent`` positions
    (-1 for none), ``entry`` and ``visit`` (the position of the entry span of the visit a
    span belongs to), times in nanoseconds."""

    names: list[str]
    service: np.ndarray
    parent: np.ndarray
    start: np.ndarray
    end: np.ndarray
    error: np.ndarray
    entry: np.ndarray
    visit: np.ndarray
    notes: list[str]

    def __len__(self) -> int:
        return len(self.service)

    def calls(self) -> dict[tuple[str, str], int]:
        """``{(caller, callee): calls}``: entry spans with a parent in another service."""
        called = self.entry & (self.parent >= 0)
        caller = self.service[self.parent[called]]
        callee = self.service[called]
        pairs, counts = np.unique(np.stack([caller, callee]), axis=1, return_counts=True)
        return {
            (self.names[a], self.names[b]): int(n)
            for (a, b), n in zip(pairs.T.tolist(), counts.tolist(), strict=True)
        }

    def self_times(self) -> np.ndarray:
        """Each entry span's duration less the time covered by the calls its visit made
        (0 for spans that are not entries)."""
        called = np.flatnonzero(self.entry & (self.parent >= 0))
        owner = self.visit[self.parent[called]]
        lo = np.maximum(self.start[called], self.start[owner])
        hi = np.minimum(self.end[called], self.end[owner])
        keep = hi > lo
        covered = _covered(owner[keep], lo[keep], hi[keep], len(self))
        return np.where(self.entry, self.end - self.start - covered, 0)


def _covered(owner: np.ndarray, lo: np.ndarray, hi: np.ndarray, n: int) -> np.ndarray:
    """Per owner, the length of the union of its intervals ``[lo, hi)``."""
    out = np.zeros(n, dtype=np.int64)
    if len(owner) == 0:
        return out
    order = np.lexsort((lo, owner))
    owner, lo, hi = owner[order], lo[order], hi[order]
    reach = pd.Series(hi).groupby(owner).cummax().to_numpy()
    before = np.empty_like(reach)
    before[0] = np.iinfo(np.int64).min
    before[1:] = reach[:-1]
    first = np.ones(len(owner), dtype=bool)
    first[1:] = owner[1:] != owner[:-1]
    before[first] = np.iinfo(np.int64).min
    gain = np.maximum(0, hi - np.maximum(lo, before))
    np.add.at(out, owner, gain)
    return out


def read_spans(
    source: SpanSource, progress: Callable[[str], None] | None = None
) -> Spans:
    """Read every batch of ``source``, then check and link the spans (see the module)."""
    codes: dict[str, int] = {}
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("key", "parent", "service",
                                                           "start", "end", "error")}  # fmt: skip
    for batch in source.batches(progress):
        inverse, uniques = pd.factorize(batch.service)
        mapped = np.array([codes.setdefault(u, len(codes)) for u in uniques], dtype=np.int32)
        parts["service"].append(mapped[inverse])
        for name in ("key", "parent", "start", "end", "error"):
            parts[name].append(getattr(batch, name))
    if not sum(len(k) for k in parts["key"]):
        raise InputError(f"no spans in {', '.join(source.paths)}")
    cols = {k: np.concatenate(v) for k, v in parts.items()}
    del parts
    notes = _reader_notes(source)
    cols, dropped = _drop(cols, cols["end"] < cols["start"])
    if dropped:
        notes.append(f"{dropped:,} span(s) end before they start (negative duration): left out")
    cols, dropped = _drop(cols, pd.Series(cols["key"]).duplicated().to_numpy())
    if dropped:
        notes.append(f"{dropped:,} span id(s) appear again in the same trace: the first kept")
    if not len(cols["key"]):
        raise InputError("no usable spans: every span ends before it starts")
    return _link(cols, sorted(codes, key=codes.get), notes)


def _reader_notes(source: SpanSource) -> list[str]:
    notes = list(source.notes)
    counts = source.counts
    if "pods" in counts:
        notes.append(
            "services from pod names, without the suffix Kubernetes adds "
            "(frontend-579b9bff58-t2dbm is frontend); set --service-from to change"
        )
    if counts.get("no service"):
        notes.append(f"{counts['no service']:,} span(s) name no service: counted as "
                     f"{UNKNOWN_SERVICE!r}")  # fmt: skip
    if counts.get("no duration"):
        notes.append(f"{counts['no duration']:,} span(s) have no timestamp or duration "
                     "(unfinished): left out")  # fmt: skip
    return notes


def _drop(cols: dict[str, np.ndarray], bad: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    n = int(bad.sum())
    if not n:
        return cols, 0
    return {k: v[~bad] for k, v in cols.items()}, n


def _link(cols: dict[str, np.ndarray], names: list[str], notes: list[str]) -> Spans:
    """Parent positions, entries and visits; notes on orphans and late children."""
    parent = pd.Index(cols.pop("key")).get_indexer(cols["parent"]).astype(np.int64)
    has_parent = cols.pop("parent") != 0
    orphans = int((has_parent & (parent < 0)).sum())
    if orphans:
        notes.append(
            f"{orphans:,} span(s) name a parent that is not in the input (orphans): each "
            "starts a request of its own service, with no caller"
        )
    service, start, end = cols["service"], cols["start"], cols["end"]
    linked = parent >= 0
    late = int((end[linked] > end[parent[linked]]).sum())
    if late:
        notes.append(
            f"{late:,} span(s) end after their parent (asynchronous calls or clock skew): kept"
        )
    parent_service = np.where(linked, service[np.where(linked, parent, 0)], -1)
    entry = parent_service != service
    visit = np.where(entry, np.arange(len(service)), parent)
    for _ in range(64):  # pointer jumping: depth doubles each pass
        nxt = visit[visit]
        if np.array_equal(nxt, visit):
            break
        visit = nxt
    else:
        raise InputError("span parents form a loop within one service: the input is corrupt")
    return Spans(names, service, parent, start, end, cols["error"], entry, visit, notes)
