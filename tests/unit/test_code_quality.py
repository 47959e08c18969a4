import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: pip install -e '.[test]'")
    out = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_shared_data_is_not_copied_into_the_repo():
    """Public datasets are read from ../shared/data, never committed."""
    names = {p.name for p in ROOT.rglob("*.csv") if ".git" not in p.parts}
    assert not names & {
        "rca_microservice_architecture_latencies.csv",
        "supply_chain_week_over_week.csv",
        "metrics.csv",
        "2021 Data.csv",
    }
