"""The CLI as users and CI scripts see it: output, exit codes, errors, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from conftest import SAMPLE, SHOP

from causal_attrib import explain
from causal_attrib.schemas import load_schema


def test_cli_json_equals_api_result(cli, shop_args):
    out = cli(*shop_args, "--format", "json", "--statistic", "p95", "--bootstrap", "10")
    assert out.exit_code == 0, out.stderr
    api = explain(
        *SHOP,
        "checkout",
        statistic="p95",
        bootstrap=10,
    )
    assert json.loads(out.stdout) == api.to_dict()
    assert json.loads(out.stdout)["nodes"][0]["interval_low"] is not None


def test_output_is_byte_identical_across_runs(cli, shop_args):
    for fmt in ["json", "table", "markdown"]:
        first = cli(*shop_args, "--format", fmt, "--seed", "3").stdout
        second = cli(*shop_args, "--format", fmt, "--seed", "3").stdout
        assert first == second and first


def test_table_and_markdown(cli, shop_args):
    table = cli(*shop_args)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].startswith("mean of checkout rose")
    assert any(line.split()[:3] == ["1", "payments_db", "yes"] for line in lines)
    md = cli(*shop_args, "--format", "markdown").stdout
    assert md.startswith("**mean of `checkout` rose") and "| 1 | `payments_db` | yes |" in md


def test_fail_on_change_exit_codes(cli, shop_args, tmp_path):
    assert cli(*shop_args, "--fail-on-change").exit_code == 1
    args = list(shop_args)
    args[args.index("--after") + 1] = SAMPLE / "shop" / "before.csv"  # nothing changed
    same = cli(*args, "--fail-on-change", "--format", "json")
    assert same.exit_code == 0
    assert json.loads(same.stdout)["changed_ancestors"] == []


def test_period_layout_and_stdin_graph(cli, tmp_path):
    before = pd.read_csv(SAMPLE / "shop" / "before.csv").assign(week="w1")
    after = pd.read_csv(SAMPLE / "shop" / "after.csv").assign(week="w2")
    table = tmp_path / "both.csv"
    pd.concat([before, after]).to_csv(table, index=False)
    graph = (SAMPLE / "shop" / "graph.dot").read_text()
    out = cli(
        "explain",
        "--graph",
        "-",
        "--data",
        table,
        "--period-column",
        "week",
        "--before-value",
        "w1",
        "--after-value",
        "w2",
        "--target",
        "checkout",
        "--format",
        "json",
        input=graph,
    )
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout)["nodes"][0]["node"] == "payments_db"


def test_output_file_is_written_atomically(cli, shop_args, tmp_path):
    target = tmp_path / "report.json"
    out = cli(*shop_args, "--format", "json", "--output", target)
    assert out.exit_code == 0 and out.stdout == ""
    assert json.loads(target.read_text())["target"] == "checkout"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    bad = cli(*shop_args, "--output", tmp_path / "no" / "such" / "dir.json")
    assert bad.exit_code == 2 and "does not exist" in bad.stderr


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target", "nope"], "target 'nope' is not a node"),
        (["--statistic", "p101"], "p0 and p100"),
        (["--alpha", "2"], "--alpha"),
        (["--bootstrap", "-3"], "--bootstrap"),
        (["--data", "x.csv"], "either --before and --after"),
        (["--period-column", "week"], "go with --data"),
        (["--target-level", "x"], "categorical targets"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, shop_args, extra, message):
    args = list(shop_args)
    if "--target" in extra:
        args = args[:-2]
    out = cli(*args, *extra)
    assert out.exit_code == 2
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_missing_columns_and_files(cli, tmp_path):
    (tmp_path / "g.dot").write_text("digraph { a -> b -> c }")
    pd.DataFrame({"a": range(10), "b": range(10)}).to_csv(tmp_path / "d.csv", index=False)

    def run(graph, data):
        return cli("explain", "-g", graph, "-b", data, "-a", tmp_path / "d.csv", "-t", "c")

    out = run(tmp_path / "g.dot", tmp_path / "d.csv")
    assert out.exit_code == 2 and "lacks columns for graph nodes: 'c'" in out.stderr
    out = run(tmp_path / "missing.dot", tmp_path / "d.csv")
    assert out.exit_code == 2 and "graph file not found" in out.stderr
    out = cli("explain", "-g", tmp_path / "g.dot", "-b", "-", "-a", "-", "-t", "c")
    assert out.exit_code == 2 and "only one input can read stdin" in out.stderr
    out = cli("explain", "-g", "-", "-b", "-", "-a", tmp_path / "d.csv", "-t", "c")
    assert out.exit_code == 2 and "--graph and --before" in out.stderr


def test_data_from_stdin(cli, shop_args):
    args = list(shop_args)
    args[args.index("--before") + 1] = "-"
    csv_text = (SAMPLE / "shop" / "before.csv").read_text()
    out = cli(*args, "--format", "json", input=csv_text)
    assert out.exit_code == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(cli(*shop_args, "--format", "json").stdout)


def test_subcommand_help(cli):
    out = cli("explain", "-h")
    assert out.exit_code == 0 and "--fail-on-change" in out.stdout


def test_unexpected_error_exits_3_without_traceback(cli, shop_args, monkeypatch):
    import causal_attrib.analyses.explain as dc

    def boom(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(dc, "explain", boom)
    out = cli(*shop_args)
    assert out.exit_code == 3
    assert "internal error: RuntimeError: simulated bug" in out.stderr
    assert "Traceback" not in out.stderr
    debug = cli(*shop_args, "--debug")
    assert debug.exit_code == 3 and "Traceback" in debug.stderr


def test_notes_go_to_stderr_and_quiet_silences_them(cli):
    args = [
        "explain",
        "-g",
        SAMPLE / "funnel" / "graph.dagitty",
        "-b",
        SAMPLE / "funnel" / "before.csv",
        "-a",
        SAMPLE / "funnel" / "after.csv",
        "-t",
        "revenue",
        "--format",
        "json",
    ]
    loud = cli(*args)
    assert "note: ignoring 1 column(s)" in loud.stderr
    json.loads(loud.stdout)  # stdout holds only the result
    assert cli(*args, "--quiet").stderr == ""


def test_schema_command_prints_the_shipped_schema(cli):
    out = cli("schema")
    assert out.exit_code == 0 and json.loads(out.stdout) == load_schema("explain")


def test_help_is_instant_no_heavy_imports():
    code = (
        "import sys; from causal_attrib.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pandas', 'scipy', 'sklearn', 'dowhy', 'networkx') "
        "if m in sys.modules]\nprint('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_python_dash_m_and_version():
    out = subprocess.run(
        [sys.executable, "-m", "causal_attrib", "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert out.returncode == 0 and "causal-attrib, version" in out.stdout


def test_shell_completion_as_documented():
    """The README's completion line works: Click completes commands and choices."""
    import subprocess
    import sys

    code = "from causal_attrib.cli import main; main(prog_name='causal-attrib')"

    def complete(words: str, cword: int) -> list[str]:
        env = {
            **os.environ,
            "COMP_WORDS": words,
            "COMP_CWORD": str(cword),
            "_CAUSAL_ATTRIB_COMPLETE": "bash_complete",
        }
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
        )
        return out.stdout.split()

    assert "plain,explain" in complete("causal-attrib ex", 1)
    assert {"plain,html", "plain,markdown", "plain,json"} <= set(
        complete("causal-attrib explain --format ", 3)
    )
    env = {**os.environ, "_CAUSAL_ATTRIB_COMPLETE": "bash_source"}
    script = subprocess.run(
        [
            sys.executable,
            "-c",
            "from causal_attrib.cli import main; main(prog_name='causal-attrib')",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    assert "complete -o nosort -F _causal_attrib_completion causal-attrib" in script


@pytest.mark.slow  # a game with sampled orderings: CI runs it, -m 'not slow' skips it
def test_sampled_contributions_show_their_standard_errors(cli, shop_args, tmp_path):
    # issue 22: with more changed mechanisms than exact Shapley values take, the JSON had
    # each contribution's standard error but the table, Markdown and HTML did not
    import networkx as nx

    from causal_attrib.synthetic import make_scenario

    s = make_scenario("er", 40, 1000, 1, n_changes=14, nonlinear=True)
    s.before.to_csv(tmp_path / "b.csv", index=False)
    s.after.to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "g.json").write_text(json.dumps(nx.node_link_data(s.graph, edges="edges")))
    args = ["explain", "-g", tmp_path / "g.json", "-b", tmp_path / "b.csv"]
    args += ["-a", tmp_path / "a.csv", "-t", s.target, "-q"]
    report = json.loads(cli(*args, "-f", "json").stdout)
    sampled = [n for n in report["nodes"] if "standard_error" in n]
    assert report["settings"]["shapley"] == "permutation" and len(sampled) > 10
    table = cli(*args).stdout
    header = next(line for line in table.splitlines() if line.startswith("rank"))
    assert "s.e." in header and f"{report['settings']['orderings']} orderings" in table
    assert "| s.e. |" in cli(*args, "-f", "markdown").stdout
    assert "<th>s.e.</th>" in cli(*args, "-f", "html").stdout
    assert "s.e." not in cli(*shop_args).stdout  # exact values: no column


@pytest.mark.parametrize(
    "words, expected",
    [
        ("causal-attrib explain --statistic p", "plain,p95"),
        ("causal-attrib influence -s s", "plain,std"),
        ("causal-attrib explain --before sam", "file,sam"),
        ("causal-attrib anomaly -g sam", "file,sam"),
        ("causal-attrib check --data sam", "file,sam"),
    ],
)
def test_shell_completion_offers_statistics_and_files(words, expected):
    """`--statistic <TAB>` completed nothing, and file options completed as TEXT."""
    from click.testing import CliRunner

    from causal_attrib.cli import main

    env = {
        "_CAUSAL_ATTRIB_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - 1),
    }
    out = CliRunner().invoke(main, [], env=env, prog_name="causal-attrib")
    assert expected in out.output.splitlines()


def test_file_options_show_as_paths_in_help(cli):
    lines = cli("explain", "--help").stdout.splitlines()
    assert any(line.strip().startswith(("-b, --before PATH", "-g, --graph PATH")) for line in lines)
    assert not any("--before TEXT" in line or "--graph TEXT" in line for line in lines)
