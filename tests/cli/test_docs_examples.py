"""Every Python example in the README and docs/*.md runs verbatim: a fresh namespace per
page (a page's blocks build on each other, in order, and on nothing else), the working
directory holding ``sample_data`` as in a clone, and nothing on stderr (no progress bar, no
warning). A block preceded by ``<!-- not runnable: why -->`` is skipped; none is now.
"""

from __future__ import annotations

import doctest
import re

import pytest
from conftest import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"(<!--[^>]*-->\s*\n)?```python\n(.*?)```", flags=re.S)


def blocks(text: str) -> list[str]:
    """The page's runnable Python blocks, in order."""
    return [code for mark, code in BLOCK.findall(text) if "not runnable" not in (mark or "")]


RUNNABLE = {p.name: blocks(p.read_text(encoding="utf-8")) for p in PAGES}
RUNNABLE = {name: code for name, code in RUNNABLE.items() if code}


def test_the_docs_have_python_examples_and_none_is_skipped():
    assert {"python-api.md", "dowhy.md", "time-series.md"} <= set(RUNNABLE)
    every = sum(p.read_text(encoding="utf-8").count("```python") for p in PAGES)
    assert sum(map(len, RUNNABLE.values())) == every


@pytest.mark.parametrize("page", sorted(RUNNABLE))
def test_a_pages_python_examples_run_verbatim(page, tmp_path, monkeypatch, capfd):
    code = RUNNABLE[page]
    if any("dowhy" in block for block in code):
        pytest.importorskip("dowhy", reason="DoWhy (the dowhy extra) is not installed")
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for block in code:
        if block.lstrip().startswith(">>>"):
            test = doctest.DocTestParser().get_doctest(block, namespace, page, page, 0)
            runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
            runner.run(test, out=lambda text: pytest.fail(text))
            assert runner.failures == 0
        else:
            exec(compile(block, page, "exec"), namespace)  # a NameError fails the page
    out, err = capfd.readouterr()
    assert err == "", err[-500:]  # DoWhy's progress bar went to stderr
    if "print(" in "".join(code):
        assert out.strip() and "False" not in out.split()
