"""Categorical data as users have it: missing values are a narrow, documented set, and
level names (``None``, ``NA``, ``TRUE``) survive reading in every format (issue 30)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from causal_attrib.errors import InputError
from causal_attrib.inputs.preparation import level_labels
from causal_attrib.inputs.tables import read_table

CSV = "plan,flag,note,latency\nNone,TRUE,,1.5\nNA,FALSE,x,NaN\nnull,TRUE,y,2.5\n"


def test_none_na_and_null_in_a_text_column_are_levels_and_only_empty_cells_are_missing(
    tmp_path,
):
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    table = read_table(path)
    assert list(table["plan"]) == ["None", "NA", "null"]
    assert table["note"].isna().tolist() == [True, False, False]
    # a numeric export's NaN stays a gap of a numeric column
    assert table["latency"].dtype == float and np.isnan(table["latency"][1])


def test_na_values_add_tokens_in_every_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    table = read_table(path, na_values=["NA", "x"])
    assert table["plan"].isna().tolist() == [False, True, False]
    assert table["note"].isna().tolist() == [True, True, False]
    with pytest.raises(InputError, match="list of strings") as err:
        read_table(path, na_values="NA")
    assert err.value.parameter == "na_values"


def test_booleans_keep_their_spelling_as_levels_in_csv_and_jsonl(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(CSV)
    assert list(level_labels(read_table(path)["flag"])) == ["TRUE", "FALSE", "TRUE"]
    lines = tmp_path / "t.jsonl"
    rows = [{"flag": True, "plan": "None"}, {"flag": False, "plan": None}]
    lines.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = read_table(lines)
    assert list(table["flag"]) == ["true", "false"]
    assert table["plan"].tolist()[0] == "None" and pd.isna(table["plan"].tolist()[1])


def test_parquet_and_dataframes_follow_the_same_rule(tmp_path):
    frame = pd.DataFrame({"plan": ["None", "NA", "", "pro"], "flag": [True, False, True, True]})
    frame.to_parquet(tmp_path / "t.parquet")
    for table in (read_table(tmp_path / "t.parquet"), read_table(frame)):
        assert table["plan"].tolist()[:2] == ["None", "NA"] and pd.isna(table["plan"][2])
        assert list(level_labels(table["flag"])) == ["True", "False", "True", "True"]
    assert read_table(frame, na_values=["NA"])["plan"].isna().tolist() == [
        False, True, True, False,
    ]  # fmt: skip


def _periods(tmp_path, n=600, seed=0):
    rng = np.random.default_rng(seed)
    for name, share in (("before", 0.3), ("after", 0.7)):
        plan = rng.choice(["None", "pro", "NA"], n)
        flag = np.where(rng.random(n) < np.where(plan == "None", share, 0.5), "TRUE", "FALSE")
        pd.DataFrame({"plan": plan, "flag": flag}).to_csv(tmp_path / f"{name}.csv", index=False)
    (tmp_path / "g.dot").write_text("digraph { plan -> flag; }")


def test_cli_explains_a_boolean_level_spelled_as_in_the_file_with_a_level_named_none(tmp_path, cli):
    _periods(tmp_path)
    args = ["explain", "-g", tmp_path / "g.dot", "-b", tmp_path / "before.csv"]
    args += ["-a", tmp_path / "after.csv", "-t", "flag", "-s", "mean", "--samples", "500"]
    out = cli(*args, "--target-level", "TRUE", "--format", "json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["target_level"] == "TRUE" and report["nodes"][0]["node"] == "flag"
    # with NA declared missing, the rows holding it are incomplete: refused without --dropna
    out = cli(*args, "--target-level", "TRUE", "--na-values", "NA")
    assert out.exit_code == 2 and "missing values in 'plan'" in out.stderr
    out = cli(*args, "--target-level", "True")
    assert out.exit_code == 2 and "never occurs" in out.stderr


def test_the_api_takes_na_values_for_files(tmp_path):
    from causal_attrib import explain

    _periods(tmp_path)
    graph = nx.DiGraph([("plan", "flag")])
    before, after = tmp_path / "before.csv", tmp_path / "after.csv"
    kept = explain(graph, before, after, "flag", target_level="TRUE", n_samples=500)
    dropped = explain(
        graph, before, after, "flag", target_level="TRUE", n_samples=500,
        na_values=["NA"], dropna=True,
    )  # fmt: skip
    assert dropped.rows["before"] < kept.rows["before"]
