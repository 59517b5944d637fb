"""The import contract: painzoo's modules import one way.

The module graph is read from the source with :mod:`ast`; no painzoo module is
imported. Every import statement counts, at module level or inside a
function, and so does ``importlib.import_module("painzoo.…")`` with a literal
name. ``from P import name`` depends on ``P`` (it runs ``P/__init__.py`` to
look the name up) and, where ``P.name`` is a module, on that module too.
``import P.M`` depends on ``P.M`` only: the parent packages that Python runs
first are not counted, or no package could import its own submodules.
Imports by a computed name (an f-string) are not seen.

The rules (``docs/architecture.md``):

- no import cycles among painzoo's modules;
- the pairs in :data:`FORBIDDEN` never import each other;
- only :data:`ROOT_IMPORTERS` import the package root (``import painzoo``,
  ``from painzoo import NAME``); everything else imports from the module that
  defines a name;
- :data:`LAYERS`, top to bottom: a module imports from its own package and
  from lower layers only; packages that share a layer do not import each
  other.
"""

from __future__ import annotations

import ast
import collections
import textwrap
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "painzoo"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE

#: Top to bottom. An entry is a package (or module) and everything under it,
#: except the root ``painzoo``, which stands for ``painzoo/__init__.py`` alone.
#: Packages in one tuple share a layer and are independent of each other.
LAYERS: tuple[str | tuple[str, ...], ...] = (
    "painzoo.cli",  # the command; heavy imports inside the command that needs them
    "painzoo",  # the public API (get_model, list_models, predict, train)
    "painzoo.benchmark",  # orchestration: config, units, runner, executors, report
    "painzoo.inference",  # train on all data (model card), predict, video, frames
    "painzoo.explain",  # attention maps, Grad-CAM, LIME, global heat maps
    "painzoo.evaluation",  # protocols (splitters) and metrics
    "painzoo.training",  # recipes, input pipelines, Learner
    "painzoo.preprocess",  # face crops, InputSpec (resolved from the registry)
    "painzoo.registry",  # get_model, list_models, ModelInfo
    "painzoo.models",  # one module per family, and the zoo table
    "painzoo.layers",  # custom Keras layers
    "painzoo.losses",  # pure functions of tensors
    "painzoo.datasets",  # manifest, loaders, synthetic data
    "painzoo.annotation",  # PSPI, RGS, ICC, rating sheets
    ("painzoo.utils", "painzoo._quiet", "painzoo._signals", "painzoo._version"),
)

#: (importer, imported): no module under the first imports one under the second,
#: whatever the layers say, so a user of the library never loads the runner.
FORBIDDEN = (
    ("painzoo.evaluation", "painzoo.benchmark"),
    ("painzoo.inference", "painzoo.benchmark"),
)

#: The only modules that may import the package root itself.
ROOT_IMPORTERS = ("painzoo", "painzoo.cli")


# -- the checker ------------------------------------------------------------------------
@dataclass(frozen=True)
class Import:
    """One dependency of ``importer`` on ``imported``, as written at ``path:line``."""

    importer: str
    imported: str
    path: str
    line: int
    statement: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.importer} imports {self.imported} ({self.statement})"
        )


@dataclass
class Graph:
    """The modules of a package (name → source file) and their imports of each other."""

    package: str
    modules: dict[str, Path]
    imports: list[Import]

    def targets(self, module: str) -> set[str]:
        return {i.imported for i in self.imports if i.importer == module}

    def find(self, importer: str, imported: str) -> Import:
        return next(i for i in self.imports if i.importer == importer and i.imported == imported)


def _module_name(package_dir: Path, path: Path) -> str:
    parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _known(name: str, modules: dict[str, Path]) -> str:
    """``name`` itself if it is a module, else its longest prefix that is one."""
    while name not in modules and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imported_names(node: ast.AST, module: str, is_package: bool, modules) -> list[str]:
    """The absolute names that ``node``, in ``module``, imports (none for other nodes)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        submodules = [f"{source}.{a.name}" for a in node.names if f"{source}.{a.name}" in modules]
        return [source, *submodules]
    if (
        isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            or (isinstance(node.func, ast.Name) and node.func.id == "import_module")
        )
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def build_graph(package_dir: Path) -> Graph:
    """Read every ``.py`` file under ``package_dir`` and collect its imports of the package."""
    package = package_dir.name
    modules = {_module_name(package_dir, p): p for p in sorted(package_dir.rglob("*.py"))}
    imports = []
    for module, path in modules.items():
        source = path.read_text(encoding="utf-8")
        where = path.relative_to(package_dir.parent).as_posix()
        for node in ast.walk(ast.parse(source, filename=str(path))):
            names = _imported_names(node, module, path.name == "__init__.py", modules)
            names = [_known(n, modules) for n in names if _within(n, package)]
            if not names:
                continue
            statement = " ".join((ast.get_source_segment(source, node) or "").split())
            for target in dict.fromkeys(names):
                if target != module:
                    imports.append(Import(module, target, where, node.lineno, statement))
    imports.sort(key=lambda i: (i.path, i.line, i.imported))
    return Graph(package, modules, imports)


def _strongly_connected(graph: Graph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    targets = {m: sorted(graph.targets(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in targets[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph.modules:
        if module not in index:
            visit(module)
    return sorted(found)


def _shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside it."""
    start, members = component[0], set(component)
    parent = {start: None}
    queue = collections.deque([start])
    while queue:
        v = queue.popleft()
        for w in sorted(graph.targets(v) & members):
            if w == start:
                path = [v]
                while parent[path[-1]] is not None:
                    path.append(parent[path[-1]])
                return [start, *reversed(path[:-1]), start]
            if w not in parent:
                parent[w] = v
                queue.append(w)
    raise AssertionError(f"{component} is not a cycle")


def cycle_violations(graph: Graph) -> list[str]:
    """One message per import cycle: the modules in order and each import that closes a step."""
    messages = []
    for component in _strongly_connected(graph):
        cycle = _shortest_cycle(graph, component)
        steps = "\n".join(f"    {graph.find(a, b)}" for a, b in zip(cycle, cycle[1:]))
        messages.append(
            f"import cycle {' -> '.join(cycle)} (a cycle among {', '.join(component)}):\n{steps}"
        )
    return messages


def forbidden_violations(graph: Graph, forbidden) -> list[str]:
    return [
        f"{i}: {source} must not import {target}"
        for source, target in forbidden
        for i in graph.imports
        if _within(i.importer, source) and _within(i.imported, target)
    ]


def root_violations(graph: Graph, allowed) -> list[str]:
    return [
        f"{i}: only {', '.join(allowed)} import the package root; import the name from the "
        "module that defines it"
        for i in graph.imports
        if i.imported == graph.package and i.importer not in allowed
    ]


def _layer_of(module: str, layers, package: str) -> tuple[int, str] | None:
    """``(layer index counted from the top, the entry)`` of the longest entry holding ``module``."""
    best = None
    for rank, layer in enumerate(layers):
        for entry in (layer,) if isinstance(layer, str) else layer:
            holds = module == entry if entry == package else _within(module, entry)
            if holds and (best is None or len(entry) > len(best[1])):
                best = (rank, entry)
    return best


def unlayered_modules(graph: Graph, layers) -> list[str]:
    return [
        f"{m} ({graph.modules[m].name}) is in no layer; add its package to LAYERS"
        for m in graph.modules
        if _layer_of(m, layers, graph.package) is None
    ]


def layer_violations(graph: Graph, layers) -> list[str]:
    messages = []
    for i in graph.imports:
        importer = _layer_of(i.importer, layers, graph.package)
        imported = _layer_of(i.imported, layers, graph.package)
        if importer is None or imported is None or importer[1] == imported[1]:
            continue
        if imported[0] < importer[0]:
            messages.append(f"{i}: {importer[1]} is below {imported[1]} and must not import it")
        elif imported[0] == importer[0]:
            messages.append(
                f"{i}: {importer[1]} and {imported[1]} share a layer and must not import each other"
            )
    return messages


def _check(violations: list[str]) -> None:
    assert not violations, "\n".join(violations)


# -- painzoo keeps the contract ---------------------------------------------------------
GRAPH = build_graph(PACKAGE_DIR)


def test_graph_reads_every_module():
    assert len(GRAPH.modules) == len(list(PACKAGE_DIR.rglob("*.py")))
    assert "painzoo.cli" in GRAPH.modules and "painzoo" in GRAPH.modules
    assert GRAPH.imports  # the package does import itself somewhere


def test_no_import_cycles():
    _check(cycle_violations(GRAPH))


def test_forbidden_imports():
    _check(forbidden_violations(GRAPH, FORBIDDEN))


def test_only_the_cli_imports_the_package_root():
    _check(root_violations(GRAPH, ROOT_IMPORTERS))


def test_every_module_is_in_a_layer():
    _check(unlayered_modules(GRAPH, LAYERS))


def test_layers_import_downward():
    _check(layer_violations(GRAPH, LAYERS))


# -- the checker finds what it should ---------------------------------------------------
_FAKE = {
    "__init__.py": "from fake.api import hello\n",
    "api.py": "def hello():\n    return 'hi'\n",
    "low/__init__.py": "",
    "low/x.py": "def f():\n    from fake.low import y\n\n    return y\n",
    "low/y.py": "import fake.low.x\n",
    "low/z.py": "import importlib\n\n\ndef g():\n    return importlib.import_module('fake.bench.run')\n",
    "eval/__init__.py": "",
    "eval/m.py": "from fake.bench.run import go\n",
    "eval/n.py": "def h():\n    from fake import hello\n\n    return hello()\n",
    "eval/o.py": "from ..low import x\n",
    "bench/__init__.py": "",
    "bench/run.py": "from fake.eval import o\n\n\ndef go():\n    return o\n",
}
_FAKE_LAYERS = ("fake", "fake.api", ("fake.bench", "fake.eval"), "fake.low")


def _fake_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "fake" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root / "fake"


def test_checker_reads_imports_of_every_form(tmp_path):
    graph = build_graph(_fake_package(tmp_path, _FAKE))
    edges = {(i.importer, i.imported) for i in graph.imports}
    assert ("fake", "fake.api") in edges
    assert ("fake.low.x", "fake.low") in edges  # from P import name depends on P ...
    assert ("fake.low.x", "fake.low.y") in edges  # ... and on P.name, a module
    assert ("fake.low.y", "fake.low.x") in edges  # import P.M depends on P.M only
    assert ("fake.low.y", "fake.low") not in edges
    assert ("fake.low.z", "fake.bench.run") in edges  # importlib with a literal name
    assert ("fake.eval.m", "fake.bench.run") in edges  # the name go is not a module
    assert ("fake.eval.o", "fake.low.x") in edges  # relative import
    assert graph.find("fake.eval.n", "fake").line == 2  # inside a function


def test_checker_reports_a_cycle(tmp_path):
    graph = build_graph(_fake_package(tmp_path, _FAKE))
    (message,) = cycle_violations(graph)
    assert "fake.low.x -> fake.low.y -> fake.low.x" in message
    assert "fake/low/x.py:2: fake.low.x imports fake.low.y (from fake.low import y)" in message
    assert "fake/low/y.py:1: fake.low.y imports fake.low.x (import fake.low.x)" in message


def test_checker_reports_a_forbidden_import(tmp_path):
    graph = build_graph(_fake_package(tmp_path, _FAKE))
    (message,) = forbidden_violations(graph, [("fake.eval", "fake.bench")])
    assert message.startswith("fake/eval/m.py:1: fake.eval.m imports fake.bench.run")
    assert "(from fake.bench.run import go)" in message


def test_checker_reports_a_root_import(tmp_path):
    graph = build_graph(_fake_package(tmp_path, _FAKE))
    (message,) = root_violations(graph, ["fake"])
    assert message.startswith(
        "fake/eval/n.py:2: fake.eval.n imports fake (from fake import hello)"
    )


def test_checker_reports_layer_violations(tmp_path):
    graph = build_graph(_fake_package(tmp_path, _FAKE))
    found = {
        (m.split(" ")[0], m.split(" ")[3], "below" if "is below" in m else "sideways")
        for m in layer_violations(graph, _FAKE_LAYERS)
    }
    assert found == {
        ("fake/low/z.py:5:", "fake.bench.run", "below"),  # a lower layer imports a higher one
        ("fake/eval/n.py:2:", "fake", "below"),
        ("fake/eval/m.py:1:", "fake.bench.run", "sideways"),  # siblings import each other
        ("fake/bench/run.py:1:", "fake.eval", "sideways"),
        ("fake/bench/run.py:1:", "fake.eval.o", "sideways"),
    }
    (message,) = unlayered_modules(graph, _FAKE_LAYERS[1:])
    assert message == "fake (__init__.py) is in no layer; add its package to LAYERS"


def test_checker_passes_a_clean_package(tmp_path):
    clean = {k: v for k, v in _FAKE.items() if k not in ("low/y.py", "low/z.py", "eval/m.py")}
    clean["eval/n.py"] = "from fake.api import hello\n"
    clean["bench/run.py"] = "from fake.eval import o\n"
    graph = build_graph(_fake_package(tmp_path, clean))
    layers = ("fake", "fake.bench", "fake.eval", "fake.api", "fake.low")
    assert cycle_violations(graph) == []
    assert forbidden_violations(graph, [("fake.eval", "fake.bench")]) == []
    assert root_violations(graph, ["fake"]) == []
    assert unlayered_modules(graph, layers) == []
    assert layer_violations(graph, layers) == []
