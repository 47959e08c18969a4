"""Progress: a rewritten status line on a terminal's stderr, nothing anywhere else."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading

import pytest
from conftest import SHOP

from causal_attrib.progress import Ticker


def run_on_a_terminal(*args: str, env: dict | None = None) -> tuple[int, bytes, bytes]:
    """Run the CLI with stderr on a pseudo-terminal and stdout on a pipe."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "causal_attrib", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=slave,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    out = proc.stdout.read()
    proc.wait()
    os.close(master)
    return proc.returncode, out, err


def explain_args(*extra: str) -> list[str]:
    graph, before, after = SHOP
    return ["explain", "-g", graph, "-b", before, "-a", after, "-t", "checkout", *extra]


def test_progress_on_a_terminal_only_and_never_on_stdout(cli):
    code, out, err = run_on_a_terminal(*explain_args("--bootstrap", "20", "-f", "json"))
    assert code == 0
    text = err.decode()
    # every slow step reports, with counts, on one line that is rewritten
    assert "fitting and testing mechanisms (nodes): 11/11" in text
    assert "attributing the change to 1 changed mechanism(s) (2 coalitions)" in text
    assert "bootstrap resamples: 20/20" in text
    assert "\r\x1b[2K" in text and "\x1b[2m" in text
    # the line is cleared before the notes, which start on a clean line
    assert "\r\x1b[2Knote:" in text
    # stdout is the result alone, the same as without a terminal
    plain = cli(*explain_args("--bootstrap", "20", "-f", "json"))
    assert json.loads(out) == json.loads(plain.stdout)
    assert "…" not in plain.stderr  # not a terminal: no progress


@pytest.mark.slow  # runs the CLI on pseudo-terminals: CI runs it, -m 'not slow' skips it
def test_quiet_and_no_color_on_a_terminal():
    _, _, quiet = run_on_a_terminal(*explain_args("-q"))
    assert quiet == b""
    _, _, plain = run_on_a_terminal(*explain_args(), env={"NO_COLOR": "1"})
    assert "fitting and testing mechanisms" in plain.decode()
    assert b"\x1b[2m" not in plain and b"\x1b[0m" not in plain


def test_errors_start_on_a_clean_line():
    graph, before, _ = SHOP
    code, _, err = run_on_a_terminal(
        "explain", "-g", graph, "-b", before, "-a", "missing.csv", "-t", "checkout"
    )
    assert code == 2
    assert err.decode().splitlines()[-1].lstrip("\r\x1b[2K").startswith("error:")


def test_ticker_reports_about_every_tenth_and_counts_across_threads():
    said: list[str] = []
    ticker = Ticker(said.append, "nodes", 1000)
    threads = [
        threading.Thread(target=lambda: [ticker.tick() for _ in range(250)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert said[0] == "nodes: 0/1000" and said[-1] == "nodes: 1000/1000"
    assert len(said) == 11
    small: list[str] = []
    t3 = Ticker(small.append, "rows", 3)
    for _ in range(3):
        t3.tick()
    assert small == ["rows: 0/3", "rows: 1/3", "rows: 2/3", "rows: 3/3"]
