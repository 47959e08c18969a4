"""The README's Python examples run as written, and its doctest output is what you get."""

from __future__ import annotations

import doctest
import re

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


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
