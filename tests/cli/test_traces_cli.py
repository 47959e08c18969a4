"""``graph`` and ``metrics`` as users run them: stdout holds the graph or the table only,
notes and errors go to stderr, bad spans end with one line and exit 2, and the spans of
an incident go through graph and metrics into ``anomaly``, which names the planted cause."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner
from conftest import ROOT
from span_documents import shop_spans, write_csv, write_jaeger, write_otlp, write_zipkin
from test_progress import run_on_a_terminal

from causal_attrib.cli import main

TRACES = ROOT / "sample_data" / "traces"
SPANS = TRACES / "spans.csv"
INCIDENT = "2026-01-05T12:50:00Z/2026-01-05T12:55:00Z"


def test_graph_writes_only_the_graph_to_stdout_and_notes_to_stderr(cli, tmp_path):
    path = write_csv(shop_spans(), tmp_path / "spans.csv")
    out = cli("graph", "--from-traces", path)
    assert out.exit_code == 0, out.stderr
    assert out.stdout.startswith("// causal service graph")
    assert '"redis" -> "cart" [calls=120];' in out.stdout
    assert "note: services from pod names" in out.stderr
    assert "note" not in out.stdout


def test_graph_reads_every_file_after_from_traces(cli, tmp_path):
    spans = shop_spans(n_requests=40)
    first = write_zipkin(spans[:120], tmp_path / "a.json")
    second = write_zipkin(spans[120:], tmp_path / "b.json")
    out = cli("graph", "--from-traces", first, second, "-f", "csv", "-q")
    assert out.exit_code == 0, out.stderr
    calls = {tuple(r[:2]): int(r[2]) for r in (line.split(",") for line in out.stdout.split()[1:])}
    assert sum(calls.values()) == 160  # 4 calls per request, from both files
    assert out.stderr == ""


def test_graph_json_output_is_node_link_with_calls(tmp_path):
    # not through the cli fixture: its JSON check is for reports, and this is a graph
    spans = write_jaeger(shop_spans(), tmp_path / "j.json")
    out = CliRunner().invoke(main, ["graph", "--from-traces", str(spans), "-f", "json"])
    assert out.exit_code == 0, out.stderr
    doc = json.loads(out.stdout)
    assert {(e["source"], e["target"], e["calls"]) for e in doc["edges"]} == {
        ("cart", "frontend", 120), ("catalog", "frontend", 120), ("redis", "cart", 120),
        ("catalogdb", "catalog", 120),
    }  # fmt: skip


def test_mixed_formats_end_with_one_error_line_and_exit_2(cli, tmp_path):
    spans = shop_spans(n_requests=3)
    out = cli("metrics", "--from-traces", write_otlp(spans, tmp_path / "a.json"),
              "--from-traces", write_csv(spans, tmp_path / "b.csv"))  # fmt: skip
    assert out.exit_code == 2
    assert out.stderr.startswith("error: span files of different formats in one call")
    assert len(out.stderr.strip().splitlines()) == 1
    assert out.stdout == ""


def test_bad_span_files_and_options_exit_2_with_one_line(cli, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text('{"resourceSpans": [')
    columns = tmp_path / "columns.csv"
    columns.write_text("a,b,c\n1,2,3\n")
    spans = write_csv(shop_spans(n_requests=3), tmp_path / "s.csv")
    header_only = tmp_path / "header.csv"
    header_only.write_text(spans.read_text().splitlines()[0] + "\n")
    cases = [
        (["metrics", "--from-traces", header_only], "no spans in"),
        (["metrics", "--from-traces", "-"], "cannot be read from standard input"),
        (["graph", "--from-traces", broken], "not valid OTLP JSON"),
        (["graph", "--from-traces", columns], "no column for trace, span, parent, start"),
        (["graph", "--from-traces", tmp_path / "missing.json"], "span file not found"),
        (["metrics", "--from-traces", spans, "--window", "soon"], "is not a duration"),
        (["graph", "--from-traces", spans, "--min-calls", "0"], "--min-calls must be"),
        (["graph", "--from-traces", spans, "--service-from", "("], "not a regular expression"),
        (["graph", "--from-traces", spans, "--span-column", "trace"], "write ROLE=NAME"),
        (["graph"], "no span files"),
    ]
    for args, message in cases:
        out = cli(*args)
        assert out.exit_code == 2, args
        assert out.stderr.startswith("error: ") and message in out.stderr, out.stderr
        assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_progress_of_reading_spans_shows_on_a_terminal_only(cli, tmp_path):
    code, out, err = run_on_a_terminal("metrics", "--from-traces", SPANS, "-q")
    assert code == 0 and out.startswith(b"time,")
    assert b"" == err  # --quiet: not even progress
    code, out, err = run_on_a_terminal("metrics", "--from-traces", SPANS)
    assert code == 0
    assert b"reading spans.csv: 3,600 spans" in err and b"\r\x1b[2K" in err
    plain = cli("metrics", "--from-traces", SPANS)
    assert "reading" not in plain.stderr
    assert plain.stdout.encode() == out


def test_the_committed_sample_graph_and_metrics_are_what_the_commands_write(cli):
    graph = cli("graph", "--from-traces", SPANS)
    metrics = cli("metrics", "--from-traces", SPANS, "--window", "30s",
                  "--metric", "latency_p50_ms")  # fmt: skip
    assert graph.stdout == (TRACES / "graph.dot").read_text()
    assert metrics.stdout == (TRACES / "latency.csv").read_text()


def test_spans_to_graph_and_metrics_to_anomaly_name_the_planted_cause(cli, tmp_path):
    graph, table = tmp_path / "services.dot", tmp_path / "metrics.csv"
    assert cli("graph", "--from-traces", SPANS, "-o", graph).exit_code == 0
    made = cli("metrics", "--from-traces", SPANS, "--window", "30s",
               "--metric", "latency_p50_ms", "-o", table)  # fmt: skip
    assert made.exit_code == 0
    rows = pd.read_csv(table)
    assert len(rows) == 120 and list(rows.columns)[0] == "time"
    out = cli("anomaly", "--graph", graph, "--data", table, "--time-column", "time",
              "--incident", INCIDENT, "--target", "frontend", "-f", "json")  # fmt: skip
    assert out.exit_code == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["causes"][0]["node"] == "catalogdb"
    assert all(row["root_causes"][0]["node"] == "catalogdb" for row in report["anomalies"])
