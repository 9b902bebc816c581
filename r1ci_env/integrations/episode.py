"""What every integration shares: the fixed env settings of a server or trainer, and building an r1ci env
for one (task, seed, knobs) request from an engine, with engine-supplied names kept away from settings."""
from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass
from typing import Any

from .. import protocol
from ..env import CodeInterpreterEnv
from ..sandbox import DEFAULT_TIMEOUT

# Names a request may not set: they belong to the operator (sandbox choice, limits), not to the client.
RESERVED = frozenset(inspect.signature(CodeInterpreterEnv.__init__).parameters) - {"self", "knobs"}


@dataclass(frozen=True)
class EnvSettings:
    """Env settings fixed by whoever runs the server or trainer (never by a remote request)."""

    sandbox: str = "docker"
    max_code_calls: int = protocol.DEFAULT_MAX_CODE_CALLS
    timeout: float = DEFAULT_TIMEOUT
    prompt: str = protocol.DEFAULT_PROMPT_STYLE
    stateful: bool = False

    @classmethod
    def from_args(cls, args: Any) -> "EnvSettings":
        """The settings given on a command line (`--sandbox`, `--max-code-calls`, ...)."""
        return cls(sandbox=args.sandbox, max_code_calls=args.max_code_calls, timeout=args.timeout,
                   prompt=args.prompt, stateful=args.stateful)

    def make(self, task: str, knobs: dict[str, Any] | None = None) -> CodeInterpreterEnv:
        """A new env for `task` with generator `knobs`; a knob that names a setting is refused."""
        knobs = dict(knobs or {})
        clash = sorted(RESERVED.intersection(knobs))
        if clash:
            raise ValueError(f"{', '.join(clash)} cannot be set per episode; the server or trainer fixes it")
        if not isinstance(task, str) or not task:
            raise ValueError(f"task must be a task name (see `r1ci list`), got {task!r}")
        return CodeInterpreterEnv(task, **asdict(self), **knobs)
