"""The package's layout, read from its source: folders by job, imports only downwards, a tour in
every folder, and one module that spells the domains and directions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "cyclegan"
# Boxes (top-level modules and folders of cyclegan/) by layer, lowest first: a box imports only
# from its own box and from lower layers.
LAYERS = (
    {"errors", "domains", "grid_scores", "display", "runtime"},
    {"config"},
    {"nets"},
    {"gan", "data"},
    {"runs", "tensorboard"},
    {"train"},
    {"perf", "analysis"},
    {"cli"},
    {"__main__"},
)
DOMAIN_WORDS = {"healthy", "cancer", "h2c", "c2h", "g_h2c", "g_c2h", "d_healthy", "d_cancer"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(path): ast.parse(path.read_text()) for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, tree: ast.Module, modules) -> set[str]:
    """The package's modules that `name` imports, wherever in the file (lazy imports count)."""
    package = name if name in modules and (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() \
        else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("cyclegan")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("cyclegan"):
                found |= {f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target
                          for alias in node.names}
    return found - {name}


def _box(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, tree, modules) for name, tree in modules.items()}


def test_every_box_has_a_layer_and_imports_only_downwards():
    layer_of = {box: index for index, layer in enumerate(LAYERS) for box in layer}
    boxes = {_box(name) for name in _graph()} - {""}
    assert boxes == set(layer_of), "a box was added or removed: place it in LAYERS"
    upward = sorted(f"{name} -> {target}" for name, targets in _graph().items() for target in targets
                    if _box(target) and _box(name) and _box(target) != _box(name)
                    and layer_of[_box(target)] >= layer_of[_box(name)])
    assert not upward


def test_no_module_imports_itself_round_a_cycle():
    graph = _graph()
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles


@pytest.mark.parametrize("folder", sorted(path.parent for path in PACKAGE.rglob("__init__.py")),
                         ids=lambda path: str(path.relative_to(PACKAGE.parent)))
def test_each_folder_opens_with_a_short_tour_naming_its_rooms(folder):
    tour = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
    lines = tour.splitlines()
    rooms = [path.stem for path in folder.glob("*.py") if path.stem != "__init__"]
    rooms += [path.name for path in folder.iterdir() if (path / "__init__.py").exists()]
    if folder == PACKAGE:
        rooms = [room for room in rooms if room != "__main__"]
    assert 3 <= len(lines) <= 10, f"{folder}: the tour has {len(lines)} lines"
    assert not [room for room in rooms if room not in tour], f"{folder}: rooms the tour does not name"


def test_only_domains_spells_the_domains_and_directions():
    spelled = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "domains.py":
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                      and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
        spelled += [f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
                    if isinstance(node, ast.Constant) and node.value in DOMAIN_WORDS and id(node) not in docstrings]
    assert not spelled


def test_no_file_of_the_package_is_ignored_by_git():
    """A run-output pattern in .gitignore (runs/, checkpoints) must not hide the package's own files."""
    import shutil
    import subprocess

    if shutil.which("git") is None or not (PACKAGE.parent / ".git").exists():
        pytest.skip("not a git checkout")
    files = [str(path.relative_to(PACKAGE.parent)) for path in PACKAGE.rglob("*.py")]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *files], cwd=PACKAGE.parent,
                             capture_output=True, text=True).stdout.split()
    assert not ignored
