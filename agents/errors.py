"""Agent failures that are not the model's fault.

`AgentError` means the agent's backend failed (a server unreachable, timing out or answering 5xx after
every retry, a malformed reply). Like `r1ci_env.sandbox.SandboxError`, it is an infrastructure error:
the benchmark retries the episode and reports it apart, never as a wrong answer.
"""

from __future__ import annotations


class AgentError(RuntimeError):
    """The agent's backend failed (not the model). `fatal=True` marks a misconfiguration that no retry
    can fix (bad URL path, wrong model name, missing credentials): the benchmark stops at once.
    `unreachable=True`: the endpoint did not answer at all (down, or refusing connections) after the
    client's retries; the benchmark stops and prints how to resume rather than fail every episode."""

    def __init__(
        self, message: str, *, fatal: bool = False, status: int | None = None, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.status = status
        self.unreachable = unreachable
