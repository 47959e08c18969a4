"""The README's Python examples run as written, and its doctest output is what you get."""

from __future__ import annotations

import doctest
import re

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
ALL_BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
EXTRA = "# needs the dowhy extra"
BLOCKS = [b for b in ALL_BLOCKS if not b.startswith(EXTRA)]
DOWHY_BLOCKS = [b for b in ALL_BLOCKS if b.startswith(EXTRA)]


def test_the_python_examples_run_in_order(monkeypatch, tmp_path):
    assert len(BLOCKS) >= 5
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    for block in BLOCKS:
        if block.lstrip().startswith(">>>"):
            parser = doctest.DocTestParser()
            test = parser.get_doctest(block, namespace, "README", "README.md", 0)
            runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=lambda text: pytest.fail(text))
            assert runner.failures == 0
        else:
            code = block.replace('Path("report.html")', f"Path({str(tmp_path / 'r.html')!r})")
            exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


def test_the_dowhy_examples_run(monkeypatch, capsys):
    """The blocks that need the dowhy extra, run with it (after the others' imports)."""
    pytest.importorskip("dowhy", reason="DoWhy (the dowhy extra) is not installed")
    assert DOWHY_BLOCKS
    namespace: dict = {}
    exec("import causal_attrib as ca", namespace)
    for block in DOWHY_BLOCKS:
        exec(compile(block, "README.md", "exec"), namespace)
    assert capsys.readouterr().out.strip().splitlines()[-1] == "True"
