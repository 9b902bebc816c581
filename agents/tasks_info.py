"""`r1ci list`: the task catalogue (from `r1ci_env.catalog`), or with `--task X` one task's knobs, their
defaults, the env settings and an example question."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from typing import Any


def describe_task(name: str) -> dict[str, Any]:
    """A task's labels, its generator knobs (name, type, default), the env settings every task takes,
    and the question of seed 0 (or why it cannot be made here)."""
    import r1ci_env  # noqa: F401 - registers the environments
    from r1ci_env.env import CodeInterpreterEnv
    from r1ci_env.suites import split_of
    from r1ci_env.tasks import task_spec
    from r1ci_env.tasks.registry import env_id

    from .bench import task_name

    name = task_name(name)
    spec = task_spec(name)
    knobs = [
        {"name": f.name, "type": str(f.type), "default": _default(f)}
        for f in dataclasses.fields(spec.cls.config_class)
        if f.name not in spec.fixed
    ]
    env_settings = [
        {"name": p.name, "default": p.default}
        for p in inspect.signature(CodeInterpreterEnv.__init__).parameters.values()
        if p.kind is p.KEYWORD_ONLY
    ]
    described = {
        "id": env_id(name),
        "name": name,
        "source": spec.source,
        "category": spec.category,
        "split": split_of(name),
        "checker": spec.checker,
        "knobs": knobs,
        "env_settings": env_settings,
    }
    try:
        described["example_question"] = spec.make().generate(0).question
    except Exception as exc:  # data not available here, say: the knobs are still worth showing
        described["example_question"] = None
        described["example_error"] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    return described


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def render_task(described: dict[str, Any]) -> str:
    """The description as text, tables through tabulate."""
    from tabulate import tabulate

    lines = [
        f"{described['id']}  ({described['source']}, {described['category']}, split {described['split']}, "
        f"checker {described['checker']})",
        "",
        "Task knobs (r1ci run/bench --env-option NAME=VALUE, or gym.make(id, NAME=VALUE)):",
    ]
    knobs = [[k["name"], k["type"], repr(k["default"])] for k in described["knobs"]]
    lines.append(tabulate(knobs, headers=["knob", "type", "default"]) if knobs else "  (none)")
    lines += [
        "",
        "Env settings (any task):",
        tabulate([[s["name"], repr(s["default"])] for s in described["env_settings"]], headers=["setting", "default"]),
        "",
        "Example question (seed 0):",
    ]
    lines.append(
        described["example_question"]
        if described["example_question"] is not None
        else f"  (cannot be made here: {described['example_error']})"
    )
    return "\n".join(lines) + "\n"


def list_command(args: argparse.Namespace) -> int:
    """`r1ci list` (the catalogue), or `r1ci list --task X` (one task in detail)."""
    from .bench import import_modules

    import_modules(getattr(args, "import_module", []))
    if getattr(args, "task", None):
        described = describe_task(args.task)
        sys.stdout.write(json.dumps(described, indent=2, default=str) + "\n" if args.json else render_task(described))
        return 0
    from r1ci_env.catalog import list_command as catalogue

    return catalogue(args)
