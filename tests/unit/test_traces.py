"""Spans to a service graph and a metrics table: every format, the rules for bad spans,
self time, windows and cycles; and the Nezha minute against its recorded call graph."""

from __future__ import annotations

import csv
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from conftest import SHARED
from span_documents import POD, WRITERS, Span, shop_spans, write_csv, write_otlp, write_zipkin

from causal_attrib.analyses.traces import parse_window, service_graph, trace_metrics
from causal_attrib.errors import InputError
from causal_attrib.inputs.graphs import read_graph
from causal_attrib.inputs.traces import service_of_pod, sniff_format
from causal_attrib.rendering.traces import graph_text, metrics_csv

NEZHA = SHARED / "nezha-ob" / "2022-08-22"
SHOP_GRAPH = {
    ("cart", "frontend"): 120,
    ("catalog", "frontend"): 120,
    ("redis", "cart"): 120,
    ("catalogdb", "catalog"): 120,
}


def edges(graph) -> dict[tuple[str, str], int]:
    return {(e.cause, e.effect): e.calls for e in graph.edges}


@pytest.mark.skipif(not NEZHA.is_dir(), reason="../shared/data/nezha-ob is not present")
def test_nezha_minute_gives_the_13_calls_of_dependency_csv_seen_in_it_callee_to_caller():
    with open(NEZHA / "dependency.csv", newline="") as fh:
        recorded = {
            (row["Target"], row["Source"])  # caller Source calls callee Target: callee -> caller
            for row in csv.DictReader(fh)
            if not row["Target"][0].isdigit()  # calls to IP addresses leave the mesh
        }
    graph = service_graph([NEZHA / "trace" / "03_53_trace.csv"])
    found = set(edges(graph))
    assert len(recorded) == 14
    assert found <= recorded
    assert recorded - found == {("currencyservice", "checkoutservice")}  # not called that minute
    assert len(found) == 13
    table = trace_metrics([NEZHA / "trace" / "03_53_trace.csv"], window="1m").table
    assert table["frontend.requests"].sum() == 497  # one per trace: its root, in frontend
    assert table["productcatalogservice.requests"].sum() == 2293 + 42 + 350  # its callers' calls


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_each_format_is_sniffed_and_gives_the_shop_call_graph(tmp_path, fmt):
    path = WRITERS[fmt](shop_spans(), tmp_path / f"spans.{fmt}")
    assert sniff_format(str(path)) == fmt
    graph = service_graph([path])
    assert edges(graph) == SHOP_GRAPH
    assert graph.spans == 720


def test_the_same_spans_in_four_formats_give_one_graph_and_byte_identical_metrics(tmp_path):
    spans = shop_spans(n_requests=300, seed=3)
    graphs, tables = {}, {}
    for fmt, write in WRITERS.items():
        path = write(spans, tmp_path / f"spans.{fmt}")
        graphs[fmt] = graph_text(service_graph([path]), "dot")
        tables[fmt] = metrics_csv(trace_metrics([path], window="30s"))
    assert len(set(graphs.values())) == 1, graphs
    assert len(set(tables.values())) == 1
    table = pd.read_csv(pd.io.common.StringIO(tables["otlp"]))
    assert table["frontend.requests"].sum() == 300
    assert table["frontend.error_rate"].between(0, 1).all()
    assert table["frontend.error_rate"].max() > 0  # the failed requests were read as failed


def test_otlp_newline_delimited_batches_read_like_one_document(tmp_path):
    spans = shop_spans(n_requests=50)
    one = write_otlp(spans, tmp_path / "one.json")
    batches = write_otlp(spans, tmp_path / "batches.jsonl", lines=7)
    assert len(batches.read_text().splitlines()) == 7
    assert metrics_csv(trace_metrics([one])) == metrics_csv(trace_metrics([batches]))


def test_otlp_with_hex_ids_and_integer_status_as_the_collector_writes_it(tmp_path):
    doc = {"resourceSpans": [
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
         "scopeSpans": [{"spans": [
             {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174",
              "parentSpanId": "", "name": "GET", "startTimeUnixNano": "1544712660000000000",
              "endTimeUnixNano": "1544712661000000000", "status": {"code": 2}}]}]},
        {"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "db"}}]},
         "scopeSpans": [{"spans": [
             {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175",
              "parentSpanId": "eee19b7ec3c1b174", "name": "q",
              "startTimeUnixNano": 1544712660100000000, "endTimeUnixNano": 1544712660400000000,
              "status": {}}]}]},
    ]}  # fmt: skip
    path = tmp_path / "collector.json"
    path.write_text(json.dumps(doc))
    assert edges(service_graph([path])) == {("db", "api"): 1}
    table = trace_metrics([path]).table
    assert table.loc[0, "api.error_rate"] == 1.0 and table.loc[0, "db.error_rate"] == 0.0
    assert table.loc[0, "api.self_p50_ms"] == 700.0  # 1000 ms less the 300 ms db call


def _span(span, parent, service, start_ms, end_ms, trace="t1", error=False):
    return Span(trace, span, parent, service, "op", start_ms * 10**6, end_ms * 10**6, error)


def test_self_time_counts_overlapping_calls_once_and_clips_them_to_the_caller(tmp_path):
    spans = [
        _span("a", "", "api", 0, 100),
        _span("c", "a", "api", 5, 70, error=True),  # the api's own client span: not a request
        _span("b", "c", "db", 10, 40),
        _span("d", "a", "cache", 30, 60),  # overlaps b: 10..60 covered once, 50 ms
        _span("e", "a", "queue", 90, 120),  # ends after its caller: only 90..100 counts
    ]
    table = trace_metrics([write_zipkin(spans, tmp_path / "z.json")], window="1s").table
    assert table.loc[0, "api.latency_p50_ms"] == 100.0
    assert table.loc[0, "api.self_p50_ms"] == 40.0  # 100 - (50 + 10)
    assert table.loc[0, "api.requests"] == 1  # the client span is part of the api's request
    assert table.loc[0, "api.error_rate"] == 0.0  # the failed client span is not a request
    assert table.loc[0, "db.self_p50_ms"] == 30.0


def test_every_window_between_first_and_last_span_is_a_row_even_without_requests(tmp_path):
    spans = [_span("a", "", "api", 0, 10, "t1"), _span("b", "", "api", 200_000, 200_010, "t2")]
    table = trace_metrics([write_zipkin(spans, tmp_path / "z.json")], window="1m").table
    assert list(table["api.requests"]) == [1, 0, 0, 1]
    assert list(table["time"]) == [
        "1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z", "1970-01-01T00:02:00Z",
        "1970-01-01T00:03:00Z",
    ]  # fmt: skip
    assert table["api.latency_p50_ms"].isna().tolist() == [False, True, True, False]


def test_metric_option_names_columns_by_service_so_they_match_the_graph_nodes(tmp_path):
    path = write_csv(shop_spans(), tmp_path / "spans.csv")
    table = trace_metrics([path], metric="latency_p90_ms").table
    graph = service_graph([path]).to_networkx()
    assert list(table.columns) == ["time", *sorted(graph.nodes)]


@pytest.mark.parametrize(
    "pod, service",
    [
        ("frontend-579b9bff58-t2dbm", "frontend"),
        ("currencyservice-cf787dd48-vpjrd", "currencyservice"),
        ("redis-0", "redis"),
        ("node-agent-x7k2p", "node-agent"),
        ("checkout", "checkout"),
    ],
)
def test_pod_names_lose_the_suffix_their_kubernetes_controller_added(pod, service):
    assert service_of_pod(pod) == service


def test_csv_pod_names_become_services_with_a_note_and_service_from_overrides(tmp_path):
    path = write_csv(shop_spans(n_requests=10), tmp_path / "spans.csv")
    graph = service_graph([path])
    assert set(graph.services) == set(POD)
    assert any("pod names" in n for n in graph.notes)
    custom = service_graph([path], service_from=r"^(?P<service>[a-z]+?)(db)?-")
    assert set(custom.services) == {"frontend", "cart", "redis", "catalog"}
    with pytest.raises(InputError, match="does not match the service name"):
        service_graph([path], service_from=r"^zzz")


def test_csv_columns_can_be_named_for_each_role(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("t,s,p,svc,begin,dur\nx,1,,api,1000000000,5000\nx,2,1,db,1000001000,2000\n")
    columns = {"trace": "t", "span": "s", "parent": "p", "service": "svc", "start": "begin",
               "duration": "dur"}  # fmt: skip
    assert edges(service_graph([path], columns=columns)) == {("db", "api"): 1}
    with pytest.raises(InputError, match="no column for"):
        service_graph([path])


def _mutual(tmp_path, a_calls_b: int, b_calls_a: int):
    spans = []
    for i in range(a_calls_b):
        spans += [_span(f"a{i}", "", "a", i, i + 5, f"x{i}"), _span(f"b{i}", f"a{i}", "b", i, i + 1, f"x{i}")]  # noqa: E501
    for i in range(b_calls_a):
        spans += [_span(f"b{i}", "", "b", i, i + 5, f"y{i}"), _span(f"a{i}", f"b{i}", "a", i, i + 1, f"y{i}")]  # noqa: E501
    return write_zipkin(spans, tmp_path / "mutual.json")


def test_mutual_calls_drop_the_edge_with_fewer_calls_and_say_so(tmp_path):
    path = _mutual(tmp_path, a_calls_b=9, b_calls_a=2)
    graph = service_graph([path])
    assert edges(graph) == {("b", "a"): 9}
    assert any("cycle" in n and "a -> b (2 calls" in n and "dropped" in n for n in graph.notes)


def test_mutual_calls_kept_as_a_lag_1_edge_read_back_as_a_temporal_graph(tmp_path):
    graph = service_graph([_mutual(tmp_path, 9, 2)], cycles="lag")
    assert {(e.cause, e.effect, e.lag) for e in graph.edges} == {("b", "a", 0), ("a", "b", 1)}
    for fmt in ("dot", "csv", "json"):
        path = tmp_path / f"g.{fmt}"
        path.write_text(graph_text(graph, fmt))
        back = read_graph(path).graph
        assert back.edges["a", "b"]["lags"] == (1,), fmt
        assert "lags" not in back.edges["b", "a"], fmt


def test_graph_formats_read_back_to_the_same_nodes_and_edges(tmp_path):
    graph = service_graph([write_csv(shop_spans(), tmp_path / "spans.csv")])
    for fmt in ("dot", "csv", "json"):
        path = tmp_path / f"g.{fmt}"
        path.write_text(graph_text(graph, fmt))
        back = read_graph(path).graph
        assert set(back.edges) == set(SHOP_GRAPH), fmt
        assert set(back.nodes) == set(POD), fmt


def test_min_calls_leaves_rare_edges_out_with_a_note(tmp_path):
    spans = shop_spans(n_requests=5)
    spans.append(_span("z", "", "frontend", 0, 9, "lone"))
    spans.append(_span("y", "z", "search", 1, 2, "lone"))
    path = write_zipkin(spans, tmp_path / "z.json")
    assert ("search", "frontend") in edges(service_graph([path]))
    graph = service_graph([path], min_calls=2)
    assert ("search", "frontend") not in edges(graph)
    assert any("fewer than 2 calls" in n and "search -> frontend (1)" in n for n in graph.notes)


def test_bad_spans_are_noted_and_counted(tmp_path):
    spans = [
        _span("a", "", "api", 0, 100),
        _span("b", "a", "db", 10, 20),
        _span("b", "a", "db", 10, 20),  # duplicate id
        _span("c", "gone", "db", 30, 40),  # orphan
        _span("d", "a", "cache", 50, 40),  # negative duration
        _span("e", "a", "queue", 90, 150),  # ends after its parent
        _span("f", "a", "", 10, 20),  # no service
    ]
    graph = service_graph([write_zipkin(spans, tmp_path / "bad.json")])
    text = " | ".join(graph.notes)
    for expected in ("1 span(s) end before they start", "1 span id(s) appear again",
                     "1 span(s) name a parent that is not in the input",
                     "1 span(s) end after their parent", "1 span(s) name no service"):  # fmt: skip
        assert expected in text, text
    assert edges(graph) == {("db", "api"): 1, ("queue", "api"): 1, ("unknown_service", "api"): 1}


def test_files_of_different_formats_in_one_call_are_refused(tmp_path):
    spans = shop_spans(n_requests=3)
    a = write_zipkin(spans, tmp_path / "a.json")
    b = write_csv(spans, tmp_path / "b.csv")
    with pytest.raises(InputError, match="different formats in one call"):
        service_graph([a, b])


@pytest.mark.parametrize(
    "text, fmt, message",
    [("{not json", "otlp", "bad.json: not valid OTLP JSON"),
     ("hello there\n", None, "cannot tell the trace format of .*bad.json"),
     ("", None, "bad.json is empty"), ('{"data": 3, "spans": 1}', None, "'data' list"),
     ("[1, 2]", "zipkin", "a Zipkin span is an object")],
)  # fmt: skip
def test_unreadable_span_files_are_input_errors_naming_the_file(tmp_path, text, fmt, message):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        service_graph([path], trace_format=fmt)


def test_zipkin_shared_server_half_is_a_child_of_its_client_half(tmp_path):
    doc = [
        {"traceId": "a1", "id": "01", "kind": "SERVER", "timestamp": 1000, "duration": 900,
         "localEndpoint": {"serviceName": "web"}},
        {"traceId": "a1", "id": "02", "parentId": "01", "kind": "CLIENT", "timestamp": 1100,
         "duration": 500, "localEndpoint": {"serviceName": "web"}},
        {"traceId": "a1", "id": "02", "parentId": "01", "kind": "SERVER", "shared": True,
         "timestamp": 1150, "duration": 400, "localEndpoint": {"serviceName": "users"}},
    ]  # fmt: skip
    path = tmp_path / "shared.json"
    path.write_text(json.dumps(doc))
    graph = service_graph([path])
    assert edges(graph) == {("users", "web"): 1}
    assert not any("appear again" in n for n in graph.notes)


def test_jaeger_follows_from_is_the_parent_when_there_is_no_child_of(tmp_path):
    doc = {"data": [{"traceID": "t", "processes": {"p1": {"serviceName": "api"},
                                                    "p2": {"serviceName": "worker"}},
                     "spans": [
        {"traceID": "t", "spanID": "1", "references": [], "startTime": 0, "duration": 10,
         "processID": "p1", "tags": []},
        {"traceID": "t", "spanID": "2", "startTime": 5, "duration": 50, "processID": "p2",
         "references": [{"refType": "FOLLOWS_FROM", "traceID": "t", "spanID": "1"}],
         "tags": [{"key": "otel.status_code", "type": "string", "value": "ERROR"}]},
    ]}]}  # fmt: skip
    path = tmp_path / "jaeger.json"
    path.write_text(json.dumps(doc))
    assert edges(service_graph([path])) == {("worker", "api"): 1}
    assert trace_metrics([path], window="1s").table.loc[0, "worker.error_rate"] == 1.0


@pytest.mark.parametrize("text, ns", [("1m", 60 * 10**9), ("30s", 30 * 10**9),
                                      ("500ms", 5 * 10**8), ("1h", 3600 * 10**9),
                                      ("2", 2 * 10**9)])  # fmt: skip
def test_window_lengths_parse_to_nanoseconds(text, ns):
    assert parse_window(text) == ns


@pytest.mark.parametrize("text", ["0s", "soon", "-1m", "1 fortnight"])
def test_bad_window_lengths_are_input_errors_naming_the_parameter(text):
    with pytest.raises(InputError) as caught:
        parse_window(text)
    assert caught.value.parameter == "window"


def test_csv_without_status_has_no_error_rate_columns_and_says_so(tmp_path):
    path = tmp_path / "nostatus.csv"
    rows = ["TraceID,SpanID,ParentID,ServiceName,StartTimeUnixNano,EndTimeUnixNano",
            "t,1,root,api,0,5000000", "t,2,1,db,1000000,2000000"]  # fmt: skip
    path.write_text("\n".join(rows) + "\n")
    metrics = trace_metrics([path])
    assert not [c for c in metrics.table if c.endswith("error_rate")]
    assert any("no status" in n for n in metrics.notes)
    assert np.isclose(metrics.table.loc[0, "api.self_p50_ms"], 4.0)


def test_the_order_of_spans_in_a_file_does_not_change_a_byte_of_the_output(tmp_path):
    spans = shop_spans(n_requests=200, seed=5)
    shuffled = [spans[i] for i in np.random.default_rng(1).permutation(len(spans))]
    tables = [metrics_csv(trace_metrics([write_csv(s, tmp_path / f"{i}.csv")], window="20s"))
              for i, s in enumerate((spans, shuffled))]  # fmt: skip
    graphs = [graph_text(service_graph([tmp_path / f"{i}.csv"]), "json") for i in range(2)]
    assert tables[0] == tables[1]
    assert graphs[0] == graphs[1]


def test_error_rate_alone_is_refused_when_the_spans_carry_no_status(tmp_path):
    path = tmp_path / "nostatus.csv"
    path.write_text("TraceID,SpanID,ParentID,ServiceName,StartTimeUnixNano,EndTimeUnixNano\n"
                    "t,1,root,api,0,5000000\n")  # fmt: skip
    with pytest.raises(InputError, match="carry no status") as caught:
        trace_metrics([path], metric="error_rate")
    assert caught.value.parameter == "metric"


def test_a_window_too_short_for_the_spans_time_span_is_refused(tmp_path):
    spans = [_span("a", "", "api", 0, 10, "t1"), _span("b", "", "api", 10**7, 10**7 + 1, "t2")]
    with pytest.raises(InputError, match="too short"):
        trace_metrics([write_zipkin(spans, tmp_path / "z.json")], window="1ms")


def _long_shop(tmp_path):
    """600 requests about a second apart (13 minutes), written in start order, as exporters
    roughly write spans."""
    spans = []
    for s in shop_spans(n_requests=600, seed=2):
        shift = int(s.trace[:16], 16) * 10**9  # request r starts r + 1 seconds later
        spans.append(dataclasses.replace(s, start_ns=s.start_ns + shift, end_ns=s.end_ns + shift))
    return write_csv(sorted(spans, key=lambda s: s.start_ns), tmp_path / "long.csv")


def _small_flushes(monkeypatch):
    from causal_attrib.analyses import spans as linking
    from causal_attrib.inputs import traces as reading

    monkeypatch.setattr(reading, "CHUNK_ROWS", 100)
    monkeypatch.setattr(linking, "FLUSH_ROWS", 200)
    monkeypatch.setattr(linking, "HORIZON_NS", 30 * 10**9)


def test_spans_in_time_order_are_linked_in_flushes_holding_a_bounded_number(
    tmp_path, monkeypatch
):
    from causal_attrib.analyses import spans as linking

    path = _long_shop(tmp_path)
    whole = metrics_csv(trace_metrics([path], window="1m"))
    graph = graph_text(service_graph([path]), "dot")
    _small_flushes(monkeypatch)
    assert metrics_csv(trace_metrics([path], window="1m")) == whole
    assert graph_text(service_graph([path]), "dot") == graph
    from causal_attrib.inputs.traces import SpanSource

    linker = linking.SpanLinker(SpanSource([str(path)]))
    flushes = list(linker)
    assert len(flushes) > 5
    assert linker.seen == 3600
    assert linker.most_held < 3600 / 4  # what is held is bounded, not the whole file


def test_a_trace_arriving_after_its_window_was_done_is_left_out_with_a_note(
    tmp_path, monkeypatch
):
    path = _long_shop(tmp_path)
    lines = path.read_text().splitlines()
    late = [line for line in lines[1:] if line.startswith("0000000000000001")]
    rest = [line for line in lines[1:] if not line.startswith("0000000000000001")]
    path.write_text("\n".join([lines[0], *rest, *late]) + "\n")  # request 1 at the very end
    _small_flushes(monkeypatch)
    metrics = trace_metrics([path], window="1m")
    assert any("5 request(s) (their whole traces) came more than 30 s after" in n
               for n in metrics.notes), metrics.notes  # fmt: skip
    assert metrics.table["frontend.requests"].sum() == 599
