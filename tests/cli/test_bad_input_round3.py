"""Issue 31 on the command line: bad times, lags, scales and outputs end with one
``error:`` line and exit 2 (or a note), never a traceback, a hang or a silent answer."""

from __future__ import annotations

import errno
import io
import json
import sys

import numpy as np
import pandas as pd
import pytest

from causal_attrib.cli import console as console_module
from causal_attrib.errors import InputError
from causal_attrib.synthetic_series import Planted, service_graph, simulate_series

DOT = "digraph { db -> cache [lag=1]; db -> api [lag=2]; cache -> api; api -> web }"


@pytest.fixture(scope="module")
def frame():
    return simulate_series(
        service_graph(lagged=True), 600, planted=(Planted("db", "shift", 3.0, at=400),)
    )


@pytest.fixture
def graph(tmp_path):
    path = tmp_path / "g.dot"
    path.write_text(DOT)
    return path


def _write(tmp_path, frame, name="series.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _one_line(out, *fragments):
    assert out.exit_code == 2, (out.exit_code, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), out.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(
    "split_at, fragment",
    [("now", "'now' is not a number"), ("today", "'today'"), ("", "''"), ("NaT", "'NaT'")],
)
def test_split_at_words_and_blank_are_refused(cli, tmp_path, frame, graph, split_at, fragment):
    data = _write(tmp_path, frame)
    out = cli("explain", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--split-at", split_at)  # fmt: skip
    _one_line(out, "--split-at", fragment, "numbers or ISO 8601")


def test_split_at_day_first_date_is_refused_against_timestamps(cli, tmp_path, frame, graph):
    stamped = frame.assign(t=pd.date_range("2026-11-28", periods=len(frame), freq="min"))
    data = _write(tmp_path, stamped)
    out = cli("explain", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--split-at", "28/11/2026 15:20")  # fmt: skip
    _one_line(out, "--split-at '28/11/2026 15:20' is not an ISO 8601 timestamp")


def test_nat_in_the_time_column_names_its_row(cli, tmp_path, frame, graph):
    stamped = frame.assign(t=pd.date_range("2026-11-28", periods=len(frame), freq="min"))
    stamped["t"] = stamped["t"].astype(str)
    stamped.loc[123, "t"] = "NaT"
    data = _write(tmp_path, stamped)
    out = cli("check", "-g", graph, "-d", data, "--time-column", "t")
    _one_line(out, "'NaT' at data row 124")


@pytest.mark.parametrize("lags, fragment", [("1000000000", "at most 100"), ("-1", "0 or more")])
def test_check_lags_are_capped_like_every_command(cli, tmp_path, frame, graph, lags, fragment):
    data = _write(tmp_path, frame)
    out = cli("check", "-g", graph, "-d", data, "--time-column", "t", "--lags", lags)
    _one_line(out, "--lags must be", fragment)


def test_check_in_time_mode_keeps_the_series_notes(cli, tmp_path, frame, graph):
    shuffled = frame.iloc[::-1]
    data = _write(tmp_path, shuffled)
    out = cli("check", "-g", graph, "-d", data, "--time-column", "t", "--permutations", "0")
    assert out.exit_code in (0, 1), out.stderr
    assert "rows were not in time order" in out.stderr


@pytest.mark.parametrize("rows", [1, 2])
def test_incident_auto_on_a_tiny_series_is_a_clear_error(cli, tmp_path, frame, graph, rows):
    data = _write(tmp_path, frame.head(rows))
    out = cli("anomaly", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--incident", "auto", "--lags", "0")  # fmt: skip
    _one_line(out, "--incident")


@pytest.mark.parametrize("factor", [1e-200, 1e200])
def test_time_mode_enforces_the_documented_scale(cli, tmp_path, frame, graph, factor):
    scaled = frame.assign(**{c: frame[c] * factor for c in ("db", "cache", "api", "web")})
    data = _write(tmp_path, scaled)
    out = cli("explain", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--split-at", "400", "-f", "json")  # fmt: skip
    _one_line(out, "column scales between 1e-100 and 1e+100")


def test_one_huge_cell_in_time_mode_is_refused(cli, tmp_path, frame, graph):
    spoiled = frame.copy()
    spoiled.loc[50, "cache"] = 1e308
    data = _write(tmp_path, spoiled)
    out = cli("anomaly", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--incident", "450")  # fmt: skip
    _one_line(out, "'cache'", "1e+308")


def test_dot_lag_1000_the_maximum_is_an_error_not_a_crash(cli, tmp_path, frame):
    graph = tmp_path / "deep.dot"
    graph.write_text("digraph { db -> web [lag=1e3]; db -> cache; cache -> api; api -> web }")
    data = _write(tmp_path, frame)
    out = cli("explain", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--split-at", "400")  # fmt: skip
    _one_line(out, "with their whole past")


def test_gap_just_before_a_given_incident_gets_a_note(cli, tmp_path, frame, graph):
    gapped = frame.drop(index=range(440, 452)).reset_index(drop=True)
    data = _write(tmp_path, gapped)
    out = cli("anomaly", "-g", graph, "-d", data, "--time-column", "t", "-t", "web",
              "--incident", "452", "--lags", "1", "--samples", "200", "-f", "json")  # fmt: skip
    assert out.exit_code in (0, 1), out.stderr
    notes = json.loads(out.stdout)["notes"]
    assert any("follow a gap" in n and "first at 452" in n for n in notes), notes


def test_anomalies_before_the_reference_do_not_blame_an_unseen_incident_flag(
    cli, tmp_path, frame, graph
):
    reference = _write(tmp_path, frame.iloc[100:], "reference.csv")
    anomalies = _write(tmp_path, frame.iloc[:20], "anomalies.csv")
    out = cli("anomaly", "-g", graph, "-r", reference, "-a", anomalies, "--time-column", "t",
              "-t", "web")  # fmt: skip
    _one_line(out, "must come after the reference")
    assert "--incident" not in out.stderr


def test_library_messages_become_flags_on_the_command_line(cli, shop_args):
    out = cli(*shop_args, "--samples", "50")
    _one_line(out, "--samples must be at least 100")


class _FullDisk(io.StringIO):
    """A standard output whose writes fail as on a full filesystem."""

    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_failed_write_to_stdout_is_an_input_error(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _FullDisk())
    with pytest.raises(InputError, match="No space left on device"):
        console_module.emit("report\n")


def test_a_short_write_into_a_regular_file_fails_and_leaves_nothing(monkeypatch, tmp_path):
    path = tmp_path / "out.html"
    real_write = console_module.os.write
    calls = []

    def full_after_4096(fd, data):
        calls.append(len(data))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, bytes(data[:4096]))

    with open(path, "w", encoding="utf-8") as stream:
        monkeypatch.setattr(sys, "stdout", stream)
        monkeypatch.setattr(console_module.os, "write", full_after_4096)
        with pytest.raises(InputError, match="No space left on device"):
            console_module.emit("x" * 20_000)
        monkeypatch.undo()
    assert path.stat().st_size == 0 and len(calls) == 2


def test_output_file_on_a_full_disk_leaves_no_file(monkeypatch, tmp_path):
    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(console_module.os, "write", no_space)
    with pytest.raises(InputError, match="cannot write --output"):
        console_module.write_output("x" * 100, tmp_path / "report.html")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []


def test_json_writes_non_finite_numbers_as_null():
    from causal_attrib.rendering.registry import to_json

    assert json.loads(to_json({"a": np.float64("inf"), "b": [float("nan"), 1.5]})) == {
        "a": None,
        "b": [None, 1.5],
    }
