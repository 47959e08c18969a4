"""The options of an analysis, checked once at the Python API's boundary.

Every option is a field of a frozen dataclass (:class:`ExplainOptions` for :func:`explain`
and :func:`explain_segments`); building it validates every value and turns the friendly
spellings into the objects the analysis uses (``"p95"`` into a :class:`Statistic`,
``"changed"`` into :class:`AttributeTo`). A wrong type is an
:class:`~causal_attrib.errors.InputTypeError` (a ``TypeError``), a bad value an
:class:`~causal_attrib.errors.InputError` (a ``ValueError``); both name the Python parameter,
and the CLI says its flag instead. Nothing is validated twice, and nothing deep in NumPy
meets a string where it wanted a number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..choices import AttributeTo, parse_choice
from ..engine import Engine
from ..errors import InputError, InputTypeError
from ..inputs.periods import TimeSpec
from ..limits import (
    MAX_BOOTSTRAP,
    MAX_COUNT,
    MAX_PERMUTATIONS,
    MAX_SAMPLES,
    require_count,
    require_number,
    require_seed,
)
from ..stats.statistics import Statistic, parse_statistic

MAX_ROWS = 250_000
"""Default cap on the rows used per period (see ``max_rows``)."""


def require_bool(value: object, parameter: str) -> bool:
    """``value`` if it is a bool (NumPy's too), else an :class:`InputTypeError`."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise InputTypeError(
            f"{parameter} must be True or False, not {value!r}", parameter=parameter
        )
    return bool(value)


def require_statistic(value: object) -> Statistic:
    """A statistic's name (``mean``, ``p95``) or a :class:`Statistic`."""
    if isinstance(value, Statistic):
        return value
    if not isinstance(value, str):
        raise InputTypeError(
            f"statistic must be a name (mean, median, std, var, p95, ...) or a Statistic, "
            f"not {value!r}",
            parameter="statistic",
        )
    return parse_statistic(value)


def require_names(value: object, parameter: str) -> tuple[str, ...]:
    """Column names: one string or an iterable of strings."""
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Iterable) or isinstance(value, Mapping | bytes):
        raise InputTypeError(
            f"{parameter} must be a column name or a list of them, not {value!r}",
            parameter=parameter,
        )
    names = tuple(value)
    bad = [n for n in names if not isinstance(n, str)]
    if bad:
        raise InputTypeError(
            f"{parameter} must hold column names (strings), not {bad[0]!r}", parameter=parameter
        )
    return names


def require_strategy(value: object, parameter: str, method: str, example: str) -> Any:
    """``None`` or an object with ``method`` (a model family, a change test)."""
    if value is not None and not callable(getattr(value, method, None)):
        raise InputTypeError(
            f"{parameter} must be {example} or None, not {value!r}", parameter=parameter
        )
    return value


def require_engine(value: object, n_jobs: object) -> Engine | None:
    """``None``, an :class:`Engine`, or an engine kind (``"threads"``, ``"processes"``)."""
    if n_jobs is not None:
        require_count(n_jobs, "n_jobs", 1, MAX_COUNT)
        if value is not None:
            raise InputError("give n_jobs (threads) or an engine, not both", parameter="engine")
    if value is None or isinstance(value, Engine):
        return value
    if isinstance(value, str):
        return Engine(value)
    raise InputTypeError(
        f"engine must be an Engine or one of threads, processes, not {value!r}",
        parameter="engine",
    )


def require_time(value: object) -> TimeSpec | None:
    """``None`` or a :class:`TimeSpec` (a bare column name is not enough: it says how to
    cut the periods too)."""
    if value is None or isinstance(value, TimeSpec):
        return value
    raise InputTypeError(
        f"time must be a TimeSpec (e.g. TimeSpec({value!r}, split_at=...)), not {value!r}",
        parameter="time",
    )


def require_max_rows(value: object) -> int | None:
    """``None`` (all rows) or a whole number of at least 10."""
    if value is None:
        return None
    return require_count(value, "max_rows", 10, 2**62, "at least 10 (or no cap, for all rows)")


def require_target(value: object) -> str:
    """A node name: a string."""
    if not isinstance(value, str):
        raise InputTypeError(
            f"target must be a node name (a string), not {value!r}", parameter="target"
        )
    return value


@dataclass(frozen=True)
class ExplainOptions:
    """Every option of :func:`~causal_attrib.explain` (and of each segment of
    :func:`~causal_attrib.explain_segments`), validated when built.

    Unknown names are refused (:meth:`of`), so a misspelt option fails instead of being
    ignored. The meaning of each field is documented on :func:`~causal_attrib.explain`.
    """

    statistic: Statistic | str = "mean"
    alpha: float = 0.05
    min_effect: float = 0.0
    categorical: Iterable[str] = ()
    target_level: str | None = None
    dropna: bool = False
    models: Any = None
    change_test: Any = None
    categorical_change_test: Any = None
    attribute_to: AttributeTo | str = AttributeTo.CHANGED
    bootstrap: int = 0
    confidence: float = 0.95
    n_samples: int = 20_000
    max_exact_players: int = 10
    n_permutations: int = 256
    max_rows: int | None = MAX_ROWS
    check: bool = False
    n_jobs: int | None = None
    engine: Any = None
    seed: int = 0
    time: TimeSpec | None = None
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        checked = {
            "statistic": require_statistic(self.statistic),
            "alpha": require_number(self.alpha, "alpha", 0, 1, open_low=True, open_high=True),
            "min_effect": require_number(self.min_effect, "min_effect", 0, 1e300),
            "categorical": require_names(self.categorical, "categorical"),
            "target_level": _level(self.target_level),
            "dropna": require_bool(self.dropna, "dropna"),
            "models": require_strategy(self.models, "models", "make_basis", "a model family"
                                       " (ca.LinearModels(), ca.AutoModels(), ...)"),
            "change_test": require_strategy(self.change_test, "change_test", "__call__",
                                            "a change test"),
            "categorical_change_test": require_strategy(
                self.categorical_change_test, "categorical_change_test", "__call__",
                "a change test"),
            "attribute_to": parse_choice(AttributeTo, self.attribute_to, "attribute_to"),
            "bootstrap": require_count(self.bootstrap, "bootstrap", 0, MAX_BOOTSTRAP,
                                       "0 (off) or a positive count"),
            "confidence": require_number(self.confidence, "confidence", 0, 1, open_low=True,
                                         open_high=True),
            "n_samples": require_count(self.n_samples, "n_samples", 100, MAX_SAMPLES),
            "max_exact_players": require_count(self.max_exact_players, "max_exact_players",
                                               0, 20),
            "n_permutations": require_count(self.n_permutations, "n_permutations", 2,
                                            MAX_PERMUTATIONS),
            "max_rows": require_max_rows(self.max_rows),
            "check": require_bool(self.check, "check"),
            "engine": require_engine(self.engine, self.n_jobs),
            "seed": require_seed(self.seed),
            "time": require_time(self.time),
            "progress": _progress(self.progress),
        }  # fmt: skip
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    @classmethod
    def of(cls, options: Mapping[str, Any]) -> ExplainOptions:
        """Options from keyword arguments; an unknown name is an :class:`InputTypeError`
        naming it and, for a near miss, the option meant."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            import difflib

            near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise InputTypeError(
                f"unknown option {unknown[0]!r}{hint}; explain takes {', '.join(sorted(known))}",
                parameter=unknown[0],
            )
        return cls(**options)

    def as_dict(self) -> dict[str, Any]:
        """The options as keyword arguments of :func:`~causal_attrib.explain`."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _level(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise InputTypeError(
        f"target_level must be a level (a string), not {value!r}", parameter="target_level"
    )


def _progress(value: object) -> Callable[[str], None] | None:
    if value is not None and not callable(value):
        raise InputTypeError(
            f"progress must be a callable or None, not {value!r}", parameter="progress"
        )
    return value
