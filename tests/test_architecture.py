"""The house rules of issue #17, checked on the code: imports point one way (the import-linter
contracts in pyproject.toml), no import cycles among metrotwin's modules, a module imports
another of ours inside a function only for a reason it states in a comment, no function over
120 lines or with more than 12 positional parameters, radon maintainability grade A for every
module, and no test that skips when one of our modules or a runtime dependency fails to import.
Each check lists every offender (file:line:function)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from radon.metrics import mi_rank, mi_visit

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


# -- the size of units (issue #17 "Done when") -------------------------------------------------
#: longest function (lines, decorators to last line) and most positional parameters (``self``
#: and ``cls`` not counted; a numba kernel groups its arrays into tuples instead)
MAX_FUNCTION_LINES = 120
MAX_POSITIONAL = 12


def package_modules() -> list[Path]:
    """Every module of the package, in its four source folders."""
    return [path for folder in PACKAGE_DIRS for path in sorted((REPO / folder).rglob("*.py"))
            if "__pycache__" not in path.parts]  # fmt: skip


def functions(path: Path):
    """(qualified name, node) of every function and method in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield f"{prefix}{child.name}", child
                yield from walk(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                yield from walk(child, f"{prefix}{child.name}.")
            else:
                yield from walk(child, prefix)

    yield from walk(tree, "")


def where(path: Path, name: str, node) -> str:
    return f"{path.relative_to(REPO)}:{node.lineno}:{name}"


def function_lines(node) -> int:
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return node.end_lineno - first + 1


def positional_parameters(node) -> int:
    names = [a.arg for a in (*node.args.posonlyargs, *node.args.args)]
    return len([n for n in names if n not in ("self", "cls")])


def test_no_function_is_longer_than_the_limit():
    long = [f"{where(path, name, node)} ({function_lines(node)} lines)"
            for path in package_modules() for name, node in functions(path)
            if function_lines(node) > MAX_FUNCTION_LINES]  # fmt: skip
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)


def test_no_function_takes_too_many_positional_parameters():
    wide = [f"{where(path, name, node)} ({positional_parameters(node)} positional)"
            for path in package_modules() for name, node in functions(path)
            if positional_parameters(node) > MAX_POSITIONAL]  # fmt: skip
    assert not wide, (
        f"functions with more than {MAX_POSITIONAL} positional parameters (group them: a "
        f"tuple of arrays for a numba kernel, keyword-only or a dataclass otherwise):\n"
        + "\n".join(wide)
    )


def test_every_module_has_maintainability_grade_a():
    """radon's maintainability index (``radon mi``; A is 20 or more on its 0-100 scale)."""
    low = []
    for path in package_modules():
        score = mi_visit(path.read_text(encoding="utf-8"), multi=True)
        if mi_rank(score) != "A":
            low.append(f"{path.relative_to(REPO)}: {mi_rank(score)} ({score:.1f})")
    assert not low, "modules below maintainability grade A (split them):\n" + "\n".join(low)


# -- the tests themselves -----------------------------------------------------------------------
def hard_dependencies() -> set[str]:
    """Import names of the package's runtime dependencies (pyproject's [project]
    dependencies): a test that needs one imports it; skipping would hide a broken install."""
    aliases = {"pyyaml": "yaml", "pillow": "PIL", "imageio-ffmpeg": "imageio_ffmpeg"}
    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    names = set()
    for requirement in data["project"]["dependencies"]:
        name = requirement.split(";")[0]
        for stop in "<>=!~[ ":
            name = name.split(stop)[0]
        names.add(aliases.get(name.lower(), name.replace("-", "_")))
    return names


def importorskips(path: Path):
    """(line, module name) of every ``pytest.importorskip("...")`` in ``path``."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "importorskip" and node.args
                and isinstance(node.args[0], ast.Constant)):  # fmt: skip
            yield node.lineno, str(node.args[0].value)


def test_tests_do_not_skip_on_our_modules_or_hard_dependencies():
    """``pytest.importorskip`` of a metrotwin module (a broken import became a skip) or of a
    runtime dependency (installed with the package) is a plain import instead."""
    hard = hard_dependencies()
    assert {"numpy", "pyvista", "osmium", "yaml"} <= hard, hard  # the parse found them
    found = [f"{path.relative_to(REPO)}:{line}: importorskip({name!r})"
             for path in sorted((REPO / "tests").rglob("*.py"))
             for line, name in importorskips(path)
             if name.split(".")[0] == "metrotwin" or name.split(".")[0] in hard]  # fmt: skip
    assert not found, "skips on a module that is always installed:\n" + "\n".join(found)


def test_the_package_doctests_are_collected():
    """The README's test command runs the package's doctests (pyproject's pytest options and
    the root conftest.py): every module with a ``>>>`` example is collected, under its
    installed name."""
    with_examples = sorted(path for path in package_modules()
                           if ">>> " in path.read_text(encoding="utf-8"))  # fmt: skip
    assert with_examples
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *map(str, with_examples)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    for path in with_examples:
        folder = path.relative_to(REPO).parts[0]
        parts = path.relative_to(REPO / folder).with_suffix("").parts
        name = ".".join(("metrotwin", *([PACKAGE_DIRS[folder]] if PACKAGE_DIRS[folder] else []),
                         *parts))  # fmt: skip
        assert f"{path.relative_to(REPO)}::{name}" in proc.stdout, (name, proc.stdout[-2000:])
