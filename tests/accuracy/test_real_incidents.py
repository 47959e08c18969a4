"""Recorded faults (Nezha, Online Boutique; read from ../shared/data, skipped when absent):
the CPU faults are named first, and ``--incident auto`` opens its window at the fault (at most
two minutes early), not at an earlier one. The loader is the benchmark's
(``benchmarks/real_incidents.py``)."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest
from conftest import NEZHA, ROOT, needs_nezha_data

from causal_attrib.analyses.incident import attribute_incident

pytestmark = [needs_nezha_data, pytest.mark.slow]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "real_incidents", ROOT / "benchmarks" / "real_incidents.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_faults_are_named_first_and_auto_windows_open_at_them():
    bench = _benchmark()
    table, graph, _, faults = bench.nezha_day(NEZHA)
    cpu = [f for f in faults if f["type"].startswith("cpu") and f["service"] != "frontend"]
    named = onsets = 0
    for fault in cpu:
        frame, _ = bench.nezha_case(table, fault["start"])
        start = fault["start"]
        end = start + pd.Timedelta(minutes=bench.INCIDENT_MINUTES)
        given = attribute_incident(
            graph, frame, bench.TARGET, time_column="time",
            incident=f"{bench.iso(start)}/{bench.iso(end)}",
        )  # fmt: skip
        named += bench.service_of(given.top_cause) == fault["service"]
        auto = attribute_incident(graph, frame, bench.TARGET, time_column="time")
        window = auto.time_mode["incident"]
        opened = pd.Timestamp(window["start"])  # at the fault, not at an earlier one
        onsets += start - pd.Timedelta(minutes=2) <= opened < end
    assert len(cpu) == 9
    assert named == 9
    assert onsets == 9
