"""The house rules of issue #17, checked on the code: imports point one way (the import-linter
contracts in pyproject.toml), no import cycles among metrotwin's modules, and a module imports
another of ours inside a function only for a reason it states in a comment."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: the folders setuptools assembles into the package (pyproject's package-dir)
PACKAGE_DIRS = {"engine": "", "models": "models", "hpc": "hpc", "viz": "viz"}
#: the CLI imports each command's modules inside the command, so that `metrotwin --help` stays
#: fast (its module docstring says so once)
LAZY_BY_DESIGN = {REPO / "engine" / "cli.py"}


#: run in a fresh interpreter: grimp finds the package through the import system, which in
#: this process already holds the installed ``metrotwin`` (one folder, engine/)
GRAPH_SCRIPT = """
import json, grimp
g = grimp.build_graph("metrotwin", cache_dir=None, exclude_type_checking_imports=True)
print(json.dumps({m: sorted(g.find_modules_directly_imported_by(m)) for m in g.modules}))
"""


@pytest.fixture(scope="module")
def graph(tmp_path_factory) -> dict[str, list[str]]:
    """module -> the modules it imports, for the package as it is installed: the four folders
    linked into one ``metrotwin`` folder (grimp walks one folder per package). Imports under
    ``if TYPE_CHECKING:`` are left out: they never run."""
    tree = tmp_path_factory.mktemp("layout")
    package = tree / "metrotwin"
    package.mkdir()
    for entry in (REPO / "engine").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for folder in ("models", "hpc", "viz", "scenarios"):
        (package / folder).symlink_to(REPO / folder)
    proc = subprocess.run([sys.executable, "-c", GRAPH_SCRIPT], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)}, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def strongly_connected(graph: dict[str, list[str]]) -> list[list[str]]:
    """The import cycles: every strongly connected set of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for other in graph[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in on_stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            members = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                members.append(other)
                if other == module:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for module in sorted(graph):
            if module not in index:
                visit(module)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_graph_holds_every_stage(graph):
    """The graph is the whole package (a wrong layout would make the next tests vacuous)."""
    for module in ("metrotwin.scenario.scenario", "metrotwin.city.state", "metrotwin.run.runner",
                   "metrotwin.results.compare", "metrotwin.models.flood.model",
                   "metrotwin.hpc.decomposition", "metrotwin.viz.report"):  # fmt: skip
        assert module in graph, module
    assert "metrotwin.city.state" in graph["metrotwin.run.runner"]


def test_no_import_cycles(graph):
    cycles = strongly_connected(graph)
    assert not cycles, "modules that import each other (directly or round a loop):\n" + "\n".join(
        ", ".join(c) for c in cycles
    )


def test_import_contracts():
    """import-linter's contracts (pyproject.toml [tool.importlinter]): the stages' layers, no
    engine import of models or viz, mpi4py only in hpc, pyvista/vtk/matplotlib only in viz,
    models independent of each other."""
    proc = subprocess.run([str(REPO / "tools" / "lint-imports")], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout


def commented(lines: list[str], i: int) -> bool:
    """Line ``i`` has a comment, or the run of import lines it belongs to has one above it."""
    if "#" in lines[i]:
        return True
    while i > 0 and lines[i - 1].strip().startswith(("from ", "import ")):
        i -= 1
    return i > 0 and lines[i - 1].strip().startswith("#")


def function_level_imports(path: Path):
    """(line, statement) of each import of a metrotwin module inside a function of ``path``
    that has no comment on its line or the line above."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            names = []
            if isinstance(inner, ast.ImportFrom):
                names = [inner.module or ""]
            elif isinstance(inner, ast.Import):
                names = [a.name for a in inner.names]
            if not any(n.split(".")[0] == "metrotwin" for n in names):
                continue
            if not commented(lines, inner.lineno - 1):
                yield inner.lineno, lines[inner.lineno - 1].strip()


def test_function_level_imports_say_why():
    """An import inside a function hides a dependency; the only ones left load an optional
    heavy library late (PyVista, matplotlib) or are a back-edge the contracts list, and each
    says so in a comment."""
    silent = []
    for folder in PACKAGE_DIRS:
        for path in sorted((REPO / folder).rglob("*.py")):
            if path in LAZY_BY_DESIGN or "__pycache__" in path.parts:
                continue
            silent += [f"{path.relative_to(REPO)}:{n}: {text}"
                       for n, text in function_level_imports(path)]  # fmt: skip
    assert not silent, "imports inside functions without a reason:\n" + "\n".join(silent)
