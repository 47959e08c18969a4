"""Loading tables and matching them to the graph: formats, types and the errors users hit."""

from __future__ import annotations

import subprocess
import sys

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib.errors import InputError
from causal_attrib.inputs.preparation import prepare_data
from causal_attrib.inputs.tables import read_table, split_periods

G = nx.DiGraph([("a", "b"), ("b", "c")])


def frame(n=20, seed=0, **extra):
    rng = np.random.default_rng(seed)
    data = {"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)}
    data.update(extra)
    return pd.DataFrame(data)


def test_formats_round_trip(tmp_path):
    df = frame()
    df.to_csv(tmp_path / "d.csv", index=False)
    df.to_csv(tmp_path / "d.tsv", index=False, sep="\t")
    df.to_parquet(tmp_path / "d.parquet")
    df.to_json(tmp_path / "d.jsonl", orient="records", lines=True, double_precision=15)
    (tmp_path / "semi.csv").write_text(df.to_csv(index=False, sep=";"))
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + df.to_csv(index=False).encode())
    for name in ["d.csv", "d.tsv", "d.parquet", "d.jsonl", "semi.csv", "bom.csv"]:
        got = read_table(tmp_path / name)
        assert list(got.columns) == ["a", "b", "c"], name
        np.testing.assert_allclose(got.to_numpy(float), df.to_numpy(), rtol=1e-12, err_msg=name)


def test_missing_columns_are_listed():
    with pytest.raises(InputError, match="lacks columns for graph nodes: 'c'"):
        prepare_data(G, frame(), frame().drop(columns="c"))


def test_extra_columns_are_noted_and_dropped():
    prepared = prepare_data(G, frame(extra=1.0), frame())
    assert list(prepared.before.columns) == ["a", "b", "c"]
    assert any("'extra'" in note for note in prepared.notes)


def test_missing_values_error_then_dropna():
    before = frame()
    before.loc[[2, 5], "b"] = np.nan
    with pytest.raises(InputError, match=r"missing values in 'b' \(2\).*--dropna"):
        prepare_data(G, before, frame())
    prepared = prepare_data(G, before, frame(), dropna=True)
    assert len(prepared.before) == 18
    assert any("dropped 2 before row" in n for n in prepared.notes)


def test_infinite_values_are_named():
    after = frame()
    after.loc[3, "a"] = np.inf
    with pytest.raises(InputError, match=r"infinite value in 'a' at data row 4"):
        prepare_data(G, frame(), after)


def test_numeric_junk_names_column_and_row():
    before = frame().astype({"b": object})
    before.loc[7, "b"] = "n/a?"
    with pytest.raises(InputError, match=r"'b' .* data row 8 holds 'n/a\?'"):
        prepare_data(G, before, frame())


def test_text_and_declared_columns_are_categorical():
    before = frame(n=30)
    before["a"] = np.where(before["a"] > 0, "hi", "lo")
    after = frame(n=30, seed=1)
    after["a"] = np.where(after["a"] > 0, "hi", "lo")
    after["c"] = (after["c"] > 0).astype(int)
    before["c"] = (before["c"] > 0).astype(int)
    prepared = prepare_data(G, before, after, categorical=["c"])
    assert prepared.categorical == {"a", "c"}
    assert prepared.before["c"].iloc[0] in {"0", "1"}
    with pytest.raises(InputError, match="not graph nodes"):
        prepare_data(G, before, after, categorical=["zzz"])


def test_too_few_rows():
    with pytest.raises(InputError, match="at least 5"):
        prepare_data(G, frame(n=3), frame())


def test_period_split_and_errors():
    table = pd.concat([frame().assign(week="w1"), frame(seed=2).assign(week="w2")])
    before, after = split_periods(table, "week", "w1", "w2")
    assert len(before) == len(after) == 20 and "week" not in before.columns
    with pytest.raises(InputError, match=r"no rows have week == 'w3'.*'w1', 'w2'"):
        split_periods(table, "week", "w1", "w3")
    with pytest.raises(InputError, match="period column 'day'"):
        split_periods(table, "day", "w1", "w2")


def test_unreadable_inputs(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "none.csv", "--before")
    with pytest.raises(InputError, match="directory"):
        read_table(tmp_path, "--before")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="empty"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "dup.csv").write_text("a,a,b\n1,2,3\n")
    # pandas would rename the second 'a' to 'a.1' and so hide which column is meant
    with pytest.raises(InputError, match="duplicate column names: 'a'"):
        read_table(tmp_path / "dup.csv")


@pytest.mark.slow  # a timing test on a wide table: CI runs it, -m 'not slow' skips it
def test_many_columns_are_checked_for_duplicates_in_linear_time():
    """list.count per column made 40,000 columns take about 50 s."""
    code = (
        "import pandas as pd, numpy as np; from causal_attrib import read_table; "
        "cols = [f'c{i}' for i in range(100_000)]; "
        "frame = pd.DataFrame(np.zeros((2, len(cols))), columns=cols); "
        "frame.to_csv('/dev/stdout', index=False)"
    )
    wide = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).stdout
    check = (
        "import io, sys; from causal_attrib.inputs.tables import read_table; "
        "sys.stdin = io.TextIOWrapper(io.BytesIO(sys.stdin.buffer.read())); "
        "print(read_table('-', '--data').shape)"
    )
    out = subprocess.run([sys.executable, "-c", check], input=wide, capture_output=True, timeout=30)
    assert out.returncode == 0 and out.stdout.decode().strip() == "(2, 100000)", out.stderr


def test_a_quoted_newline_in_the_header_is_valid_csv(tmp_path):
    """A header cell with a quoted newline was refused (the head was split on lines)."""
    path = tmp_path / "t.csv"
    path.write_text('"latency\n(ms)",region\n1.5,eu\n2.5,us\n')
    frame = read_table(path)
    assert list(frame.columns) == ["latency\n(ms)", "region"] and len(frame) == 2
    semicolons = tmp_path / "s.csv"
    semicolons.write_text('"a;\nb";c\n1,5;2\n3,25;4\n')
    frame = read_table(semicolons)
    assert list(frame.columns) == ["a;\nb", "c"] and frame.iloc[:, 0].tolist() == [1.5, 3.25]


def test_reader_memory_is_returned_once_no_buffer_of_the_tables_is_left(tmp_path, monkeypatch):
    """Selecting the graph's columns can keep the Parquet reader's buffers: returning
    Arrow's memory before the typed copies exist returned nothing, and at 1,000 nodes x
    100,000 rows the freed buffers (1.5 GB) stayed resident through the whole fit."""
    import pyarrow

    import causal_attrib.inputs.preparation as preparation

    frame(n=5000).to_parquet(tmp_path / "b.parquet")
    frame(n=5000, seed=1).to_parquet(tmp_path / "a.parquet")
    held = []
    monkeypatch.setattr(
        preparation, "release_reader_memory", lambda: held.append(pyarrow.total_allocated_bytes())
    )
    read = [read_table(tmp_path / "b.parquet"), read_table(tmp_path / "a.parquet")]
    table_bytes = pyarrow.total_allocated_bytes()
    assert table_bytes > 2 * 3 * 5000 * 8  # the tables are Arrow's buffers
    prepared = preparation.prepare_data(G, read.pop(0), read.pop(0))  # theirs alone
    assert held and held[-1] < table_bytes / 100, (held, table_bytes)
    assert len(prepared.before) == 5000
