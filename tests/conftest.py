"""Shared fixtures: paths, a CLI runner that validates every JSON it sees, the schema."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import settings

from causal_attrib.cli import main
from causal_attrib.schemas import SCHEMAS, load_schema
from causal_attrib.synthetic import simulate

# Locally, property tests draw new examples on every run (that is how they find bugs); in CI
# they draw a fixed set, so that a red build always means a change, not a lucky draw.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared" / "data"
DOWHY = SHARED / "dowhy_examples"
SHOP = (
    SAMPLE / "shop" / "graph.dot",
    SAMPLE / "shop" / "before.csv",
    SAMPLE / "shop" / "after.csv",
)


@pytest.fixture(scope="session")
def validators():
    """One validator per command, keyed like the JSON's ``command`` field."""
    out = {}
    for name in SCHEMAS:
        schema = load_schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        out[name] = jsonschema.Draft202012Validator(schema)
    return out


@pytest.fixture(scope="session")
def validator(validators):
    return validators["explain"]


class Cli:
    """Runs the CLI in-process; any JSON on stdout is validated against its command's schema."""

    def __init__(self, validators):
        self.validators = validators
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        result = self.runner.invoke(
            main, [str(a) for a in args], input=input, catch_exceptions=False
        )
        # the promise to users: no traceback ever reaches them unless they ask with --debug
        assert "--debug" in args or "Traceback" not in result.stderr, result.stderr
        if "json" in args and result.exit_code in (0, 1) and result.stdout.strip():
            payload = json.loads(result.stdout)
            self.validators[payload["command"]].validate(payload)
        return result


@pytest.fixture
def cli(validators):
    return Cli(validators)


@pytest.fixture
def shop_args():
    graph, before, after = SHOP
    return [
        "explain",
        "--graph",
        graph,
        "--before",
        before,
        "--after",
        after,
        "--target",
        "checkout",
    ]


needs_dowhy_data = pytest.mark.skipif(
    not DOWHY.is_dir(), reason="../shared/data/dowhy_examples is not present"
)
PETSHOP = SHARED / "petshop" / "dataset"
needs_petshop_data = pytest.mark.skipif(
    not PETSHOP.is_dir(), reason="../shared/data/petshop is not present"
)
NEZHA = SHARED / "nezha-ob" / "2022-08-22"
needs_nezha_data = pytest.mark.skipif(
    not NEZHA.is_dir(), reason="../shared/data/nezha-ob is not present"
)


def unit_links(graph, n_rows, seed, outliers, n_anomalies=1):
    """Reference and anomalous rows of an SCM whose links all have weight 1 (outliers
    propagate undamped), with ``outliers`` planted in the anomalous rows' noise."""
    rng = np.random.default_rng(seed)
    _, params = simulate(graph, 10, rng)
    for p in params.values():
        p["w"] = np.ones(len(p["w"]))
    reference, _ = simulate(graph, n_rows, rng, params=params)
    anomalies, _ = simulate(graph, n_anomalies, rng, params=params, outliers=outliers)
    return reference, anomalies
