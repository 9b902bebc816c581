"""Sandboxes that run model-written Python: `docker` (a pool of hardened containers, the default),
`remote` (`r1ci sandbox serve` servers over HTTP) and `local` (a resource-limited subprocess, weaker
isolation, only when asked for by name)."""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

from .base import DEFAULT_TIMEOUT, ExecResult, Sandbox, SandboxError

__all__ = ["ExecResult", "Sandbox", "SandboxError", "DEFAULT_TIMEOUT", "make_sandbox", "shared_sandbox"]

BACKENDS = ("docker", "remote", "local")


def make_sandbox(backend: str = "docker", **options: Any) -> Sandbox:
    """A new sandbox of the named backend. Options go to the backend's constructor."""
    if backend == "docker":
        from .docker_pool import DockerSandbox

        return DockerSandbox(**options)
    if backend == "remote":
        from .remote import RemoteSandbox

        return RemoteSandbox(**options)
    if backend == "local":
        from .local import LocalSandbox

        return LocalSandbox(**options)
    raise ValueError(f"unknown sandbox backend {backend!r}; choose one of {', '.join(BACKENDS)}")


_shared: dict[tuple, Sandbox] = {}
_shared_lock = threading.Lock()


def shared_sandbox(backend: str = "docker", **options: Any) -> Sandbox:
    """One sandbox per backend (and options, e.g. `urls` of `remote`; values must be hashable) per
    process, created on first use and closed at exit, so that many environments in one process share
    one container pool. Keyed by pid: a forked worker (e.g. of AsyncVectorEnv) builds its own rather
    than using its parent's connections."""
    key = (backend, os.getpid(), tuple(sorted(options.items())))
    with _shared_lock:
        if key not in _shared:
            _shared[key] = make_sandbox(backend, **options)
        return _shared[key]


@atexit.register
def _close_shared() -> None:
    for (_, pid, _), sandbox in list(_shared.items()):
        if pid == os.getpid():
            sandbox.close()
    _shared.clear()
