"""The import direction of the code base: the core never imports an application, and there is no cycle.

Layers, bottom to top (a module may import its own layer and the layers its rule names):

    settings                      r1ci_env.settings
    data -> settings              r1ci_env.data
    sandbox -> settings           r1ci_env.sandbox.*
    tasks -> settings, data       r1ci_env.tasks.*
    env -> tasks, sandbox, ...    the rest of r1ci_env (env, protocol, spaces, suites, catalog, tokens, ...)
    agents -> env                 the policies in agents/
    apps -> agents, env           the benchmark, the trainers and their shared modules, bench/ scripts
    cli -> everything             agents.cli; nothing imports it

The test reads imports with `ast` (module level and inside functions alike), so it needs no import of
the code it checks, and names the offending file, line and import when it fails.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

ALLOWED = {
    "settings": {"settings"},
    "data": {"data", "settings"},
    "sandbox": {"sandbox", "settings"},
    "tasks": {"tasks", "settings", "data"},
    "env": {"env", "tasks", "sandbox", "settings", "data"},
    "agents": {"agents", "env", "tasks", "sandbox", "settings", "data"},
    "apps": {"apps", "agents", "env", "tasks", "sandbox", "settings", "data"},
    "cli": {"cli", "apps", "agents", "env", "tasks", "sandbox", "settings", "data"},
}

# Application modules inside the agents/ package: the benchmark, the episode runner, the trainers' shared code.
APP_MODULES = (
    "agents.bench",
    "agents.report",
    "agents.runner",
    "agents.training",
    "agents.sandbox_bench",
    "agents.tasks_info",
    "agents.models",
    "agents.train",
)


def layer_of(module: str) -> str:
    """The layer of a dotted module name (or of a script path turned into one)."""
    if module == "agents.cli" or module.startswith("agents.cli."):
        return "cli"
    if module.startswith(("train_", "bench.", "examples.")) or module.startswith(APP_MODULES):
        return "apps"
    if module.startswith("agents"):
        return "agents"
    for name in ("settings", "data", "sandbox", "tasks"):
        if module == f"r1ci_env.{name}" or module.startswith(f"r1ci_env.{name}."):
            return name
    return "env"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_files() -> list[Path]:
    files = [
        *ROOT.glob("r1ci_env/**/*.py"),
        *ROOT.glob("agents/**/*.py"),
        *ROOT.glob("train_*.py"),
        *ROOT.glob("bench/*.py"),
    ]
    return sorted(f for f in files if "__pycache__" not in f.parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dotted name) for every import of r1ci_env or agents in the file; a name may be an object in a module."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from pkg import mod` depends on pkg.mod; `from mod import name` on mod (resolved by the caller).
            found += [
                (node.lineno, f"{target}.{alias.name}")
                for alias in node.names
                if target.split(".")[0] in ("r1ci_env", "agents")
            ]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in ("r1ci_env", "agents")]
    return found


def existing_module(name: str, known: set[str]) -> str:
    """The longest prefix of `name` that is a module of the project (`from pkg import name` may name an object)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name


def test_layer_table_is_well_formed():
    assert all(layer in ALLOWED[layer] for layer in ALLOWED)
    assert layer_of("agents.cli") == "cli" and layer_of("agents.hf") == "agents"
    assert layer_of("r1ci_env.sandbox.docker_pool") == "sandbox" and layer_of("r1ci_env.env") == "env"
    assert layer_of("agents.training") == "apps" and layer_of("train_grpo") == "apps"


def test_no_import_points_up():
    files = project_files()
    known = {module_name(f) for f in files}
    violations = []
    for path in files:
        source_layer = layer_of(module_name(path))
        for line, target in imports_of(path):
            target = existing_module(target, known)
            if target and layer_of(target) not in ALLOWED[source_layer]:
                violations.append(
                    f"{path.relative_to(ROOT)}:{line} ({source_layer}) imports {target} ({layer_of(target)})"
                )
    assert not violations, "imports that point up:\n" + "\n".join(sorted(set(violations)))


def test_no_import_cycle():
    files = project_files()
    known = {module_name(f) for f in files}
    graph = {module_name(f): set() for f in files}
    for path in files:
        source = module_name(path)
        for _, target in imports_of(path):
            target = existing_module(target, known)
            # A package importing its own submodules (re-exports) is not a cycle of concern.
            if target and target != source and not target.startswith(source + "."):
                graph[source].add(target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_the_core_and_token_assembly_import_without_torch_or_agents():
    """An integration runs inside another framework's pinned stack with only the core installed: importing
    the environments, the sandbox client and the token assembly must not pull torch, transformers or agents."""
    code = (
        "import sys, r1ci_env, r1ci_env.tokens, r1ci_env.sandbox.remote; "
        "print(sorted(m for m in ('torch', 'transformers', 'agents') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("old", "new"), [("r1ci_env.cli", "agents.cli"), ("r1ci_env.sandbox.bench", "agents.sandbox_bench")]
)
def test_moved_modules_name_their_replacement(old, new):
    with pytest.raises(ImportError, match=new.replace(".", r"\.")):
        importlib.import_module(old)
    importlib.import_module(new)
