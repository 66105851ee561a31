"""The package's shape, read from the source with `ast` (nothing is imported): no import cycle
between photoz modules, no import from a lower layer up to a higher one, and every module and
function within the project's size limits. docs/architecture.md draws the same layers.

An import is any `import`/`from ... import` anywhere in a module (inside functions too: a
function-local import is still a dependency). Modules of one layer may import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("photoz", "hydra_plugins")

# Lowest first. A module belongs to the layer of the longest name below that is a prefix of its
# own. The schema modules form a layer of their own, whichever package they sit in: they are the
# declarations photoz.config composes against (with the registry that pairs them with their code),
# so they import nothing but photoz.choices and each other.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("photoz", "photoz.errors", "photoz.choices", "photoz.processes", "photoz.interrupt")),
    ("schemas", ("photoz.data.schema", "photoz.models.schema", "photoz.estimators.schema", "photoz.training.schema",
                 "photoz.registry")),
    ("config", ("photoz.config",)),
    ("physics", ("photoz.physics",)),
    ("data", ("photoz.data",)),
    ("predictions", ("photoz.predictions",)),
    ("models", ("photoz.models",)),
    ("training", ("photoz.training",)),
    ("inference", ("photoz.inference",)),
    ("estimators", ("photoz.estimators",)),
    ("tracking", ("photoz.tracking",)),
    ("comparison", ("photoz.comparison",)),
    ("job", ("photoz.job",)),
    ("entry points", ("photoz.train", "photoz.simulate", "photoz.ingest", "photoz.predict", "photoz.compare", "photoz.ensemble",
                      "photoz.merge", "photoz.pretrain", "photoz.cli", "photoz.tool_schemas", "hydra_plugins")),
]  # fmt: skip
MAX_MODULE_LINES, MAX_FUNCTION_LINES, MAX_PARAMS = 250, 60, 8


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports_of(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The project modules `name` imports: `import a.b`, `from a import b` (module b or a name in a)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package
                package = name.split(".") if MODULES[name].name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m in known and m != name}


GRAPH = {name: imports_of(name, ast.parse(path.read_text()), set(MODULES)) for name, path in MODULES.items()}


def layer_of(name: str) -> int:
    matches = [(len(prefix), i) for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if name == prefix or name.startswith(prefix + ".")]  # fmt: skip
    assert matches, f"{name} is in no layer: add it to LAYERS (and to docs/architecture.md)"
    return max(matches)[1]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a lower layer to a higher one, as 'a (layer) -> b (layer)'."""
    return sorted(
        f"{a} ({LAYERS[layer_of(a)][0]}) -> {b} ({LAYERS[layer_of(b)][0]})"
        for a, targets in graph.items() for b in targets if layer_of(b) > layer_of(a)
    )  # fmt: skip


def test_the_package_has_no_import_cycle() -> None:
    assert cycles(GRAPH) == []


def test_no_import_runs_up_the_layers() -> None:
    assert upward(GRAPH) == []


def test_every_module_is_in_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_the_graph_sees_every_kind_of_import() -> None:
    assert "photoz.job.run" in GRAPH["photoz.train"]  # imported inside train()
    assert "photoz.registry" in GRAPH["photoz.config"]  # from photoz.registry import REGISTRY
    assert {"hydra_plugins.photoz_sweeper._binding", "hydra_plugins.photoz_sweeper"} <= GRAPH["hydra_plugins.photoz_sweeper._impl"]


def test_the_checks_can_fail() -> None:
    """A cycle and an upward import in a made-up graph are found."""
    graph = {"photoz.config": {"photoz.estimators.build"}, "photoz.estimators.build": {"photoz.config"},
             "photoz.training.loop": {"photoz.estimators.base"}, "photoz.estimators.base": set()}  # fmt: skip
    assert cycles(graph) == [["photoz.config", "photoz.estimators.build"]]
    assert upward(graph) == [
        "photoz.config (config) -> photoz.estimators.build (estimators)",
        "photoz.training.loop (training) -> photoz.estimators.base (estimators)",
    ]


def too_big(path: Path, root: Path = ROOT) -> list[str]:
    """The module if longer than MAX_MODULE_LINES, and each function longer than MAX_FUNCTION_LINES
    or with more than MAX_PARAMS parameters (self and cls not counted)."""
    source = path.read_text()
    where = path.relative_to(root)
    found = [f"{where}: {len(source.splitlines())} lines"] if len(source.splitlines()) > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
            n = len([p for p in params if p.arg not in ("self", "cls")])
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES or n > MAX_PARAMS:
                found.append(f"{where}:{node.lineno} {node.name}: {length} lines, {n} parameters")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_and_functions_stay_small(package: str) -> None:
    assert [f for p in sorted((ROOT / package).rglob("*.py")) for f in too_big(p)] == []


def test_the_size_check_can_fail(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(61))
    big = tmp_path / "big.py"
    big.write_text(f"def f(a, b, c, d, e, f, g, h, i):\n{body}\n" + "\n" * 200)
    assert too_big(big, tmp_path) == ["big.py: 262 lines", "big.py:1 f: 62 lines, 9 parameters"]
