"""The task registry: name -> task class and fixed knobs. `register_task` is called once per task
module, and also registers the gymnasium environment `r1ci/<name>-v0`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium

from .base import Task

# An import string, not the class, so that fresh processes (AsyncVectorEnv or Ray workers) can build envs.
ENTRY_POINT = "r1ci_env.env:CodeInterpreterEnv"


def env_id(task_name: str) -> str:
    """The gymnasium id of a task: `r1ci/<name>-v0`."""
    return f"r1ci/{task_name}-v0"


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: its class plus fixed constructor arguments (used by adapters such as
    reasoning-gym, where one class serves many datasets)."""

    name: str
    cls: type[Task]
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.cls.source

    @property
    def category(self) -> str:
        return self.fixed.get("category", self.cls.category)

    @property
    def checker(self) -> str:
        return self.fixed.get("checker", self.cls.checker)

    def make(self, **knobs: Any) -> Task:
        return self.cls(**{**self.fixed, **knobs})


_REGISTRY: dict[str, TaskSpec] = {}


def register_task(cls: type[Task], name: str | None = None, **fixed: Any) -> TaskSpec:
    """Add a task under `name` (default `cls.name`) and register `r1ci/<name>-v0` with gymnasium.
    Registering the same name twice is an error. No episode step limit is set: the code-call cap
    bounds every episode."""
    name = name or cls.name
    if name in _REGISTRY:
        raise ValueError(f"task {name!r} is already registered")
    spec = TaskSpec(name=name, cls=cls, fixed=dict(fixed))
    _REGISTRY[name] = spec
    if env_id(name) not in gymnasium.registry:
        gymnasium.register(id=env_id(name), entry_point=ENTRY_POINT, kwargs={"task": name})
    return spec


def task_spec(name: str) -> TaskSpec:
    """The spec of a registered task; a clear `KeyError` naming close matches otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; `r1ci list` shows all tasks"
        raise KeyError(f"unknown task {name!r}{hint}") from None


def make_task(name: str, **knobs: Any) -> Task:
    """Build the task `name` with generator knobs."""
    return task_spec(name).make(**knobs)


def task_names() -> list[str]:
    """All registered task names, in registration order."""
    return list(_REGISTRY)
