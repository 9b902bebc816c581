"""The sandbox interface every backend implements: run code, get an `ExecResult`, or raise `SandboxError`.

A user-code failure (exception, non-zero exit, timeout, huge output) is a normal `ExecResult`.
An infrastructure failure (daemon gone, container died, image missing) is a `SandboxError` and must
never be shown to a model as if it were program output.
"""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass
from typing import Any

from .aio import run_blocking

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the user's code). Safe to catch and retry or report apart."""


@dataclass(frozen=True)
class ExecResult:
    """What one run of a program produced.

    `exit_code` is the process exit status, or minus the signal number that killed it (-9 after a
    timeout). `truncated` means stdout or stderr was longer than the sandbox's output cap and only the
    head and tail were kept. `duration` is wall-clock seconds measured inside the sandbox.
    """

    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    duration: float = 0.0
    truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the program ran to completion with exit status 0."""
        return self.exit_code == 0 and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


RESET_NOTE = "\n[the session was restarted: names defined in earlier calls are gone]\n"


class _AwaitableRun:
    """`await x.arun(code, timeout)`: `x.run` off the event loop, on the bounded pool of `sandbox.aio`."""

    run: Any

    async def arun(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        return await run_blocking(self.run, code, timeout)


class SandboxSession(_AwaitableRun, abc.ABC):
    """One interpreter that keeps its state across calls (Jupyter-like), for one episode.

    Same limits as stateless runs. If a call times out or the program exits or crashes, the
    interpreter is restarted and that call's stderr ends with `RESET_NOTE`."""

    @abc.abstractmethod
    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        """Run `code` in the session's namespace."""

    @abc.abstractmethod
    def close(self) -> None:
        """End the session and free its slot. Idempotent."""

    def __enter__(self) -> SandboxSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Sandbox(_AwaitableRun, abc.ABC):
    """Runs self-contained Python programs in isolation. Thread-safe; usable as a context manager."""

    backend: str = "abstract"

    @abc.abstractmethod
    def run(self, code: str, timeout: float = DEFAULT_TIMEOUT) -> ExecResult:
        """Run `code` as a fresh `__main__` program and return what it printed.

        Raises `SandboxError` when the sandbox, not the program, failed.
        """

    def session(self) -> SandboxSession:
        """A stateful interpreter for one episode (opt-in; stateless runs are the default)."""
        raise NotImplementedError(f"the {self.backend} backend has no session mode; use the docker backend")

    def close(self) -> None:
        """Release containers or processes held by the sandbox. Idempotent."""

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
