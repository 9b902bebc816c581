"""All tasks. Importing this package imports every task module in it, and each module registers its
task(s) with one `register_task(...)` call; modules whose name starts with an underscore, and the
framework modules below, are not task modules."""

from __future__ import annotations

import importlib
import pkgutil

from .base import Instance, Task, TaskConfig
from .registry import TaskSpec, make_task, register_task, task_names, task_spec

__all__ = ["Instance", "Task", "TaskConfig", "TaskSpec", "make_task", "register_task", "task_names", "task_spec"]

_FRAMEWORK = {"base", "registry", "common"}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _FRAMEWORK and not _module.startswith("_"):
        importlib.import_module(f"{__name__}.{_module}")
