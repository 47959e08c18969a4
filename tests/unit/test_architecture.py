"""The package's shape, checked from its source: the pipeline's layers import only what
comes before them, no import cycles, no private names across modules, short functions."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "causal_attrib"
BASE = {
    "causal_attrib",
    "errors",
    "choices",
    "exit_codes",
    "limits",
    "progress",
    "engine",
    "synthetic",
    "synthetic_series",
    "features",
}
ALLOWED = {
    "base": {"base"},
    "inputs": {"base", "inputs"},
    "models": {"base", "models"},
    "stats": {"base", "models", "stats"},
    "results": {"base", "results"},
    "schemas": {"base", "schemas"},
    "analyses": {"base", "inputs", "models", "stats", "results", "analyses"},
    "rendering": {"base", "results", "rendering"},
    "bridges": {"base", "inputs", "models", "stats", "analyses", "results", "bridges"},
    "cli": {"base", "inputs", "analyses", "results", "rendering", "schemas", "bridges", "cli"},
}
MAX_LINES = 100


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASE:
        return "base"
    return "cli" if parts[1] == "__main__" else parts[1]


def _imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(imported module, names taken from it, line) for every import of the package,
    at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            names = [a.name for a in node.names]
            submodules = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
            if submodules:  # `from . import engine`: the submodule is what is imported
                out += [(s, [], node.lineno) for s in submodules]
                names = [n for n in names if f"{base}.{n}" not in MODULES]
            out.append((base, names, node.lineno))
    return [(m, names, line) for m, names, line in out if m.split(".")[0] == "causal_attrib"]


def test_layers_import_only_what_comes_before_them():
    wrong = []
    for module, path in MODULES.items():
        for target, _, line in _imports(module, path):
            if _layer(target) not in ALLOWED[_layer(module)]:
                wrong.append(f"{path.name}:{line} {module} ({_layer(module)}) imports {target}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_rule_flags_an_analysis_that_imports_rendering(tmp_path):
    """Guards the layer test: a planted upward import is seen and is not allowed."""
    fake = tmp_path / "fake.py"
    fake.write_text("from ..rendering.html import page\nfrom ..cli import main\n")
    found = [t for t, _, _ in _imports("causal_attrib.analyses.fake", fake)]
    assert found == ["causal_attrib.rendering.html", "causal_attrib.cli"]
    assert all(_layer(t) not in ALLOWED["analyses"] for t in found)


def test_no_import_cycles():
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target, _, _ in _imports(module, path):
            if target in MODULES and target != module:
                graph.add_edge(module, target)
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, cycles


def test_no_private_names_across_modules():
    wrong = []
    for module, path in MODULES.items():
        aliases = {}
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, names, line in _imports(module, path):
            wrong += [f"{module}:{line} takes {n} from {target}" for n in names if _private(n)]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom | ast.Import):
                for alias in node.names:
                    aliases[alias.asname or alias.name] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
                and f"{_resolve(module, path, aliases[node.value.id])}" in MODULES
            ):
                wrong.append(f"{module}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: str, path: Path, name: str) -> str:
    return name if name.startswith("causal_attrib") else f"{module.rsplit('.', 1)[0]}.{name}"


def _code_lines(func: ast.FunctionDef) -> int:
    """Lines of a function without its docstring (numpydoc docstrings of the public API
    are long on purpose)."""
    lines = func.end_lineno - func.lineno + 1
    first = func.body[0]
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        lines -= first.end_lineno - first.lineno + 1
    return lines


@pytest.mark.parametrize("module", sorted(MODULES))
def test_functions_are_short_enough_to_test_alone(module):
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    long = [
        f"{node.name} ({_code_lines(node)} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _code_lines(node) > MAX_LINES
    ]
    assert not long, long


def test_the_checks_see_the_whole_package():
    """Guards the checks above against passing because they read nothing."""
    layers = {_layer(m) for m in MODULES}
    assert layers == set(ALLOWED)
    imports = sum(len(_imports(m, p)) for m, p in MODULES.items())
    assert imports > 100


FITTING_MODULE = "causal_attrib.models.fitting"
MECHANISM_CLASSES = {
    "EmpiricalMechanism", "AdditiveNoiseMechanism", "ClassifierMechanism", "TableMechanism"
}


def _mechanism_fits(tree: ast.AST) -> list[int]:
    """Lines that fit a mechanism directly (``SomeMechanism.fit(...)``) or choose a basis
    for one (``fit_node``'s job): what only the fitting module may do."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "fit"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id in MECHANISM_CLASSES
    ]


def test_only_the_fitting_module_fits_mechanisms():
    """Fit once, query many: every analysis gets its mechanisms from models/fitting.py
    (fit_node, fit_on_basis, fit_scm), so a family or a gap rule changes in one place."""
    wrong = [
        f"{module}:{line}"
        for module, path in MODULES.items()
        if module != FITTING_MODULE
        for line in _mechanism_fits(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert not wrong, f"mechanisms fitted outside {FITTING_MODULE}: {wrong}"


def test_the_fitting_check_sees_a_direct_fit():
    """Guards the check above: a direct fit in source is found."""
    assert _mechanism_fits(ast.parse("m = AdditiveNoiseMechanism.fit(b, d, y)")) == [1]
    assert _mechanism_fits(ast.parse("m = fit_node(p, d, y, models=f)")) == []
