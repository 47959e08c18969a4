"""Progress messages from the slow steps, in a form any callable can take.

The analyses report progress through a plain ``progress(message)`` callable, so a notebook
can pass ``print`` and the CLI a terminal status line. Counted steps (nodes fitted,
resamples drawn, rows attributed) report about every tenth of the way, so ``print`` gets a
dozen lines per step rather than one per item.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

Progress = Callable[[str], None]


def silent(_message: str) -> None:
    """The progress callable used when none is given."""


class Ticker:
    """Counts finished items of a step and reports ``label: done/total`` about every tenth.

    Thread-safe, since nodes are fitted on threads.
    """

    def __init__(self, say: Progress, label: str, total: int, every: float = 0.1):
        self.say, self.label, self.total = say, label, total
        self.step = max(1, int(total * every))
        self.done = 0
        self._lock = threading.Lock()
        say(f"{label}: 0/{total}")

    def tick(self, n: int = 1) -> None:
        """Mark ``n`` more items done."""
        with self._lock:
            before, self.done = self.done, self.done + n
            if self.done // self.step != before // self.step or self.done == self.total:
                self.say(f"{self.label}: {self.done}/{self.total}")
