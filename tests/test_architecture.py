"""The layout rules of docs/architecture.md, checked by reading the source (no imports executed).

- an allow-list: each top-level package names the project packages it may import
  (`nercore` only itself; `toolkit` and `space` themselves and `nercore`, never each other);
- the core and the toolkit never reach gradio;
- no stage imports a later stage (lazy imports inside functions count too);
- no command module imports another command module;
- no import circles between project modules (lazy imports count; taking submodules from one's own
  package is no circle);
- no module over 450 lines, no function over 80.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
PACKAGES = ("nercore", "toolkit", "space")

# What each package may import from the project: the core stands alone, both halves stand on it.
ALLOWED = {
    "nercore": {"nercore"},
    "toolkit": {"nercore", "toolkit"},
    "space": {"nercore", "space"},
}
# Outside packages a package must never reach (the Space's UI framework stays in the Space).
FORBIDDEN_OUTSIDE = {"nercore": {"gradio", "gradio_client"}, "toolkit": {"gradio", "gradio_client"}, "space": set()}

# Stage order, earliest first. A module may import modules of its own stage or an earlier one.
# Entries are module-name prefixes; the longest matching prefix decides a module's stage.
CORE_STAGES = [
    ("nercore", "nercore.errors", "nercore.tags", "nercore.device", "nercore.context", "nercore.lengths",
     "nercore.ids", "nercore.windows", "nercore.backends"),
    ("nercore.grouping", "nercore.spans", "nercore.words", "nercore.documents"),
    ("nercore.thresholds",),  # judges whole entities: groups token output with nercore.spans
    ("nercore.strategies",),
    ("nercore.engine",),
    ("nercore.runfolder",),
]
TOOLKIT_STAGES = [
    ("toolkit", "toolkit.runtime", "toolkit.ids", "toolkit.scores", "toolkit.paths", "toolkit.steps"),
    ("toolkit.data",),
    ("toolkit.labels",),
    ("toolkit.alignment", "toolkit.metrics", "toolkit.span_alignment"),
    ("toolkit.collate", "toolkit.sampling", "toolkit.run_records", "toolkit.recipes"),
    ("toolkit.train", "toolkit.training"),
    ("toolkit.model_loading",),
    ("toolkit.evaluate",),
    ("toolkit.export", "toolkit.predict"),
    ("toolkit.audit",),
    ("toolkit.card",),
    ("toolkit.hub",),
    ("toolkit.commands",),
    ("toolkit.cli",),
]
SPACE_STAGES = [
    ("space", "space.config"),
    ("space.loading",),
    ("space.model", "space.model_scores"),
    ("space.scheduler",),
    ("space.service",),
    ("space.limits",),
    ("space.ui", "space.ui_render", "space.ui_examples"),
    ("space.app",),
]
STAGES = {"nercore": CORE_STAGES, "toolkit": TOOLKIT_STAGES, "space": SPACE_STAGES}


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = {name: path for package in PACKAGES for name, path in _modules(package).items()}


@lru_cache(maxsize=None)
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _statements(module: str) -> list[tuple[str | None, set[str]]]:
    """Each import statement anywhere in the file (lazy imports included): (the `from` base or None, the
    modules it names; a `from` base's submodules among them)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str | None, set[str]]] = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            out.append((None, {alias.name for alias in node.names}))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            subs = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES}
            out.append((base, subs if len(subs) == len(node.names) else {base, *subs}))
    return out


def imports_of(module: str) -> set[str]:
    """Every module named by an import statement anywhere in the file (lazy imports included)."""
    return {name for base, names in _statements(module) for name in ({base, *names} if base else names)}


def circle_edges(module: str) -> set[str]:
    """The project modules `module` imports, as a circle sees them: `imports_of`, less an ancestor package
    that a statement only takes submodules from (`from toolkit.data import conll` in toolkit.data.registry:
    Python has already run toolkit.data's __init__, so that is no circle through it)."""
    edges = set()
    for base, names in _statements(module):
        ancestor = base is not None and module.startswith(base + ".")
        edges |= names if ancestor or base is None else {base, *names}
    return {name for name in edges if name in MODULES and name != module}


def circles() -> list[list[str]]:
    """Every import circle between project modules (strongly connected sets of `circle_edges`), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(MODULES):  # Tarjan's algorithm, iterative: no recursion limit on a deep chain
        if root in index:
            continue
        work = [(root, iter(sorted(circle_edges(root))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    work.append((nxt, iter(sorted(circle_edges(nxt)))))
                    break
                if nxt in stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = stack[stack.index(node):]
                    del stack[stack.index(node):]
                    if len(members) > 1:
                        found.append(sorted(members))
    return sorted(found)


def _project(names: set[str]) -> set[str]:
    return {name for name in names if name.split(".")[0] in PACKAGES}


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def stage_of(module: str) -> int | None:
    """Index of the module's stage in its half's table (longest matching prefix), None if unlisted."""
    best, rank = -1, None
    for index, prefixes in enumerate(STAGES[module.split(".")[0]]):
        for prefix in prefixes:
            if _matches(module, prefix) and len(prefix) > best:
                best, rank = len(prefix), index
    return rank


def closure(module: str) -> set[str]:
    """`module` and every project module it imports, transitively, plus the outside packages they name."""
    seen, todo, outside = set(), [module], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for name in imports_of(current):
            if name in MODULES:
                todo.append(name)
            elif name.split(".")[0] not in PACKAGES:
                outside.add(name.split(".")[0])
    return seen | outside


def test_each_package_imports_only_what_it_is_allowed():
    problems = []
    for module in MODULES:
        package = module.split(".")[0]
        for name in sorted(_project(imports_of(module))):
            if name.split(".")[0] not in ALLOWED[package]:
                problems.append(f"{module} imports {name}; {package} may import only {sorted(ALLOWED[package])}")
    assert not problems, "\n".join(problems)


def test_the_core_and_the_toolkit_never_reach_gradio():
    problems = []
    for module in MODULES:
        forbidden = FORBIDDEN_OUTSIDE[module.split(".")[0]]
        bad = sorted(forbidden & closure(module))
        if bad:
            problems.append(f"{module} reaches {bad}")
    assert not problems, "\n".join(problems)


def test_every_module_has_a_stage():
    """A new module must be placed in the stage table (a package's modules inherit its stage)."""
    unplaced = sorted(
        m for m in MODULES
        if "." in m and not any(_matches(m, p) for stage in STAGES[m.split(".")[0]] for p in stage if "." in p)
    )
    assert not unplaced, f"add these modules to CORE_STAGES/TOOLKIT_STAGES/SPACE_STAGES: {unplaced}"


def test_no_stage_imports_a_later_stage():
    problems = []
    for module in MODULES:
        half = module.split(".")[0]
        for name in sorted(n for n in _project(imports_of(module)) if _matches(n, half)):
            if (stage_of(name) or 0) > (stage_of(module) or 0):
                problems.append(f"{module} (stage {stage_of(module)}) imports later stage {name} ({stage_of(name)})")
    assert not problems, "\n".join(problems)


def test_no_command_imports_another_command():
    commands = {m for m in MODULES if m.startswith("toolkit.commands.") and not m.rpartition(".")[2].startswith("_")}
    problems = [
        f"{module} imports {name}"
        for module in sorted(commands)
        for name in sorted(imports_of(module) & commands)
        if name != module
    ]
    assert not problems, "\n".join(problems)


# Stages that sit beside evaluation and must not reach into it: they load models through
# toolkit.model_loading (issue 24), so evaluation can change without touching them.
NEVER_IMPORTS = {"toolkit.predict": ("toolkit.evaluate",), "toolkit.export": ("toolkit.evaluate",)}


def test_prediction_and_export_never_import_evaluation():
    problems = [
        f"{module} imports {name}; load models through toolkit.model_loading"
        for module in sorted(MODULES)
        for prefix, banned in NEVER_IMPORTS.items() if _matches(module, prefix)
        for name in sorted(imports_of(module)) if any(_matches(name, b) for b in banned)
    ]
    assert not problems, "\n".join(problems)


def test_no_import_circles():
    """No module reaches itself through project imports (lazy imports count: a circle works only as long as
    every import in it stays where it is)."""
    found = circles()
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(circle) for circle in found)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_stay_small(module):
    path = MODULES[module]
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines; split it into a package"
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(_tree(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.relative_to(ROOT)}: functions over {MAX_FUNCTION_LINES} lines: {long}"


# The checks must be able to fail: each rule catches a planted violation.
def test_the_checks_catch_planted_violations(monkeypatch, tmp_path):
    fake = {
        "space.bad": "import toolkit.data\n",
        "toolkit.data.bad": "def f():\n    from toolkit.card import render_card\n",
        "nercore.engine.bad": "from space.service import Service\n",
        "nercore.tags_bad": "import gradio\n",
        "toolkit.evaluate.bad": "from space.model import get_pipeline\n",
        "toolkit.commands.one": "from toolkit.commands import two\n",
        "toolkit.commands.two": "",
        "toolkit.predict.bad": "def f():\n    from toolkit.evaluate.predict import predict_words\n",
        "nercore.circle_a": "from nercore.circle_b import x\n",  # a circle closed by a lazy import
        "nercore.circle_b": "def f():\n    import nercore.circle_a\n",
    }
    paths = {}
    for name, source in fake.items():
        path = tmp_path / (name.replace(".", "_") + ".py")
        path.write_text(source)
        paths[name] = path
    package = {"nercore.plant": "from nercore.plant.sub import y\n",  # a package's __init__ and a submodule that
               "nercore.plant.sub": "from nercore.plant import x\n",  # takes a name (no submodule) from it
               "nercore.plant.fine": "from nercore.plant import sub\n"}  # only a submodule: no circle
    for name, source in package.items():
        path = tmp_path / "plant" / ("__init__.py" if name == "nercore.plant" else name.rpartition(".")[2] + ".py")
        path.parent.mkdir(exist_ok=True)
        path.write_text(source)
        paths[name] = path
    monkeypatch.setitem(globals(), "MODULES", {**MODULES, **paths})
    _tree.cache_clear()
    for check in (
        test_each_package_imports_only_what_it_is_allowed,
        test_the_core_and_the_toolkit_never_reach_gradio,
        test_no_stage_imports_a_later_stage,
        test_no_command_imports_another_command,
        test_no_import_circles,
        test_prediction_and_export_never_import_evaluation,
    ):
        with pytest.raises(AssertionError):
            check()
    assert {("nercore.circle_a", "nercore.circle_b"), ("nercore.plant", "nercore.plant.sub")} <= set(map(tuple, circles()))
    assert not any("nercore.plant.fine" in circle for circle in circles())


def test_every_package_ships():
    """pyproject lists packages by name: a new subpackage missing there would vanish from a wheel."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages <= listed, f"add to [tool.setuptools] packages: {sorted(packages - listed)}"
