"""r1ci: gymnasium environments in which a language model reasons in text, runs Python in a sandbox
and is rewarded for a correct final answer (the R1-Code-Interpreter tasks).

Importing the package registers every task as `r1ci/<Task>-v0`:

    import gymnasium as gym
    import r1ci_env
    env = gym.make("r1ci/BlocksWorld-v0", sandbox="docker")
"""

from __future__ import annotations

from .env import CodeInterpreterEnv, astep
from .sandbox import ExecResult, SandboxError, make_sandbox
from .tasks.registry import ENTRY_POINT, env_id, register_task

__version__ = "0.1.0"
__all__ = [
    "CodeInterpreterEnv",
    "astep",
    "ExecResult",
    "SandboxError",
    "ENTRY_POINT",
    "make_sandbox",
    "env_id",
    "register_task",
    "__version__",
]
