"""Test helpers for tasks: run a reference solution in-process (fast, for our own trusted code)."""

from __future__ import annotations

import contextlib
import io

from r1ci_env.tasks import Instance, Task


def run_reference(task: Task, instance: Instance) -> str:
    """What the task's reference solution prints, run in this process as `__main__`, stripped."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(task.reference_solution(instance), "reference.py", "exec"), {"__name__": "__main__"})
    return out.getvalue().strip()
