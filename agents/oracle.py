"""The oracle agent: runs the task's reference solution through the sandbox, then answers with what
it printed. It proves, per task, that the checker can reach 1.0 through the real episode loop."""

from __future__ import annotations

from typing import Any

from .base import Agent


class OracleAgent(Agent):
    name = "oracle"

    def __init__(self) -> None:
        self._code: str | None = None

    def reset(self, prompt: str, info: dict[str, Any], env: Any = None) -> None:
        if env is None:
            raise ValueError("the oracle agent needs the environment (it reads the task's reference solution)")
        env = env.unwrapped
        self._code = env.task.reference_solution(env.instance)

    def act(self, observation: str, info: dict[str, Any]) -> str:
        if self._code is not None:
            code, self._code = self._code, None
            return f"I will compute the answer with the reference solution.\n```python\n{code}\n```"
        result = info.get("exec_result") or {}
        answer = result.get("stdout", "").strip()
        return f"The program printed the answer.\n<<<{answer}>>>"
