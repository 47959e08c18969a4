"""Fit once, query many: a fitted model answers as a fresh fit does, saves to a file that
answers the same after reloading, and refuses files it cannot trust."""

from __future__ import annotations

import json
import zipfile

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import unit_links

import causal_attrib as ca
from causal_attrib import attribute_anomalies
from causal_attrib.errors import InputError, ModelFileError
from causal_attrib.rendering.registry import render
from causal_attrib.synthetic import make_outlier_scenario


@pytest.fixture(scope="module")
def scenario():
    return make_outlier_scenario("tree", 12, 1000, 2, size=10, n_anomalies=3, nonlinear=True)


@pytest.fixture(scope="module")
def model(scenario):
    return ca.fit(scenario.graph, scenario.reference)


def test_a_fitted_model_answers_as_a_fresh_fit_on_the_reference(scenario, model):
    fresh = attribute_anomalies(
        scenario.graph, scenario.reference, scenario.anomalies, scenario.target,
        fit_on="reference",
    )  # fmt: skip
    asked = model.anomalies(scenario.anomalies, scenario.target)
    assert render(asked, "json") == render(fresh, "json")


def test_a_saved_model_answers_byte_for_byte_as_the_model_in_memory(scenario, model, tmp_path):
    model.save(tmp_path / "m.model")
    loaded = ca.load_model(tmp_path / "m.model")
    before = model.anomalies(scenario.anomalies, scenario.target, attribute="all")
    after = loaded.anomalies(scenario.anomalies, scenario.target, attribute="all")
    assert render(after, "json") == render(before, "json")
    assert loaded.settings == model.settings and list(loaded.reference) == list(model.reference)


def test_saving_the_same_model_twice_writes_the_same_bytes(model, tmp_path):
    model.save(tmp_path / "a.model")
    model.save(tmp_path / "b.model")
    assert (tmp_path / "a.model").read_bytes() == (tmp_path / "b.model").read_bytes()


def test_a_saved_model_names_the_planted_root_cause():
    g = nx.DiGraph([("db", "cache"), ("cache", "api"), ("auth", "api"), ("api", "web")])
    ref, bad = unit_links(g, 2000, 1, {"db": 9.0}, n_anomalies=3)
    result = ca.fit(g, ref).anomalies(bad)  # the target defaults to the only sink, web
    assert result.target == "web" and result.top_cause == "db"


def test_a_model_with_categorical_nodes_and_gaps_survives_saving(tmp_path):
    rng = np.random.default_rng(0)
    n = 600
    plan = rng.choice(["free", "pro", "None"], n)  # "None" is a level here, not a gap
    load = rng.normal(size=n) + (plan == "pro") * 2.0
    latency = 2.0 * load + rng.normal(size=n)
    ref = pd.DataFrame({"plan": plan, "load": load, "latency": latency})
    ref.loc[5:20, "load"] = np.nan
    g = nx.DiGraph([("plan", "load"), ("load", "latency")])
    model = ca.fit(g, ref, categorical=["plan"])
    model.save(tmp_path / "c.model")
    loaded = ca.load_model(tmp_path / "c.model")
    rows = pd.DataFrame({"plan": ["pro", "free"], "load": [9.0, 0.1], "latency": [18.0, 0.3]})
    a, b = model.anomalies(rows, "latency"), loaded.anomalies(rows, "latency")
    assert render(a, "json") == render(b, "json")
    assert a.top_cause == "load"
    assert loaded.reference["load"].isna().sum() == 16


def _rewrite(src, dst, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change(info.filename, zin.read(info.filename)))


def test_a_changed_array_is_refused(model, tmp_path):
    model.save(tmp_path / "m.model")

    def flip(name, data):
        if name == "arrays/000001.npy":
            return data[:-8] + bytes(8)
        return data

    _rewrite(tmp_path / "m.model", tmp_path / "t.model", flip)
    with pytest.raises(ModelFileError, match="changed after it was saved"):
        ca.load_model(tmp_path / "t.model")


def test_an_unknown_type_in_the_document_is_refused_not_built(model, tmp_path):
    model.save(tmp_path / "m.model")

    def swap(name, data):
        if name == "model.json":
            return data.replace(b'"EmpiricalMechanism"', b'"os.system"', 1)
        return data

    _rewrite(tmp_path / "m.model", tmp_path / "t.model", swap)
    with pytest.raises(ModelFileError):
        ca.load_model(tmp_path / "t.model")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p, good: p.write_bytes(good[: len(good) // 2]), "not a causal-attrib model"),
        (lambda p, good: p.write_text("a,b\n1,2\n"), "not a causal-attrib model"),
        (lambda p, good: zipfile.ZipFile(p, "w").writestr("x.txt", "hi"), "not a causal-attrib"),
    ],
    ids=["truncated", "a-csv", "a-foreign-zip"],
)
def test_files_that_are_not_whole_models_are_refused_with_one_line(model, tmp_path, make, message):
    model.save(tmp_path / "m.model")
    bad = tmp_path / "bad.model"
    make(bad, (tmp_path / "m.model").read_bytes())
    with pytest.raises(ModelFileError, match=message) as info:
        ca.load_model(bad)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # library errors are Python errors


def test_a_model_from_a_newer_format_is_refused_with_the_version(model, tmp_path):
    model.save(tmp_path / "m.model")

    def newer(name, data):
        if name == "model.json":
            doc = json.loads(data)
            doc["format_version"] = 99
            return json.dumps(doc).encode()
        return data

    _rewrite(tmp_path / "m.model", tmp_path / "n.model", newer)
    with pytest.raises(ModelFileError, match="format 99"):
        ca.load_model(tmp_path / "n.model")


def test_the_saved_document_matches_its_shipped_schema(model, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    model.save(tmp_path / "m.model")
    with zipfile.ZipFile(tmp_path / "m.model") as zf:
        doc = json.loads(zf.read("model.json"))
        assert all(not n.endswith(".pkl") for n in zf.namelist())
    jsonschema.validate(doc, ca.load_schema("model"))


def test_a_target_the_model_does_not_know_names_the_parameter(model, scenario):
    with pytest.raises(InputError) as info:
        model.anomalies(scenario.anomalies, "no_such_node")
    assert info.value.parameter == "target"


def test_rows_typed_differently_from_the_fit_are_refused(tmp_path):
    g = nx.DiGraph([("a", "b")])
    rng = np.random.default_rng(1)
    ref = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    model = ca.fit(g, ref)
    with pytest.raises(InputError, match="numeric in the reference data"):
        model.anomalies(pd.DataFrame({"a": ["high"], "b": [1.0]}), "b")


def test_a_models_influence_equals_a_fresh_fit_with_the_same_family(scenario, model, tmp_path):
    fresh = ca.intrinsic_influence(
        scenario.graph, scenario.reference, scenario.target, models=ca.ANOMALY_MODELS,
        n_samples=2000,
    )  # fmt: skip
    model.save(tmp_path / "m.model")
    for m in (model, ca.load_model(tmp_path / "m.model")):
        asked = m.influence(scenario.target, n_samples=2000)
        assert [(n.node, n.contribution) for n in asked.nodes] == [
            (n.node, n.contribution) for n in fresh.nodes
        ]


def test_arrow_strength_ranks_the_strong_edge_above_the_weak_one():
    rng = np.random.default_rng(3)
    n = 2000
    strong, weak = rng.normal(size=n), rng.normal(size=n)
    child = 3.0 * strong + 0.3 * weak + rng.normal(size=n)
    data = pd.DataFrame({"strong": strong, "weak": weak, "child": child})
    g = nx.DiGraph([("strong", "child"), ("weak", "child")])
    edges = {(e.source, e.target): e.strength for e in ca.arrow_strength(g, data, "child")}
    assert edges[("strong", "child")] == pytest.approx(9.0, rel=0.15)
    assert edges[("weak", "child")] == pytest.approx(0.09, rel=0.3)


def test_every_result_shows_its_report_inline_in_a_notebook(scenario, model):
    """_repr_html_ is the HTML report's body (no document around it) for each result kind."""
    results = [
        model.anomalies(scenario.anomalies, scenario.target),
        model.influence(scenario.target, n_samples=500),
        ca.check_graph(scenario.graph, scenario.reference),
    ]
    for result in results:
        fragment = result._repr_html_()
        assert fragment.startswith('<div class="causal-attrib">')
        assert "<html" not in fragment and "<svg" in fragment
        assert scenario.target in fragment or result.command == "check"
    assert model._repr_html_().count("<tr>") == len(model.mechanisms) + 1


def test_log_likelihood_recovers_planted_probabilities_and_densities():
    """The Mechanism protocol's log_likelihood: a categorical child's planted table and a
    Gaussian child's planted noise come back from a fitted model."""
    rng = np.random.default_rng(0)
    n = 4000
    a = rng.choice(["x", "y"], n)
    b = np.where(a == "x", rng.choice(["p", "q"], n, p=[0.8, 0.2]),
                 rng.choice(["p", "q"], n, p=[0.3, 0.7]))  # fmt: skip
    c = 2.0 * (b == "q") + rng.normal(0.0, 1.0, n)
    g = nx.DiGraph([("a", "b"), ("b", "c")])
    model = ca.fit(g, pd.DataFrame({"a": a, "b": b, "c": c}))
    rows = {"a": np.array(["x", "y"], dtype=object), "b": np.array(["p", "p"], dtype=object),
            "c": np.array([0.0, 1.0])}  # fmt: skip
    ll = model.scm.log_likelihood(rows)
    assert np.exp(ll["b"]) == pytest.approx([0.8, 0.3], abs=0.05)
    normal = -0.5 * np.array([0.0, 1.0]) ** 2 - 0.5 * np.log(2 * np.pi)
    assert ll["c"] == pytest.approx(normal, abs=0.1)


def _forge(src, dst, edit):
    """Rewrite a model file with ``edit(document, arrays)`` applied and the digest
    recomputed, as a forger would: what such a file can do must stay bounded."""
    import io

    from causal_attrib.models.saving import document_digest

    with zipfile.ZipFile(src) as zf:
        doc = json.loads(zf.read("model.json"))
        names = sorted(n for n in zf.namelist() if n.startswith("arrays/"))
        arrays = [np.load(io.BytesIO(zf.read(n)), allow_pickle=False) for n in names]
    edit(doc, arrays)
    doc.pop("digest")
    doc["digest"] = document_digest(doc, arrays)
    with zipfile.ZipFile(dst, "w") as zf:
        zf.writestr("model.json", json.dumps(doc))
        for k, a in enumerate(arrays):
            out = io.BytesIO()
            np.save(out, a, allow_pickle=False)
            zf.writestr(f"arrays/{k:06d}.npy", out.getvalue())


def _mechanism(doc, node):
    return next(v for k, v in doc["content"]["$pairs"][0][1]["$pairs"] if k == node)


def _first_coef(doc):
    """The array number of the first additive-noise mechanism's coefficients."""
    for _, mech in doc["content"]["$pairs"][0][1]["$pairs"]:
        if isinstance(mech, dict) and mech.get("$type") == "AdditiveNoiseMechanism":
            return mech["fields"]["coef"]["$array"]
    raise AssertionError("no additive-noise mechanism")


@pytest.mark.parametrize(
    "edit",
    [
        lambda d, a: a.__setitem__(_first_coef(d), np.concatenate([a[_first_coef(d)]] * 2)),
        lambda d, a: a.__setitem__(_first_coef(d), np.zeros(0)),
        lambda d, a: d["content"]["$pairs"][0][1]["$pairs"][0].__setitem__(1, 5),
        lambda d, a: d["content"]["$pairs"][0][1]["$pairs"].__setitem__(0, [[1], 2]),
        lambda d, a: d.__setitem__("format_version", True),
    ],
    ids=["coef-too-long", "coef-empty", "mechanism-is-a-number", "unhashable-key", "version-true"],
)
def test_forged_models_are_refused_with_one_line_not_a_crash(model, tmp_path, edit):
    model.save(tmp_path / "m.model")
    _forge(tmp_path / "m.model", tmp_path / "f.model", edit)
    with pytest.raises(ModelFileError) as info:
        ca.load_model(tmp_path / "f.model")
    assert "\n" not in str(info.value)


def test_integer_coefficients_in_a_forged_model_are_read_as_numbers(model, scenario, tmp_path):
    model.save(tmp_path / "m.model")

    def to_int(d, a):
        k = _first_coef(d)
        a[k] = np.round(a[k]).astype(np.int64)

    _forge(tmp_path / "m.model", tmp_path / "f.model", to_int)
    result = ca.load_model(tmp_path / "f.model").anomalies(scenario.anomalies, scenario.target)
    assert result.rows  # it runs: integers did not reach in-place float arithmetic


def test_a_damaged_compressed_entry_is_refused_with_one_line(model, tmp_path):
    model.save(tmp_path / "m.model")
    data = bytearray((tmp_path / "m.model").read_bytes())
    with zipfile.ZipFile(tmp_path / "m.model") as zf:
        info = zf.getinfo("arrays/000000.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start] = 0xFF  # the first deflate byte: an invalid block type
    (tmp_path / "d.model").write_bytes(bytes(data))
    with pytest.raises(ModelFileError):
        ca.load_model(tmp_path / "d.model")


def test_saving_over_something_that_is_not_a_regular_file_is_refused(model, tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(ModelFileError, match="not a regular file"):
        model.save(tmp_path / "adir")
    assert (tmp_path / "adir").is_dir()
