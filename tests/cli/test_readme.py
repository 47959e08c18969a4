"""The README's and the docs' examples run as written, and the output they show is what
you get."""

from __future__ import annotations

import doctest
import re

import pytest
from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {
    path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "docs").glob("*.md"))
}
# the Python examples build on each other in this order
PYTHON_PAGES = README + DOCS["python-api.md"] + DOCS["dowhy.md"]
ALL_BLOCKS = re.findall(r"```python\n(.*?)```", PYTHON_PAGES, flags=re.S)
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
            code = code.replace('"shop.model"', repr(str(tmp_path / "shop.model")))
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


SHELL_BLOCKS = [
    re.sub(r"\\\n\s*", "", block)  # a command continued over lines with a backslash
    for page in (README, *DOCS.values())
    for block in re.findall(r"```\n(.*?)```", page, flags=re.S)
]
EXAMPLES = [
    (line.removeprefix("$ "), block)
    for block in SHELL_BLOCKS
    for line in block.splitlines()
    if line.startswith(("causal-attrib ", "$ causal-attrib "))
    and "sample_data/" in line
    and "..." not in line
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """Where the examples' saved models go (``fit -o shop.model`` then ``--model
    shop.model``, in page order), instead of the repository."""
    return tmp_path_factory.mktemp("models")


@pytest.mark.parametrize("command, block", EXAMPLES, ids=[c[:60] for c, _ in EXAMPLES])
def test_the_shell_examples_on_the_bundled_samples_run_as_written(cli, monkeypatch, command,
                                                                  block, model_dir):  # fmt: skip
    """Every README command line on the bundled samples runs from the repository root; where
    the README shows its output (a ``$`` line), the shown lines are what it prints."""
    import shlex

    monkeypatch.chdir(ROOT)
    args = [str(model_dir / a) if a.endswith(".model") else a for a in shlex.split(command)[1:]]
    out = cli(*args)
    assert out.exit_code in (0, 1), out.stderr
    if f"$ {command}" in block:
        shown = block.split(f"$ {command}\n", 1)[1]
        for line in shown.splitlines():
            if line.strip() and line.strip() != "...":
                assert line in out.stdout.splitlines(), line


def test_the_quick_start_output_is_what_the_readme_shows(cli, monkeypatch):
    block = README.split("Expected output of the first command (abridged):\n\n```\n", 1)[1]
    shown = block.split("```", 1)[0]
    command = re.search(r"&& (causal-attrib explain [^\n]*)", README).group(1)
    monkeypatch.chdir(ROOT)
    out = cli(*command.split()[1:])
    assert out.exit_code == 0
    for line in shown.splitlines():
        if line.strip() and line.strip() != "...":
            assert line in out.stdout.splitlines(), line


def test_every_docs_page_is_linked_from_the_readme_and_links_resolve():
    for name in DOCS:
        assert f"(docs/{name})" in README, name
    for page_name, page in {"README.md": README, **DOCS}.items():
        base = ROOT if page_name == "README.md" else ROOT / "docs"
        for target in re.findall(r"\]\(([^)#:]+)\)", page):
            assert (base / target).exists(), f"{page_name}: {target}"
