"""All tasks. Importing this package registers every task module's task."""
from __future__ import annotations

from .base import Instance, Task, TaskConfig
from .registry import TaskSpec, make_task, register_task, task_names, task_spec

# Task modules register themselves on import.
from . import blocksworld, game24, number_multiply, bbh  # noqa: E402,F401

__all__ = ["Instance", "Task", "TaskConfig", "TaskSpec", "make_task", "register_task", "task_names", "task_spec"]
